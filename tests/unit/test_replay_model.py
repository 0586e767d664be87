"""The replay report's oracle-health and bad-debt formulas (`synthequity.model.replay`) against
independent computations on hand-made series: a minute-by-minute walk for the outages, plain
arithmetic for the divergence and who absorbed the bad debt."""

from __future__ import annotations

from fractions import Fraction

import pytest

from synthequity.constants import MarketStatus
from synthequity.model import replay as rp

OPEN, CLOSED, HALTED = MarketStatus.OPEN, MarketStatus.CLOSED, MarketStatus.HALTED
MIN, HOUR, DAY = 60, 3_600, 86_400
E8 = 10**8
MAX_AGE = 120


def sample(t, src, src_status, chain, updated_at, chain_status):
    return rp.OracleSample(t, src * E8, src_status, chain * E8, updated_at, chain_status)


def brute_outages(samples, max_age):
    """Independent: walk every minute; a minute takes the state of the last sample at or
    before it. Bad minute: source OPEN and the chain unusable; good minute: source OPEN and
    usable. An outage is the bad minutes between two good ones (the first bad minute to the
    next good minute); its OPEN time is 60 s per bad minute."""
    out, start, bad = [], None, 0
    i = 0
    for m in range(samples[0].t, samples[-1].t + 1, MIN):
        while i + 1 < len(samples) and samples[i + 1].t <= m:
            i += 1
        s = samples[i]
        ok = (
            s.chain_price > 0
            and s.chain_status == OPEN
            and m - s.chain_updated_at <= max_age
            and m - s.t < MIN  # the state is only known at the sample itself
        )
        src_open = s.source_status == OPEN
        if not src_open:
            continue
        if not ok and (m == s.t or start is not None):
            if start is None:
                start, bad = m, 0
            if m < samples[-1].t:
                bad += MIN
        elif start is not None and ok:
            out.append((start, m, bad, True))
            start = None
    if start is not None:
        out.append((start, samples[-1].t, bad, False))
    return out


def frozen_for_weeks():
    """The issue's replay: a +57% overnight gap refused for six weeks; the chain keeps the
    pre-gap close (CLOSED) while the source trades (10:00 and 14:00 prints, the close)."""
    rows = []
    t0 = 1_600_000_000 - 1_600_000_000 % DAY
    price = 100
    rows.append(sample(t0 + 10 * HOUR, price, OPEN, price, t0 + 10 * HOUR, OPEN))
    rows.append(sample(t0 + 16 * HOUR, price, CLOSED, price, t0 + 16 * HOUR, CLOSED))
    for d in range(1, 43):
        day = t0 + d * DAY
        price = 157 + d * 10  # the source rises; the chain stays at 100, CLOSED
        rows.append(sample(day + 10 * HOUR, price, OPEN, 100, t0 + 16 * HOUR, CLOSED))
        rows.append(sample(day + 14 * HOUR, price, OPEN, 100, t0 + 16 * HOUR, CLOSED))
        rows.append(sample(day + 16 * HOUR, price, CLOSED, 100, t0 + 16 * HOUR, CLOSED))
    return rows


def halted_then_reopened():
    """A gap at the open: suspect (HALTED) for 25 minutes, then confirmed; 5-minute prints."""
    t0 = 1_700_000_000 - 1_700_000_000 % DAY + 14 * HOUR + 30 * MIN
    rows = [sample(t0 - DAY + 6 * HOUR, 100, CLOSED, 100, t0 - DAY + 6 * HOUR, CLOSED)]
    for k in range(12):
        t = t0 + k * 5 * MIN
        if k < 5:
            rows.append(sample(t, 160, OPEN, 160, t, HALTED))
        else:
            rows.append(sample(t, 161, OPEN, 160 if k == 5 else 161, t, OPEN))
    return rows


def stale_by_age():
    """OPEN on the chain but its round 5 minutes old at two ticks in a row, then fresh."""
    t0 = 1_650_000_000
    return [
        sample(t0, 50, OPEN, 50, t0, OPEN),
        sample(t0 + 300, 51, OPEN, 50, t0, OPEN),  # stale (300 s > 120 s)
        sample(t0 + 600, 52, OPEN, 50, t0, OPEN),
        sample(t0 + 900, 52, OPEN, 52, t0 + 900, OPEN),
        sample(t0 + 1_000, 52, OPEN, 52, t0 + 900, OPEN),  # 100 s old: usable
    ]


@pytest.mark.parametrize("series", [frozen_for_weeks, halted_then_reopened, stale_by_age])
def test_outages_match_a_minute_by_minute_walk(series):
    rows = series()
    got = [(o.start, o.end, o.open_s, o.recovered) for o in rp.outages(rows, MAX_AGE)]
    assert got == brute_outages(rows, MAX_AGE)


def test_a_frozen_oracle_is_weeks_long_and_flagged():
    rows = frozen_for_weeks()
    o = rp.longest_outage(rows, MAX_AGE)
    assert o is not None and not o.recovered
    assert o.start == rows[2].t and o.end == rows[-1].t
    # 42 days of a 10:00-16:00 session, 6 hours each, counted while the source was OPEN
    assert o.open_s == 42 * 6 * HOUR
    assert o.span_s == rows[-1].t - rows[2].t
    assert rp.fmt_duration(o.span_s) == "5w 6d"
    assert rp.frozen(o, 2 * HOUR)
    # the divergence: the chain at 100 while the source is at 157 + 420
    d = rp.max_divergence(rows)
    assert d is not None and d.ratio == Fraction(577 - 100, 577)
    assert rp.max_divergence(rows, MAX_AGE).ratio == 0  # never wrong while usable


def test_a_gap_halted_for_25_minutes_then_confirmed():
    rows = halted_then_reopened()
    o = rp.longest_outage(rows, MAX_AGE)
    assert o is not None and o.recovered
    assert (o.start, o.end) == (rows[1].t, rows[6].t)
    assert o.open_s == 25 * MIN and o.span_s == 25 * MIN
    assert not rp.frozen(o, 30 * MIN) and rp.frozen(o, 20 * MIN)
    assert rp.fmt_duration(o.open_s) == "25m"
    # the largest error while usable: the chain's 160 against the source's 161, one tick
    d = rp.max_divergence(rows, MAX_AGE)
    assert d is not None and d.t == rows[6].t and d.ratio == Fraction(1, 161)


def test_a_stale_round_counts_until_a_fresh_one():
    rows = stale_by_age()
    (o,) = rp.outages(rows, MAX_AGE)
    assert (o.start, o.end, o.open_s) == (rows[1].t, rows[3].t, 600)
    assert rp.usable(rows[4], MAX_AGE) and not rp.usable(rows[4], 99)


def test_no_outage_when_always_usable_and_none_before_the_source_opens():
    t0 = 1_650_000_000
    rows = [
        sample(t0, 10, CLOSED, 0, 0, MarketStatus.UNKNOWN),  # nothing on chain, source CLOSED
        sample(t0 + 60, 10, OPEN, 10, t0 + 60, OPEN),
        sample(t0 + 120, 10, OPEN, 10, t0 + 120, OPEN),
    ]
    assert rp.outages(rows, MAX_AGE) == [] and rp.longest_outage(rows, MAX_AGE) is None
    assert not rp.frozen(None, 0)


def test_bad_debt_goes_to_the_fund_first_then_the_pool():
    wad = 10**18
    shortfalls = [
        rp.Shortfall(1, "perp", "a", 3_000 * wad, 3_000 * wad),  # the fund pays all
        rp.Shortfall(2, "perp", "b", 5_000 * wad, 1_200 * wad),  # the fund runs dry
        rp.Shortfall(3, "perp", "c", 4_000 * wad, 0),  # the pool takes it all
        rp.Shortfall(4, "vault", "d", 900 * wad, 400 * wad),  # the rest stays uncovered
        rp.Shortfall(5, "perp", "e", 10 * wad, 10 * wad + 10**12),  # a unit rounded up
    ]
    got = rp.absorbed(shortfalls)
    assert got.bad_debt_wad == (3_000 + 5_000 + 4_000 + 900 + 10) * wad
    assert got.insurance_wad == (3_000 + 1_200 + 400 + 10) * wad
    assert got.pool_wad == (3_800 + 4_000) * wad
    assert got.uncovered_wad == 500 * wad
    assert got.bad_debt_wad == got.insurance_wad + got.pool_wad + got.uncovered_wad


def test_durations_read_well():
    assert rp.fmt_duration(6 * 7 * DAY + 2 * DAY + 5 * HOUR) == "6w 2d"
    assert rp.fmt_duration(3 * DAY + 4 * HOUR) == "3d 4h"
    assert rp.fmt_duration(2 * HOUR + 5 * MIN) == "2h 05m"
    assert rp.fmt_duration(12 * MIN + 5) == "12m"
    assert rp.fmt_duration(40) == "40s"
