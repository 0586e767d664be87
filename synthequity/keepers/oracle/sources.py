"""Price sources for the oracle keeper (docs/spec.md §9).

- `CsvReplaySource`: replays a daily OHLC file shaped like `data/tsla_daily.csv`, with an
  intraday path between open and close so that a replayed session has many prints, and the
  last close while the market is CLOSED.
- `GbmSource`: a seeded geometric Brownian motion for demos (moves only while OPEN, so a
  reopen shows the overnight gap).
- `HttpJsonSource`: any HTTP endpoint returning JSON, with dotted paths to price and time.

Every source answers `quote(now)` with a `Quote` (price in USD, the time it was observed at
the source, the market status then) or None when it has nothing to say.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import random
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urldefrag

from synthequity.constants import MarketStatus
from synthequity.corporate_actions import Split, unadjust_factor
from synthequity.market_hours import MarketCalendar, nyse


@dataclass(frozen=True)
class Quote:
    price: Decimal  # USD per share
    observed_at: int  # unix seconds at the source
    status: MarketStatus
    source: str


class PriceSource(Protocol):
    name: str

    def quote(self, now: int) -> Quote | None: ...


class SourceError(RuntimeError):
    """The source could not answer (network, malformed payload)."""


@dataclass(frozen=True)
class DailyBar:
    day: dt.date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def load_daily_bars(path: str | Path) -> dict[dt.date, DailyBar]:
    """Rows of a `date,open,high,low,close[,volume]` CSV, keyed by date."""
    bars: dict[dt.date, DailyBar] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            day = dt.date.fromisoformat(row["date"])
            bars[day] = DailyBar(
                day,
                Decimal(row["open"]),
                Decimal(row["high"]),
                Decimal(row["low"]),
                Decimal(row["close"]),
            )
    if not bars:
        raise SourceError(f"{path}: no rows")
    return bars


def intraday_price(bar: DailyBar, fraction: float) -> Decimal:
    """Deterministic path through a day's bar: open -> low -> high -> close on an up day,
    open -> high -> low -> close on a down day, linear between anchors at 0, 1/3, 2/3, 1."""
    first, second = (bar.low, bar.high) if bar.close >= bar.open else (bar.high, bar.low)
    anchors = [bar.open, first, second, bar.close]
    f = min(max(fraction, 0.0), 1.0) * 3
    i = min(int(f), 2)
    w = Decimal(str(round(f - i, 9)))
    return anchors[i] + (anchors[i + 1] - anchors[i]) * w


class BarReplaySource:
    """Replays daily bars on the exchange calendar: `quote(t)` is the price at replay time t
    (the intraday path while a session is open, the last close while the market is closed)."""

    def __init__(
        self,
        bars: dict[dt.date, DailyBar],
        calendar: MarketCalendar | None = None,
        name: str = "bars",
        splits: tuple[Split, ...] = (),
    ):
        self.name = name
        # split-adjusted bars back to the quotes of their day (docs/spec.md §6): x the ratios of
        # the splits still to come
        self.bars = (
            {
                d: DailyBar(
                    d,
                    b.open * (f := unadjust_factor(d, splits)),
                    b.high * f,
                    b.low * f,
                    b.close * f,
                )
                for d, b in bars.items()
            }
            if splits
            else bars
        )
        self.splits = splits
        self.calendar = calendar or nyse()

    def quote(self, now: int) -> Quote | None:
        cal = self.calendar
        i = cal.session_index_at(now)
        if i is not None:
            bar = self.bars.get(cal.sessions[i])
            if bar is None:  # a session the file does not cover
                return None
            frac = (now - cal.opens[i]) / (cal.closes[i] - cal.opens[i])
            price = intraday_price(bar, frac)
            return Quote(price, now, MarketStatus.OPEN, self.name)
        j = cal.last_closed_session(now)
        bar = None if j is None else self.bars.get(cal.sessions[j])
        if bar is None:
            return None
        return Quote(bar.close, now, MarketStatus.CLOSED, self.name)

    def first_day(self) -> dt.date:
        return min(self.bars)

    def last_day(self) -> dt.date:
        return max(self.bars)


class CsvReplaySource(BarReplaySource):
    """`BarReplaySource` over a `date,open,high,low,close` file such as data/tsla_daily.csv."""

    def __init__(
        self,
        path: str | Path,
        calendar: MarketCalendar | None = None,
        splits: tuple[Split, ...] = (),
    ):
        self.path = Path(path)
        super().__init__(load_daily_bars(self.path), calendar, f"csv:{self.path.name}", splits)


class GbmSource:
    """Seeded GBM: the same seed and the same query times give the same prices."""

    def __init__(
        self,
        seed: int,
        s0: float = 250.0,
        sigma_annual: float = 0.6,
        mu_annual: float = 0.0,
        calendar: MarketCalendar | None = None,
    ):
        self.name = f"gbm:{seed}"
        self.calendar = calendar or nyse()
        self._rng = random.Random(seed)
        self._price = s0
        self._sigma = sigma_annual
        self._mu = mu_annual
        self._last_t: int | None = None

    def quote(self, now: int) -> Quote | None:
        status = self.calendar.status_at(now)
        if self._last_t is None:
            self._last_t = now
        elif status is MarketStatus.OPEN and now > self._last_t:
            years = (now - self._last_t) / (365 * 86_400)
            z = self._rng.gauss(0.0, 1.0)
            drift = (self._mu - 0.5 * self._sigma**2) * years
            self._price *= math.exp(drift + self._sigma * math.sqrt(years) * z)
            self._last_t = now
        price = Decimal(str(round(self._price, 8)))
        return Quote(price, now, status, self.name)


def _dig(payload: Any, path: str) -> Any:
    node = payload
    for key in path.split("."):
        if isinstance(node, list):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise SourceError(f"no '{path}' in payload")
    return node


def _parse_time(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value / 1000) if value > 10**11 else int(value)  # ms or s
    if isinstance(value, str):
        if value.isdigit():
            return _parse_time(int(value))
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return int((t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp())
    raise SourceError(f"unreadable timestamp {value!r}")


_STATUS_NAMES = {s.name: s for s in MarketStatus}


class HttpJsonSource:
    """GET a JSON document; read price and time at dotted paths (`data.price`, `0.ts`).

    `url#price=PATH&time=PATH&status=PATH` sets the paths inline (defaults: `price`,
    `timestamp`, and the market status from the exchange calendar at the observed time).
    """

    def __init__(
        self,
        url: str,
        price_path: str = "price",
        time_path: str = "timestamp",
        status_path: str | None = None,
        timeout_s: float = 5.0,
        calendar: MarketCalendar | None = None,
    ):
        base, frag = urldefrag(url)
        opts = {k: v[0] for k, v in parse_qs(frag).items()}
        self.url = base
        self.name = f"http:{base}"
        self.price_path = opts.get("price", price_path)
        self.time_path = opts.get("time", time_path)
        self.status_path = opts.get("status", status_path)
        self.timeout_s = timeout_s
        self.calendar = calendar or nyse()

    def quote(self, now: int) -> Quote | None:
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout_s) as resp:
                payload = json.loads(resp.read())
        except (OSError, ValueError) as exc:
            raise SourceError(f"{self.url}: {exc}") from exc
        try:
            price = Decimal(str(_dig(payload, self.price_path)))
            observed_at = _parse_time(_dig(payload, self.time_path))
            if not price.is_finite() or price <= 0:
                raise SourceError(f"{self.url}: non-positive price {price}")
            if self.status_path:
                raw = _dig(payload, self.status_path)
                status = _STATUS_NAMES[raw.upper()] if isinstance(raw, str) else MarketStatus(raw)
            else:
                status = self.calendar.status_at(observed_at)
        except (ArithmeticError, KeyError, ValueError) as exc:  # incl. OutsideCalendar
            raise SourceError(f"{self.url}: {exc}") from exc
        return Quote(price, observed_at, status, self.name)


def parse_source(
    spec: str, calendar: MarketCalendar | None = None, splits: tuple[Split, ...] = ()
) -> PriceSource:
    """`csv:PATH`, `gbm:SEED[:S0[:SIGMA]]`, `http:URL` (or a bare http(s) URL); a CSV of
    split-adjusted bars is replayed as the unadjusted quotes of each day when `splits` is
    given."""
    kind, _, rest = spec.partition(":")
    if kind == "csv" and rest:
        return CsvReplaySource(rest, calendar, splits)
    if kind == "gbm":
        parts = (rest or "0").split(":")
        s0 = float(parts[1]) if len(parts) > 1 else 250.0
        sigma = float(parts[2]) if len(parts) > 2 else 0.6
        return GbmSource(int(parts[0]), s0, sigma, calendar=calendar)
    if kind in ("http", "https"):
        url = rest if rest.startswith("http") else spec
        return HttpJsonSource(url, calendar=calendar)
    raise ValueError(f"unknown source {spec!r}: use csv:PATH, gbm:SEED or http:URL")
