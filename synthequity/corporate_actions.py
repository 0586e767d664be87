"""Stock splits and cash dividends as the keepers and tests know them (docs/spec.md §6,
docs/design/corporate-actions.md).

A split with effective date D (the first session quoted in new shares) is staged on the oracle
with activation D 00:00 UTC — the market is CLOSED then, after the last old-share close. The
oracle keeper pushes *unadjusted* quotes: old-share prices before D, new-share prices from D.
`data/tsla_daily.csv` is split-adjusted (today's shares), so a replay multiplies each bar by
the ratios of the splits still to come after its date."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from synthequity.market_hours import to_ts


@dataclass(frozen=True)
class Split:
    effective: dt.date  # first session quoted in new shares
    ratio: int  # new shares per old share

    @property
    def activation(self) -> int:
        """When the oracle switches: 00:00 UTC of the effective date (market CLOSED)."""
        return to_ts(self.effective)


TSLA_SPLITS = (Split(dt.date(2020, 8, 31), 5), Split(dt.date(2022, 8, 25), 3))


def parse_splits(spec: str) -> tuple[Split, ...]:
    """ "2020-08-31:5,2022-08-25:3" -> splits, in date order."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        day, sep, ratio = part.partition(":")
        if not sep:
            raise ValueError(f"split {part!r}: expected DATE:RATIO, e.g. 2020-08-31:5")
        n = int(ratio)
        if n < 2:
            raise ValueError(f"split {part!r}: the ratio must be a whole number >= 2")
        out.append(Split(dt.date.fromisoformat(day), n))
    return tuple(sorted(out, key=lambda s: s.effective))


def unadjust_factor(day: dt.date, splits: tuple[Split, ...]) -> int:
    """What a split-adjusted price of `day` is multiplied by to give that day's quote."""
    factor = 1
    for s in splits:
        if s.effective > day:
            factor *= s.ratio
    return factor


def ratio_between(t0: int, t1: int, splits: tuple[Split, ...]) -> int:
    """The product of the splits that activate in (t0, t1]: quotes at t1 are in shares this
    many times smaller than quotes at t0."""
    factor = 1
    for s in splits:
        if t0 < s.activation <= t1:
            factor *= s.ratio
    return factor


def unadjusted(price: Decimal, day: dt.date, splits: tuple[Split, ...]) -> Decimal:
    return price * unadjust_factor(day, splits)


@dataclass(frozen=True)
class Dividend:
    """A cash dividend: `amount` USD per share as quoted on the ex-date (after any split that
    day), staged on the oracle to activate at the ex-date's 00:00 UTC (market CLOSED)."""

    ex_date: dt.date
    amount: Decimal

    @property
    def activation(self) -> int:
        return to_ts(self.ex_date)


def _dividend(day: str, amount: str, where: str) -> Dividend:
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"dividend {where}: {amount!r} is not an amount in USD") from None
    if not value > 0:
        raise ValueError(f"dividend {where}: the amount must be > 0")
    return Dividend(dt.date.fromisoformat(day.strip()), value)


def parse_dividends(spec: str) -> tuple[Dividend, ...]:
    """ "2024-02-09:0.24,2024-05-10:0.25" -> dividends in date order; a path to a CSV with
    `ex_date` and `amount` columns (data/aapl_dividends.csv) is read instead."""
    spec = spec.strip()
    if not spec:
        return ()
    if spec.endswith(".csv"):
        return load_dividends(Path(spec))
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        day, sep, amount = part.partition(":")
        if not sep:
            raise ValueError(f"dividend {part!r}: expected DATE:AMOUNT, e.g. 2024-02-09:0.24")
        out.append(_dividend(day, amount, repr(part)))
    return tuple(sorted(out, key=lambda d: d.ex_date))


def load_dividends(path: Path) -> tuple[Dividend, ...]:
    """A dividend schedule file: a CSV with `ex_date` (YYYY-MM-DD) and `amount` (USD per
    share) columns; other columns (source, pay date) are kept for the reader, ignored here."""
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if not (r.get("ex_date") or "").startswith("#")]
    out = [_dividend(r["ex_date"], r["amount"], f"{path.name}:{i + 2}") for i, r in enumerate(rows)]
    return tuple(sorted(out, key=lambda d: d.ex_date))


def dividends_between(t0: int, t1: int, dividends: tuple[Dividend, ...]) -> Decimal:
    """The dividends (USD per share) whose ex-date activates in (t0, t1]."""
    return sum((d.amount for d in dividends if t0 < d.activation <= t1), Decimal(0))
