"""Stock splits as the keepers and tests know them (docs/spec.md §6).

A split with effective date D (the first session quoted in new shares) is staged on the oracle
with activation D 00:00 UTC — the market is CLOSED then, after the last old-share close. The
oracle keeper pushes *unadjusted* quotes: old-share prices before D, new-share prices from D.
`data/tsla_daily.csv` is split-adjusted (today's shares), so a replay multiplies each bar by
the ratios of the splits still to come after its date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

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
