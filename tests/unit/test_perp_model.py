"""The perp market's reference math (synthequity.model.perp), checked by hand on worked
examples and against position-by-position recomputation — the ground the PerpMarket contract
will be compared to (issue 4)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from synthequity.model.perp import (
    DAY,
    WAD,
    Aggregates,
    FundingState,
    PerpParams,
    Position,
    accrue_funding,
    equity,
    fill_price,
    funding_owed,
    is_liquidatable,
    keeper_reward,
    liquidation_size,
    net_funding_owed_by_traders,
    net_trader_pnl,
    order_fee,
    pnl,
    pool_nav,
    requirement,
    withdrawable,
)

P = PerpParams()  # skew scale 1,000,000 shares


def usd(x) -> int:
    return int(Decimal(str(x)) * WAD)


def test_fill_price_worked_example():
    """Buying 10,000 shares at $200 from a flat book moves the premium from 0 to 1%: the fill
    is at the average premium, 0.5%: $201. Selling them back walks the same premium down."""
    assert fill_price(usd(200), 0, usd(10_000), P) == usd(201)
    assert fill_price(usd(200), usd(10_000), -usd(10_000), P) == usd(201)
    assert fill_price(usd(200), 0, -usd(10_000), P) == usd(199)
    assert fill_price(usd(200), usd(-500_000), usd(1_000_000), P) == usd(200)  # through zero


def test_fill_price_rounds_against_the_trader():
    buy = fill_price(usd(200) + 1, 0, 3, P)
    sell = fill_price(usd(200) + 1, 0, -3, P)
    assert buy >= usd(200) + 1 >= sell


def test_fees_split_maker_and_taker_parts():
    # skew +5,000; a sale of 8,000: 5,000 reduce the skew (maker 2 bps), 3,000 flip it (taker 10)
    assert order_fee(usd(5_000), -usd(8_000), usd(200), P) == usd(200) + usd(600)
    assert order_fee(0, usd(1_000), usd(200), P) == usd(200)  # all taker
    assert order_fee(-usd(1_000), usd(1_000), usd(200), P) == usd(40)  # all maker


def test_funding_over_three_days_of_constant_skew():
    """Skew +100,000 = 10% of the scale: the rate drifts at 0.1 x 3%/day = 0.3%/day per day,
    reaching 0.9%/day after 3 days; the area under it is 0.5 x 0.009 x 3 = 0.0135, so at $200
    a long share pays $2.70 and a short share receives $2.70."""
    s = accrue_funding(FundingState(0, 0, 0), usd(100_000), usd(200), 3 * DAY, P)
    assert s.rate == usd(0.009) and s.index == usd(2.7)
    assert funding_owed(usd(10), s.index, 0) == usd(27)
    assert funding_owed(-usd(10), s.index, 0) == -usd(27)


def test_funding_rate_is_capped_and_integrated_piecewise():
    """At full skew the rate climbs 3%/day per day; from 9%/day it hits the 10%/day cap after
    1/3 day and stays there: area = 0.095 x 1/3 + 0.1 x 2/3 = 0.098333.. -> $9.8333 at $100."""
    s = accrue_funding(FundingState(usd(0.09), 0, 0), usd(1_000_000), usd(100), DAY, P)
    assert s.rate == usd(0.1)
    assert abs(s.index - usd("9.833333333333333333")) <= 1
    again = accrue_funding(s, usd(2_000_000), usd(100), 2 * DAY, P)  # beyond the scale: clamped
    assert again.rate == usd(0.1) and again.index - s.index == usd(10)


def test_funding_rate_turns_when_the_skew_does():
    s = accrue_funding(FundingState(usd(0.01), 0, 0), -usd(1_000_000), usd(100), DAY, P)
    assert s.rate == -usd(0.02)  # 1% - 3%
    assert s.index == usd(-0.5)  # area (0.01 + -0.02) / 2 x 1 day x $100


def test_unrealized_profit_is_never_withdrawable():
    """Mango: a long at 5x whose price went up 50% has $1,000 of paper profit and may not
    withdraw any of it."""
    pos = Position(usd(10), usd(200), usd(400), 0)  # notional $2,000, IMR $400
    assert equity(pos, usd(300), 0) == usd(1_400)
    assert withdrawable(pos, usd(300), 0, P) == 0
    assert withdrawable(pos, usd(190), 0, P) == 0  # a loss reduces it
    rich = Position(usd(10), usd(200), usd(1_000), 0)
    assert withdrawable(rich, usd(300), 0, P) == usd(1_000) - usd(600)


def test_partial_liquidation_worked_example():
    """Long 100 at $200 with $4,000 (5x). At $178: equity $1,800 < MMR $1,780 + keeper $35.60.
    Close q with 1% penalty so that what is left is at the 20% IMR:
    q = (0.2 x 100 x 178 - 1,800 + 35.6) / (0.19 x 178) = 1,795.6 / 33.82 = 53.0928... shares."""
    pos = Position(usd(100), usd(200), usd(4_000), 0)
    assert not is_liquidatable(pos, usd(180), 0, P)
    assert is_liquidatable(pos, usd(178), 0, P)
    assert keeper_reward(pos.size, usd(178), P) == usd(35.6)
    q = liquidation_size(pos, usd(178), 0, P)
    assert abs(Decimal(q) / WAD - Decimal("1795.6") / Decimal("33.82")) < Decimal("1e-15")
    left = pos.size - q
    eq_after = usd(1_800) - (q * usd(178) // WAD) * 100 // 10_000 - usd(35.6)
    assert eq_after >= requirement(left, usd(178), P.initial_margin_bps) - usd(1e-12)


def test_underwater_position_is_closed_whole():
    pos = Position(usd(100), usd(200), usd(4_000), 0)
    assert liquidation_size(pos, usd(150), 0, P) == pos.size  # equity -1,000
    short = Position(-usd(100), usd(200), usd(4_000), 0)
    assert liquidation_size(short, usd(250), 0, P) == short.size


def test_keeper_reward_is_clamped():
    assert keeper_reward(usd(1), usd(100), P) == usd(2)
    assert keeper_reward(usd(1_000_000), usd(100), P) == usd(100)


positions = st.lists(
    st.tuples(st.integers(-(10**6), 10**6), st.integers(1, 10**4), st.integers(-(10**3), 10**3)),
    min_size=1,
    max_size=30,
)


@given(book=positions, price=st.integers(1, 10**4), index=st.integers(-(10**3), 10**3))
def test_nav_from_aggregates_equals_nav_position_by_position(book, price, index):
    """Invariant 6, on the model: the O(1) aggregates agree with the sum over positions."""
    pos = [Position(s * WAD, e * WAD, 0, f * WAD) for s, e, f in book]
    agg = Aggregates(
        sum(x.size for x in pos),
        sum(x.size * x.entry_price // WAD for x in pos),
        sum(x.size * x.funding_entry // WAD for x in pos),
    )
    px, ix = price * WAD, index * WAD
    assert net_trader_pnl(agg, px) == sum(pnl(x, px) for x in pos)
    assert net_funding_owed_by_traders(agg, ix) == sum(
        funding_owed(x.size, ix, x.funding_entry) for x in pos
    )
    assert pool_nav(10**30, agg, px, ix) == 10**30 - sum(pnl(x, px) for x in pos) + sum(
        funding_owed(x.size, ix, x.funding_entry) for x in pos
    )


@given(
    size=st.integers(1, 10**6),
    entry=st.integers(10, 10**4),
    margin_bps=st.integers(2_000, 5_000),
    drop_bps=st.integers(0, 9_000),
    long=st.booleans(),
)
def test_liquidation_size_restores_the_imr_minimally(size, entry, margin_bps, drop_bps, long):
    s = size * WAD if long else -size * WAD
    e = entry * WAD
    pos = Position(s, e, size * e * margin_bps // 10_000, 0)
    price = e * (10_000 - drop_bps) // 10_000 if long else e * (10_000 + drop_bps) // 10_000
    if price == 0 or not is_liquidatable(pos, price, 0, P):
        return
    q = liquidation_size(pos, price, 0, P)
    assert (q > 0) == long and abs(q) <= abs(s)
    k = keeper_reward(s, price, P)
    eq = equity(pos, price, 0)

    def left_equity(close):
        return eq - abs(close) * price // WAD * P.liquidation_penalty_bps // 10_000 - k

    if abs(q) < abs(s):  # partial: back at the IMR, and a little less would not be
        assert left_equity(q) * 10_000 >= (abs(s) - abs(q)) * price // WAD * 2_000 - 10_000
        smaller = abs(q) - abs(q) // 10**6 - 1
        assert left_equity(smaller) * 10_000 < (abs(s) - smaller) * price // WAD * 2_000 + 10_000
