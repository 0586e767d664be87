"""Price sources for the oracle keeper (docs/spec.md §9).

- `CsvReplaySource`: replays a daily OHLC file shaped like `data/tsla_daily.csv`, with an
  intraday path between open and close so that a replayed session has many prints, and the
  last close while the market is CLOSED.
- `GbmSource`: a seeded geometric Brownian motion for demos (moves only while OPEN, so a
  reopen shows the overnight gap).
- `HttpJsonSource`: any HTTP endpoint returning JSON, with dotted paths to price and time,
  configured headers and an exponent.
- `PythSource`: Pyth Hermes' latest price (`/v2/updates/price/latest`), several feed ids in
  one request; status from the NYSE calendar (Hermes does not carry one).
- `DataStreamsSource`: Chainlink Data Streams' latest report (`/api/v1/reports/latest`, HMAC
  signed), `fullReport` decoded with eth-abi: RWA schema v8 and tokenized-asset schema v10
  (whose multiplier schedule announces splits). `marketStatus` is authoritative.

Every source answers `quote(now)` with a `Quote` (price in USD, the time it was observed at
the source, the market status then) or None when it has nothing to say. The HTTP sources keep
one `requests.Session` (one TLS handshake, not one per poll) and back off when the API answers
429 (docs/runbooks/price-sources.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urldefrag, urlencode

import requests
from eth_abi.abi import decode as abi_decode

from synthequity.constants import BPS, MarketStatus
from synthequity.corporate_actions import Dividend, Split, unadjust_factor
from synthequity.market_hours import MarketCalendar, OutsideCalendar, nyse
from synthequity.model.oracle import DIVIDEND_BOUND_BPS


@dataclass(frozen=True)
class FeedSplit(Split):
    """A split announced by a price feed, activating at the feed's own time (`at`, unix
    seconds) rather than at 00:00 UTC of its effective date."""

    at: int = 0

    @property
    def activation(self) -> int:
        return self.at


@dataclass(frozen=True)
class CorporateAction:
    """A multiplier change a feed schedules (Data Streams v10: `newMultiplier` at
    `activationDateTime`), multipliers with 18 decimals."""

    current_multiplier: int
    new_multiplier: int
    activation: int  # unix seconds

    @property
    def split(self) -> FeedSplit | None:
        """The forward split it is (a whole ratio >= 2 of new to current multiplier, to one part
        in a million), or None (a dividend adjustment, a reverse split: not a split the oracle
        can stage)."""
        if self.current_multiplier <= 0 or self.new_multiplier <= self.current_multiplier:
            return None
        ratio = round(Decimal(self.new_multiplier) / Decimal(self.current_multiplier))
        exact = ratio * self.current_multiplier
        if ratio < 2 or abs(exact - self.new_multiplier) * 10**6 > exact:
            return None
        day = dt.datetime.fromtimestamp(self.activation, dt.UTC).date()
        return FeedSplit(day, int(ratio), self.activation)

    def dividend(self, price: Decimal, calendar: MarketCalendar | None = None) -> Dividend | None:
        """The cash dividend a small rise of the multiplier reinvests (a tokenized stock's
        multiplier grows by cum / (cum - dividend) on the ex-date), in USD per share at
        `price` (the quote that announced it), rounded down to the feed's 8 decimals, its
        ex-date the day of the first NYSE session opening at or after the activation. None
        for a split, a fall, or a rise worth more than an ordinary dividend
        (`DIVIDEND_BOUND_BPS` of the price): that may be a fractional split (3-for-2 is
        x1.5) as well as a special dividend, and the admin decides."""
        cur, new = self.current_multiplier, self.new_multiplier
        if cur <= 0 or new <= cur or self.split is not None:
            return None
        fraction = 1 - Decimal(cur) / Decimal(new)  # = dividend / cum
        amount = (price * fraction).quantize(Decimal("1e-8"), rounding=ROUND_DOWN)
        if not 0 < amount * BPS <= price * DIVIDEND_BOUND_BPS:
            return None
        try:
            session = (calendar or nyse()).next_open(self.activation - 1)
        except OutsideCalendar:
            session = self.activation
        return Dividend(dt.datetime.fromtimestamp(session, dt.UTC).date(), amount)


@dataclass(frozen=True)
class Quote:
    price: Decimal  # USD per share
    observed_at: int  # unix seconds at the source
    status: MarketStatus
    source: str
    conf: Decimal | None = None  # the source's confidence interval, USD (Pyth)
    action: CorporateAction | None = None  # a multiplier change the feed schedules


class PriceSource(Protocol):
    name: str

    def quote(self, now: int) -> Quote | None: ...


class SourceError(RuntimeError):
    """The source could not answer (network, malformed payload)."""


class SourceRateLimited(SourceError):
    """The API answered 429 (or we are still backing off from one): no request is sent until
    `retry_in_s` has passed."""

    def __init__(self, message: str, retry_in_s: float):
        super().__init__(message)
        self.retry_in_s = retry_in_s


class SourceUnauthorized(SourceError):
    """The API refused the credentials (401/403): an operator must fix the key."""


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


class HttpClient:
    """JSON over one `requests.Session` (keep-alive: one TLS handshake, not one per poll),
    with the back-off a rate-limited API asks for: after a 429 no request is sent for
    `Retry-After` seconds, or `backoff_s` (Pyth's public Hermes blocks an IP for 60 s after
    30 requests in 10 s), doubling on each 429 in a row up to `max_backoff_s`."""

    def __init__(
        self,
        timeout_s: float = 5.0,
        backoff_s: float = 60.0,
        max_backoff_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.session = requests.Session()
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.clock = clock
        self.blocked_until = 0.0
        self.rate_limited = 0  # 429s in a row
        self.requests = 0

    def get_json(
        self,
        url: str,
        params: list[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        now = self.clock()
        if now < self.blocked_until:
            wait = self.blocked_until - now
            raise SourceRateLimited(f"{url}: rate limited, backing off {wait:.0f} s more", wait)
        self.requests += 1
        try:
            resp = self.session.get(
                url, params=params, headers=dict(headers or {}), timeout=self.timeout_s
            )
        except requests.RequestException as exc:
            raise SourceError(f"{url}: {exc}") from exc
        if resp.status_code == 429:
            wait = min(self.backoff_s * 2**self.rate_limited, self.max_backoff_s)
            retry_after = resp.headers.get("Retry-After", "")
            if retry_after.isdigit():
                wait = max(wait, float(retry_after))
            self.rate_limited += 1
            self.blocked_until = now + wait
            raise SourceRateLimited(f"{url}: HTTP 429, backing off {wait:.0f} s", wait)
        self.rate_limited = 0
        if resp.status_code in (401, 403):
            raise SourceUnauthorized(
                f"{url}: HTTP {resp.status_code}: the API refused the credentials "
                "(docs/runbooks/price-sources.md)"
            )
        if not resp.ok:
            raise SourceError(f"{url}: HTTP {resp.status_code}")
        try:
            return resp.json()
        except ValueError as exc:
            raise SourceError(f"{url}: malformed JSON ({exc})") from exc


def scaled(value: Any, exponent: int) -> Decimal:
    """`value x 10^exponent`, exactly (a decimal string or an integer)."""
    try:
        out = Decimal(str(value)).scaleb(exponent)
    except ArithmeticError as exc:
        raise SourceError(f"unreadable number {value!r}") from exc
    if not out.is_finite():
        raise SourceError(f"non-finite number {value!r}")
    return out


class HttpJsonSource:
    """GET a JSON document; read price and time at dotted paths (`data.price`, `0.ts`).

    `url#price=PATH&time=PATH&status=PATH&exp=N` sets the paths inline (defaults: `price`,
    `timestamp`, and the market status from the exchange calendar at the observed time) and
    the exponent (the price is `value x 10^N`: `exp=-8` reads integer feed units). `headers`
    go with every request (an API key: configure it in the environment, not on the command
    line).
    """

    def __init__(
        self,
        url: str,
        price_path: str = "price",
        time_path: str = "timestamp",
        status_path: str | None = None,
        timeout_s: float = 5.0,
        calendar: MarketCalendar | None = None,
        headers: Mapping[str, str] | None = None,
        exponent: int = 0,
        client: HttpClient | None = None,
    ):
        base, frag = urldefrag(url)
        opts = {k: v[0] for k, v in parse_qs(frag).items()}
        self.url = base
        self.name = f"http:{base}"
        self.price_path = opts.get("price", price_path)
        self.time_path = opts.get("time", time_path)
        self.status_path = opts.get("status", status_path)
        self.exponent = int(opts.get("exp", exponent))
        self.headers = dict(headers or {})
        self.client = client or HttpClient(timeout_s)
        self.calendar = calendar or nyse()

    def quote(self, now: int) -> Quote | None:
        payload = self.client.get_json(self.url, headers=self.headers)
        try:
            price = scaled(_dig(payload, self.price_path), self.exponent)
            observed_at = _parse_time(_dig(payload, self.time_path))
            if price <= 0:
                raise SourceError(f"{self.url}: non-positive price {price}")
            if self.status_path:
                raw = _dig(payload, self.status_path)
                status = _STATUS_NAMES[raw.upper()] if isinstance(raw, str) else MarketStatus(raw)
            else:
                status = self.calendar.status_at(observed_at)
        except (ArithmeticError, KeyError, ValueError, TypeError) as exc:  # incl. OutsideCalendar
            raise SourceError(f"{self.url}: {exc}") from exc
        return Quote(price, observed_at, status, self.name)


def _status_now(calendar: MarketCalendar, published_at: int, now: int) -> tuple[MarketStatus, int]:
    """(status, observed_at) of a price published at `published_at`, read at `now`, for a
    source that carries no market status: the exchange calendar at `now`. While OPEN the
    observation is the price's own time (so a stale price is seen stale); otherwise it is
    `now` — the market was seen CLOSED now, and the last price stands."""
    try:
        status = calendar.status_at(now)
    except ValueError as exc:  # OutsideCalendar
        raise SourceError(str(exc)) from exc
    return status, (published_at if status is MarketStatus.OPEN else max(published_at, now))


# Pyth Pro's session names, should a Hermes-compatible payload carry one
_PYTH_SESSIONS = {
    "regular": MarketStatus.OPEN,
    "premarket": MarketStatus.CLOSED,
    "postmarket": MarketStatus.CLOSED,
    "overnight": MarketStatus.CLOSED,
    "closed": MarketStatus.CLOSED,
    "halted": MarketStatus.HALTED,
}


class PythHermes:
    """Hermes' latest prices for every feed id registered, in one request
    (`GET /v2/updates/price/latest?ids[]=A&ids[]=B&parsed=true`), shared by the sources that
    read it and reused for `cache_s` of wall time. `api_key` goes as `Authorization: Bearer`."""

    def __init__(
        self,
        base_url: str = "https://hermes.pyth.network",
        api_key: str = "",
        client: HttpClient | None = None,
        cache_s: float = 0.5,
    ):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = client or HttpClient()
        self.cache_s = cache_s
        self.ids: list[str] = []
        self._cache: tuple[float, dict[str, dict[str, Any]]] | None = None

    def register(self, feed_id: str) -> str:
        fid = _hex_id(feed_id, 32)
        if fid not in self.ids:
            self.ids.append(fid)
            self._cache = None
        return fid

    def latest(self) -> dict[str, dict[str, Any]]:
        """The parsed entry of every registered id, keyed by id (lowercase hex, no 0x)."""
        wall = self.client.clock()
        if self._cache is not None and wall - self._cache[0] < self.cache_s:
            return self._cache[1]
        url = f"{self.base_url}/v2/updates/price/latest"
        params = [("ids[]", i) for i in self.ids] + [("parsed", "true")]
        payload = self.client.get_json(url, params, self.headers)
        try:
            entries = {_hex_id(e["id"], 32): e for e in payload["parsed"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceError(f"{url}: no parsed prices ({exc!r})") from exc
        self._cache = (wall, entries)
        return entries


class PythSource:
    """One Pyth feed (`pyth:<feed id>`): `price x 10^expo`, `conf x 10^expo`, `publish_time`;
    the market status from the payload's session when it carries one, else the NYSE calendar
    (an equity feed stops publishing outside its hours: the last price then stands, CLOSED)."""

    def __init__(self, hermes: PythHermes, feed_id: str, calendar: MarketCalendar | None = None):
        self.hermes = hermes
        self.feed_id = hermes.register(feed_id)
        self.name = f"pyth:{self.feed_id[:12]}"
        self.calendar = calendar or nyse()

    def quote(self, now: int) -> Quote | None:
        entry = self.hermes.latest().get(self.feed_id)
        if entry is None:
            raise SourceError(f"{self.name}: the answer has no price for this feed id")
        try:
            px = entry["price"]
            expo = int(px["expo"])
            price = scaled(int(px["price"]), expo)
            conf = scaled(int(px["conf"]), expo)
            published = int(px["publish_time"])
            metadata = entry.get("metadata") or {}
            session = entry.get("market_session") or metadata.get("market_session")
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SourceError(f"{self.name}: malformed price ({exc!r})") from exc
        if price <= 0:
            raise SourceError(f"{self.name}: non-positive price {price}")
        if isinstance(session, str) and session.lower() in _PYTH_SESSIONS:
            status = _PYTH_SESSIONS[session.lower()]
            observed_at = published if status is MarketStatus.OPEN else max(published, now)
        else:
            status, observed_at = _status_now(self.calendar, published, now)
        return Quote(price, observed_at, status, self.name, conf=conf)


# ---- Chainlink Data Streams ----------------------------------------------------------

# fullReport = abi.encode(bytes32[3] reportContext, bytes reportBlob, bytes32[] rs,
# bytes32[] ss, bytes32 rawVs); the blob is the schema's fields, abi-encoded
FULL_REPORT_TYPES = ["bytes32[3]", "bytes", "bytes32[]", "bytes32[]", "bytes32"]
# the fields every report schema starts with
_REPORT_HEADER: tuple[tuple[str, str], ...] = (
    ("feedId", "bytes32"),
    ("validFromTimestamp", "uint32"),
    ("observationsTimestamp", "uint32"),
    ("nativeFee", "uint192"),
    ("linkFee", "uint192"),
    ("expiresAt", "uint32"),
    ("lastUpdateTimestamp", "uint64"),  # nanoseconds
)
REPORT_SCHEMAS: dict[int, tuple[tuple[str, str], ...]] = {
    8: (
        *_REPORT_HEADER,
        ("midPrice", "int192"),  # 18 decimals
        ("marketStatus", "uint32"),  # 0 unknown, 1 closed, 2 open
    ),
    10: (
        *_REPORT_HEADER,
        ("price", "int192"),  # 18 decimals
        ("marketStatus", "uint32"),  # 0 unknown, 1 closed, 2 open (3 halted)
        ("currentMultiplier", "int192"),  # 18 decimals
        ("newMultiplier", "int192"),  # 0: none scheduled
        ("activationDateTime", "uint32"),  # 0: none scheduled
        ("tokenizedPrice", "int192"),  # 24/7 CEX price of the tokenized share: not used
    ),
}
DATA_STREAMS_DECIMALS = 18


def _hex_id(value: str, size: int) -> str:
    if not isinstance(value, str):  # an API's JSON: anything may come
        raise ValueError(f"{value!r}: expected {size} bytes of hex")
    h = value.lower().removeprefix("0x")
    if len(h) != 2 * size or any(c not in "0123456789abcdef" for c in h):
        raise ValueError(f"{value!r}: expected {size} bytes of hex")
    return h


def schema_version(feed_id: str) -> int:
    """A Data Streams feed id starts with its report schema version (0x0008..., 0x000a...)."""
    return int(_hex_id(feed_id, 32)[:4], 16)


def decode_full_report(full_report: str) -> tuple[tuple[bytes, ...], dict[str, Any]]:
    """(report context, the report's fields by name) of a `fullReport` hex blob."""
    try:
        raw = bytes.fromhex(full_report.removeprefix("0x"))
        context, blob, _rs, _ss, _vs = abi_decode(FULL_REPORT_TYPES, raw)
        version = int.from_bytes(blob[:2], "big")
        schema = REPORT_SCHEMAS[version]
        values = abi_decode([t for _, t in schema], blob)
    except KeyError as exc:
        raise SourceError(f"report schema v{exc} is not supported (v8, v10)") from exc
    except Exception as exc:  # eth-abi's decoding errors, bad hex
        raise SourceError(f"undecodable fullReport ({exc})") from exc
    return tuple(context), dict(zip((n for n, _ in schema), values, strict=True))


class DataStreamsSource:
    """`datastreams:<feed id>`: the latest report of one stream,
    `GET /api/v1/reports/latest?feedID=<id>` signed as the API asks (`Authorization`: the key;
    `X-Authorization-Timestamp`: ms; `X-Authorization-Signature-SHA256`: hex HMAC-SHA256 with
    the secret over `"GET <path?query> <sha256(body) hex> <key> <timestamp>"`).

    v8 (RWA): `midPrice`; v10 (tokenized asset): `price`, and its multiplier schedule
    (`newMultiplier` at `activationDateTime`) as the quote's `action`. `marketStatus` is
    Chainlink's authoritative status (no calendar). While OPEN the observation is the price's
    own time (`lastUpdateTimestamp`, ns: a stale report is seen stale); otherwise the report's
    `observationsTimestamp` (the market was seen closed then)."""

    path = "/api/v1/reports/latest"

    def __init__(
        self,
        feed_id: str,
        base_url: str = "https://api.dataengine.chain.link",
        api_key: str = "",
        api_secret: str = "",
        client: HttpClient | None = None,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ):
        self.feed_id = "0x" + _hex_id(feed_id, 32)
        self.version = schema_version(self.feed_id)
        if self.version not in REPORT_SCHEMAS:
            raise ValueError(f"{feed_id}: report schema v{self.version} is not supported (v8, v10)")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.api_secret = api_secret
        self.client = client or HttpClient()
        self.wall_ms = wall_ms
        self.name = f"datastreams:{self.feed_id[:14]}"

    def auth_headers(self, path_and_query: str, body: bytes = b"") -> dict[str, str]:
        ts = str(self.wall_ms())
        digest = hashlib.sha256(body).hexdigest()
        message = f"GET {path_and_query} {digest} {self.api_key} {ts}"
        sig = hmac.new(self.api_secret.encode(), message.encode(), hashlib.sha256).hexdigest()
        return {
            "Authorization": self.api_key,
            "X-Authorization-Timestamp": ts,
            "X-Authorization-Signature-SHA256": sig,
        }

    def quote(self, now: int) -> Quote | None:
        query = urlencode({"feedID": self.feed_id})
        path = f"{self.path}?{query}"
        headers = self.auth_headers(path)
        payload = self.client.get_json(f"{self.base_url}{path}", headers=headers)
        try:
            report = payload["report"]
            full = report["fullReport"]
            if _hex_id(report["feedID"], 32) != self.feed_id[2:]:
                raise SourceError(f"{self.name}: the answer is for feed {report['feedID']}")
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceError(f"{self.name}: malformed report ({exc!r})") from exc
        _ctx, fields = decode_full_report(full)
        if "0x" + fields["feedId"].hex() != self.feed_id:
            raise SourceError(f"{self.name}: the signed report is for another feed")
        raw_price = fields["midPrice"] if self.version == 8 else fields["price"]
        price = scaled(raw_price, -DATA_STREAMS_DECIMALS)
        if price <= 0:
            raise SourceError(f"{self.name}: non-positive price {price}")
        code = fields["marketStatus"]
        if code not in MarketStatus._value2member_map_:
            raise SourceError(f"{self.name}: unknown marketStatus {code}")
        status = MarketStatus(code)
        updated = fields["lastUpdateTimestamp"] // 10**9
        observed_at = (
            updated
            if status is MarketStatus.OPEN
            else max(updated, fields["observationsTimestamp"])
        )
        action = None
        # once an action applied, v10 reports new = current: nothing is ahead
        ahead = fields.get("newMultiplier") != fields.get("currentMultiplier")
        if (
            self.version == 10
            and ahead
            and fields["newMultiplier"]
            and fields["activationDateTime"]
        ):
            action = CorporateAction(
                fields["currentMultiplier"], fields["newMultiplier"], fields["activationDateTime"]
            )
        return Quote(price, observed_at, status, self.name, action=action)


@dataclass(frozen=True)
class SourceConfig:
    """Endpoints and credentials of the network sources (from the keeper's settings)."""

    pyth_url: str = "https://hermes.pyth.network"
    pyth_api_key: str = ""
    datastreams_url: str = "https://api.dataengine.chain.link"
    datastreams_api_key: str = ""
    datastreams_api_secret: str = ""
    http_headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 5.0
    backoff_s: float = 60.0


def parse_headers(spec: str) -> dict[str, str]:
    """`"Name: value; Other: value"` -> headers."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, sep, value = part.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"header {part!r}: expected NAME: VALUE")
        out[name.strip()] = value.strip()
    return out


def parse_source(
    spec: str,
    calendar: MarketCalendar | None = None,
    splits: tuple[Split, ...] = (),
    config: SourceConfig | None = None,
    hermes: PythHermes | None = None,
) -> PriceSource:
    """`csv:PATH`, `gbm:SEED[:S0[:SIGMA]]`, `http:URL` (or a bare http(s) URL),
    `pyth:FEED_ID`, `datastreams:FEED_ID`; a CSV of split-adjusted bars is replayed as the
    unadjusted quotes of each day when `splits` is given. Pyth sources built with the same
    `hermes` share its requests (several feed ids in one)."""
    cfg = config or SourceConfig()
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
        client = HttpClient(cfg.timeout_s, cfg.backoff_s)
        return HttpJsonSource(url, calendar=calendar, headers=cfg.http_headers, client=client)
    if kind == "pyth" and rest:
        hermes = hermes or PythHermes(
            cfg.pyth_url, cfg.pyth_api_key, HttpClient(cfg.timeout_s, cfg.backoff_s)
        )
        return PythSource(hermes, rest, calendar)
    if kind == "datastreams" and rest:
        return DataStreamsSource(
            rest,
            cfg.datastreams_url,
            cfg.datastreams_api_key,
            cfg.datastreams_api_secret,
            HttpClient(cfg.timeout_s, cfg.backoff_s),
        )
    raise ValueError(
        f"unknown source {spec!r}: use csv:PATH, gbm:SEED, http:URL, pyth:FEED_ID or "
        "datastreams:FEED_ID"
    )
