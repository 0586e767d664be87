"""The market replay's oracle-health and bad-debt figures (docs/design/replay.md), as pure
functions over plain series: no chain, no clock.

A replay samples, at every tick, what the price source said and what the chain held. From
those samples:

- an *outage* is a run of ticks during which the source was OPEN and the chain's price was
  not usable for risk (the market HALTED or not OPEN, or its price older than `max_age_s`):
  it starts at the first such tick and ends at the first tick at which the source is OPEN and
  the chain's price is usable again (CLOSED nights inside a run neither end it nor count);
  its length is the time counted while the source was OPEN (`open_s`), and its calendar
  span (`span_s`);
- the *divergence* of a tick is |chain - source| / source, the chain's error against the
  source; the largest overall, and the largest while the chain's price was usable (the one
  that matters: risk acted on it);
- *bad debt* is what liquidations could not take from the positions' own margin or
  collateral, and who absorbed it: the insurance fund first, then the pool (perp) or nobody
  (vault: uncovered, left on the system's books).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from synthequity.constants import MarketStatus


@dataclass(frozen=True)
class OracleSample:
    """One tick: what the source said and what the chain held, prices in feed units."""

    t: int
    source_price: int  # 0: the source had nothing to say
    source_status: MarketStatus
    chain_price: int  # 0: no round yet
    chain_updated_at: int  # the latest round's observation time
    chain_status: MarketStatus  # market_status(): HALTED while the feed is suspect


def usable(s: OracleSample, max_age_s: int) -> bool:
    """What `oracle_guard` accepts for risk: a price, OPEN (not HALTED), no older than
    `max_age_s` at the tick."""
    return (
        s.chain_price > 0
        and s.chain_status is MarketStatus.OPEN
        and s.t - s.chain_updated_at <= max_age_s
    )


@dataclass(frozen=True)
class Outage:
    start: int  # the first tick with the source OPEN and the chain's price unusable
    end: int  # the tick it was usable again (the last tick when it never was)
    open_s: int  # time inside [start, end) while the source was OPEN
    recovered: bool

    @property
    def span_s(self) -> int:
        return self.end - self.start


def outages(samples: list[OracleSample], max_age_s: int) -> list[Outage]:
    """Every outage of a series sorted by time; an interval between two ticks counts while
    the source was OPEN at its first tick."""
    out: list[Outage] = []
    start: int | None = None
    open_s = 0
    for i, s in enumerate(samples):
        src_open = s.source_status is MarketStatus.OPEN
        if start is None:
            if src_open and not usable(s, max_age_s):
                start, open_s = s.t, 0
        elif src_open and usable(s, max_age_s):
            out.append(Outage(start, s.t, open_s, True))
            start = None
        if start is not None and src_open and i + 1 < len(samples):
            open_s += samples[i + 1].t - s.t
    if start is not None:
        out.append(Outage(start, samples[-1].t, open_s, False))
    return out


def longest_outage(samples: list[OracleSample], max_age_s: int) -> Outage | None:
    """The outage with the most OPEN time (the earliest of equals)."""
    best: Outage | None = None
    for o in outages(samples, max_age_s):
        if best is None or o.open_s > best.open_s:
            best = o
    return best


@dataclass(frozen=True)
class Divergence:
    t: int
    ratio: Fraction  # |chain - source| / source
    source_price: int
    chain_price: int

    @property
    def pct(self) -> float:
        return float(self.ratio) * 100


def divergence(s: OracleSample) -> Fraction | None:
    if s.source_price <= 0 or s.chain_price <= 0:
        return None
    return Fraction(abs(s.chain_price - s.source_price), s.source_price)


def max_divergence(samples: list[OracleSample], max_age_s: int | None = None) -> Divergence | None:
    """The tick where chain and source differed most (the earliest of equals); with
    `max_age_s`, only ticks at which the chain's price was usable for risk."""
    best: Divergence | None = None
    for s in samples:
        if max_age_s is not None and not usable(s, max_age_s):
            continue
        d = divergence(s)
        if d is not None and (best is None or d > best.ratio):
            best = Divergence(s.t, d, s.source_price, s.chain_price)
    return best


@dataclass(frozen=True)
class Shortfall:
    """One liquidation's bad debt in wad USD and what the insurance fund paid against it."""

    t: int
    book: str  # perp | vault
    account: str
    bad_debt_wad: int
    insurance_wad: int  # paid by the fund (capped at the bad debt: it pays whole units)


@dataclass(frozen=True)
class Absorbed:
    bad_debt_wad: int
    insurance_wad: int
    pool_wad: int  # perp: the LPs took it (the market's `pool_shortfall`)
    uncovered_wad: int  # vault: left unbacked on the system's books


def absorbed(shortfalls: list[Shortfall]) -> Absorbed:
    """Who absorbed the bad debt: the fund pays first; what it did not, the pool (perp) or
    nobody (vault)."""
    total = fund = pool = uncovered = 0
    for x in shortfalls:
        paid = min(x.insurance_wad, x.bad_debt_wad)
        total += x.bad_debt_wad
        fund += paid
        if x.book == "perp":
            pool += x.bad_debt_wad - paid
        else:
            uncovered += x.bad_debt_wad - paid
    return Absorbed(total, fund, pool, uncovered)


def frozen(outage: Outage | None, target_s: int) -> bool:
    """The headline's alarm: an outage longer (in OPEN time) than the target."""
    return outage is not None and outage.open_s > target_s


def fmt_duration(seconds: int) -> str:
    """`6w 2d`, `3d 4h`, `2h 05m`, `12m`, `40s`: the two largest units."""
    s = max(seconds, 0)
    weeks, rest = divmod(s, 7 * 86_400)
    days, rest = divmod(rest, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if weeks:
        return f"{weeks}w {days}d"
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def total_return_with_dividends(
    first: Fraction, last: Fraction, ex_dates: list[tuple[Fraction, Fraction]]
) -> Fraction:
    """A share's total return from price `first` to `last`, each dividend reinvested at its
    ex-date's reference price: x cum / (cum - dividend) for every (cum close, dividend) in
    `ex_dates`, so the dividends buy more shares (issue 21: what the synth must track)."""
    growth = last / first
    for cum, amount in ex_dates:
        growth *= cum / (cum - amount)
    return growth - 1
