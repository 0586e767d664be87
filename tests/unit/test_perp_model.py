"""The perp market's reference model (synthequity.model.perp), checked by hand on worked
examples and against position-by-position recomputation: the math, the liquidation prices the
CLI shows (perp and vault), and `PerpModel`'s entry points to the token unit."""

import copy
import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthequity.model.perp import (
    CLOSED,
    DAY,
    HALTED,
    OPEN,
    ORDER_PRICE_MAX,
    WAD,
    Aggregates,
    Cancelled,
    Closed,
    Done,
    Filled,
    FundingState,
    Liquidated,
    MarketParams,
    OracleReading,
    PerpModel,
    PerpParams,
    PerpRevert,
    Position,
    Reverted,
    accrue_funding,
    ceil_div,
    equity,
    fill_price,
    fill_round,
    funding_owed,
    is_liquidatable,
    keeper_reward,
    liquidation_price,
    liquidation_size,
    min_equity,
    net_funding_owed_by_traders,
    net_trader_pnl,
    order_fee,
    pnl,
    pool_nav,
    requirement,
    settlement_units,
    withdrawable,
)
from synthequity.model.vault import VaultParams, is_below
from synthequity.model.vault import liquidation_price as vault_liquidation_price

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


# ---- liquidation price ------------------------------------------------------------------------


def test_liquidation_price_of_a_long_worked_example():
    """Long 100 at $200 with $4,000: equity 100 P - 16,000, liquidated under 10% of 100 P plus
    the keeper's 20% of the 1% penalty (0.2 P here): 100 P - 16,000 < 10.2 P below
    P = 16,000 / 89.8 = $178.1737..."""
    pos = Position(usd(100), usd(200), usd(4_000), 0)
    liq = liquidation_price(pos, 0, P)
    assert abs(Decimal(liq) / WAD - Decimal(16_000) / Decimal("89.8")) < Decimal("1e-15")
    assert is_liquidatable(pos, liq, 0, P) and not is_liquidatable(pos, liq + 1, 0, P)


def test_liquidation_price_of_a_short_worked_example():
    """Short 100 at $200 with $4,000: equity 24,000 - 100 P < 10.2 P above
    P = 24,000 / 110.2 = $217.7858..."""
    pos = Position(-usd(100), usd(200), usd(4_000), 0)
    liq = liquidation_price(pos, 0, P)
    assert abs(Decimal(liq) / WAD - Decimal(24_000) / Decimal("110.2")) < Decimal("1e-15")
    assert is_liquidatable(pos, liq, 0, P) and not is_liquidatable(pos, liq - 1, 0, P)


def test_liquidation_price_counts_funding_and_the_keeper_minimum():
    """$10 of funding owed moves a 1-share long's threshold up by $10 / 0.898; at that size
    the keeper's reward is its $2 minimum, not 0.2% of notional."""
    pos = Position(usd(1), usd(200), usd(40), usd(-10))  # index 0: owes 1 x (0 - -10) = $10
    liq = liquidation_price(pos, 0, P)
    # 40 - 10 + (P - 200) < 0.1 P + 2  =>  P < 172 / 0.9
    assert abs(Decimal(liq) / WAD - Decimal(172) / Decimal("0.9")) < Decimal("1e-15")


def test_no_liquidation_price_for_an_unleveraged_long():
    assert liquidation_price(Position(usd(1), usd(200), usd(300), 0), 0, P) is None
    assert liquidation_price(Position(0, 0, usd(300), 0), 0, P) is None


@given(
    size=st.integers(1, 10**7),
    entry=st.integers(1, 10**5),
    margin=st.integers(0, 10**9),
    funding=st.integers(-(10**4), 10**4),
    long=st.booleans(),
)
def test_liquidation_price_is_the_boundary(size, entry, margin, funding, long):
    """At the returned price the position is liquidatable, one wei on the safe side it is not."""
    pos = Position((1 if long else -1) * size * 10**15, entry * WAD, margin * 10**15, funding)
    liq = liquidation_price(pos, 0, P)
    if liq is None:
        assert long and not is_liquidatable(pos, 0, 0, P)
        return
    assert is_liquidatable(pos, liq, 0, P)
    if long:
        assert not is_liquidatable(pos, liq + 1, 0, P)
    elif liq > 0:
        assert not is_liquidatable(pos, liq - 1, 0, P)


def test_vault_liquidation_price_worked_example():
    """1,500 USDC against 5 shares, liquidated under 125%: above 1,500 / (5 x 1.25) = $240."""
    p = VaultParams()
    liq = vault_liquidation_price(1_500 * 10**6, usd(5), p, 10**12)
    assert liq == usd(240) + 1
    assert is_below(1_500 * WAD, usd(5), liq, p.liquidation_ratio_bps)
    assert not is_below(1_500 * WAD, usd(5), liq - 1, p.liquidation_ratio_bps)
    assert vault_liquidation_price(1_500 * 10**6, 0, p, 10**12) is None


# ---- PerpModel: the contract's entry points, worked by hand -----------------------------------

UPU = 10**12  # a 6-decimal stablecoin
T0 = 1_000


def market(**balances: int) -> PerpModel:
    """SPEC.md defaults (skew scale 1,000,000), $200 OPEN at T0, the pool holding $1M."""
    mk = PerpModel(UPU, MarketParams(), funding=FundingState(0, 0, T0))
    for who, dollars in {"pool": 1_000_000, "trader": 10_000, **balances}.items():
        mk.mint_tokens(who, dollars * 10**6)
    mk.observe(usd(200), T0, OPEN)
    return mk


def test_a_fill_moves_every_token_unit():
    """Deposit $5,000, buy 10 shares: $1 keeper fee escrowed at the commit; filled at the next
    price at $200 x (1 + 10 / 1,000,000 / 2) = $200.001 with a 10 bps taker fee; the keeper
    gets its $1."""
    mk = market()
    assert isinstance(mk.deposit_margin("trader", 5_000 * 10**6, T0), Done)
    assert mk.commit_order("trader", usd(10), 2**255, T0) == Done()
    assert mk.execute_order("keeper", "trader", T0) == Reverted("perp: no newer price")
    mk.observe(usd(200), T0 + 1, OPEN)
    out = mk.execute_order("keeper", "trader", T0 + 1)
    fill = fill_price(usd(200), 0, usd(10), P)
    fee = order_fee(0, usd(10), fill, P)
    assert out == Filled(usd(10), fill, fee, usd(10))
    assert fill == usd("200.001") and fee == ceil_div(10 * fill * 10, 10_000)
    pos = mk.position("trader")
    # the fee leaves the margin (rounded up to a token unit, the dust with it) for the pool
    units, dust = settlement_units(-fee, UPU)
    assert pos.margin == usd(5_000) - WAD - fee - dust
    assert mk.balance_of("keeper") == 10**6
    assert mk.balance_of("pool") == 1_000_000 * 10**6 - units
    assert mk.balance_of("market") == 5_000 * 10**6 - 10**6 + units
    assert mk.open_interest() == (usd(10), 0) and mk.skew == usd(10)


def test_reverts_change_nothing_and_carry_the_contract_reason():
    mk = market()
    before = repr(mk)
    assert mk.deposit_margin("trader", 0, T0) == Reverted("perp: zero amount")
    assert mk.commit_order("trader", usd(1), 0, T0) == Reverted("perp: margin below keeper fee")
    assert mk.deposit_margin("nobody", 1, T0) == Reverted("erc20: transfer amount exceeds balance")
    assert mk.withdraw_margin("trader", 1, T0) == Reverted("perp: exceeds withdrawable")
    mk.observe(usd(200), T0, CLOSED)
    assert mk.commit_order("trader", usd(1), 0, T0) == Reverted("market closed")
    mk.observe(usd(200), T0, OPEN)
    assert mk.commit_order("trader", usd(1), 0, T0 + 121) == Reverted("stale price")
    fresh = market()
    assert repr(dataclasses.replace(mk, oracle=fresh.oracle, rounds=fresh.rounds)) == before
    assert mk.set_params(MarketParams(order_max_age=5)) == Reverted("perp: order age")


def test_cancellations_pay_the_keeper_and_keep_the_margin():
    mk = market()
    mk.deposit_margin("trader", 5_000 * 10**6, T0)
    mk.commit_order("trader", usd(10), usd(200), T0)  # the premium makes the fill > $200
    mk.observe(usd(200), T0 + 1, OPEN)
    assert mk.execute_order("keeper", "trader", T0 + 1) == Cancelled("price")
    assert mk.position("trader").margin == usd(4_999) and mk.balance_of("keeper") == 10**6
    mk.commit_order("trader", usd(10), 2**255, T0 + 1)
    assert mk.cancel_order("keeper", "trader", T0 + 121) == Reverted("perp: order live")
    mk.observe(usd(200), T0 + 200, OPEN)
    # after the window the order cannot fill (no free look): only cancel_order removes it
    assert mk.execute_order("keeper", "trader", T0 + 200) == Reverted("perp: order expired")
    assert mk.cancel_order("keeper", "trader", T0 + 200) == Cancelled("expired")
    assert mk.balance_of("keeper") == 2 * 10**6 and mk.orders == {}


def test_an_order_fills_at_the_first_usable_round_after_its_commit():
    """Committed at T0 when round 1 was the latest: round 2 is HALTED (not usable), round 3
    ($201, OPEN) is the fill round, whoever executes whenever within the window — rounds 4
    and 5 ($230, $170) change nothing."""
    mk = market()
    mk.deposit_margin("trader", 5_000 * 10**6, T0)
    assert mk.commit_order("trader", usd(10), 2**256 - 1, T0) == Done()
    order = mk.pending_order("trader")
    assert order.round_id == 1 and order.acceptable_price == ORDER_PRICE_MAX  # saturated
    assert mk.execute_order("keeper", "trader", T0) == Reverted("perp: no newer price")
    mk.observe(usd(199), T0 + 1, HALTED)
    assert mk.execute_order("keeper", "trader", T0 + 1) == Reverted("market halted")
    mk.observe(usd(201), T0 + 2, OPEN)
    expected = fill_price(usd(201), 0, usd(10), P)
    assert mk.fill_round(order) == OracleReading(usd(201), T0 + 2, OPEN, 3)
    for t, price in ((T0 + 3, 230), (T0 + 4, 170)):
        mk.observe(usd(price), t, OPEN)
        early, late = copy.deepcopy(mk), copy.deepcopy(mk)
        out_early = early.execute_order("keeper", "trader", T0 + 4)
        out_late = late.execute_order("outsider", "trader", T0 + 120)
        assert out_early.fill_price == out_late.fill_price == expected  # type: ignore[union-attr]


def test_the_fill_round_scan_is_bounded_and_reads_what_the_oracle_keeps():
    rounds = {i: OracleReading(usd(200), T0 + i, HALTED, i) for i in range(1, 12)}
    rounds[10] = OracleReading(usd(200), T0 + 10, OPEN, 10)
    # round 10 is the 9th after round 1: out of the scan's reach
    with pytest.raises(PerpRevert, match="market halted"):
        fill_round(rounds, 11, 1, T0 + 1)
    assert fill_round(rounds, 11, 2, T0 + 2).round_id == 10  # the 8th after round 2
    assert fill_round(rounds, 11, 9, T0 + 9).round_id == 10
    # a round observed at or before the commit (pushed in its block) is never the fill
    with pytest.raises(PerpRevert, match="market halted"):
        fill_round(rounds, 11, 9, T0 + 10)
    with pytest.raises(PerpRevert, match="perp: no newer price"):
        fill_round(rounds, 11, 9, T0 + 11)
    closed = {2: OracleReading(usd(200), T0 + 2, CLOSED, 2)}
    with pytest.raises(PerpRevert, match="market closed"):
        fill_round(closed, 2, 1, T0)
    with pytest.raises(PerpRevert, match="oracle: round evicted"):
        fill_round({}, 200, 1, T0)


def test_a_liquidation_under_water_draws_on_the_insurance_fund_then_the_pool():
    """Long 100 at ~$200 with ~$4,000 and the price at $150: equity about -$1,000, closed
    whole; the insurance fund's $300 covers the keeper's $30 first, the rest of the loss is
    the pool's (recorded in `pool_shortfall`)."""
    mk = market(insurance=300)
    mk.deposit_margin("trader", 4_100 * 10**6, T0)
    mk.commit_order("trader", usd(100), 2**255, T0)
    mk.observe(usd(200), T0 + 1, OPEN)
    assert isinstance(mk.execute_order("keeper", "trader", T0 + 1), Filled)
    mk.observe(usd(150), T0 + 2, OPEN)
    assert mk.is_liquidatable("trader", T0 + 2)
    pool_before, margin = mk.balance_of("pool"), mk.position("trader").margin
    out = mk.liquidate("keeper", "trader", T0 + 2)
    assert isinstance(out, Liquidated) and out.closed == usd(100)
    assert out.reward == usd(30) and out.penalty == 0
    assert mk.position("trader") == Position(0, usd(150), 0, mk.funding.index)
    assert mk.balance_of("insurance") == 0
    assert mk.balance_of("keeper") == 10**6 + 30 * 10**6  # the fee, then the whole reward
    assert out.shortfall > 0 and mk.pool_shortfall == out.shortfall - usd(300)
    # the pool gets the whole margin and the fund's $270 left after the keeper
    assert mk.balance_of("pool") == pool_before + (margin + usd(270)) // UPU


def test_nightly_withdraw_keeps_the_minimum_margin_in_the_model_too():
    """Found by the nightly perp run (PerpModel only; the contract was right): the model's
    `withdraw_margin` kept only the IMR, so a small position could be left under its
    minimum margin ($20) or within the liquidation threshold, where the market refuses
    "perp: exceeds withdrawable". Here: 0.25 shares at $200 ($50 notional, IMR $10,
    threshold $5 + the $2 reward, minimum $20) with ~$30 of margin."""
    mk = market()
    mk.deposit_margin("trader", 31 * 10**6, T0)  # $1 of it escrowed for the keeper
    mk.commit_order("trader", usd("0.25"), 2**255, T0)
    mk.observe(usd(200), T0 + 1, OPEN)
    assert isinstance(mk.execute_order("keeper", "trader", T0 + 1), Filled)
    free = mk.withdrawable_units("trader", T0 + 1)
    pos = mk.position("trader")
    need = min_equity(pos.size, usd(200), P.initial_margin_bps, P)
    assert need == P.min_margin_usd > requirement(pos.size, usd(200), P.initial_margin_bps)
    assert free == withdrawable(pos, usd(200), mk.index_at(usd(200), T0 + 1), P) // UPU
    assert free * UPU <= pos.margin - need
    assert mk.withdraw_margin("trader", free + 1, T0 + 1) == Reverted("perp: exceeds withdrawable")
    assert mk.withdraw_margin("trader", free, T0 + 1) == Done()


def test_liquidation_penalties_wait_for_a_sweep_and_a_cover_sweeps_first():
    """The market holds each liquidation's penalty for the insurance fund (`insurance_due`);
    `sweep_insurance` sends it; a cover sweeps first, so the fund pays with it."""
    mk = market(other=10_000)
    for who in ("trader", "other"):
        mk.deposit_margin(who, 4_200 * 10**6, T0)
        mk.commit_order(who, usd(100), 2**255, T0)
    mk.observe(usd(200), T0 + 1, OPEN)
    for who in ("trader", "other"):
        assert isinstance(mk.execute_order("keeper", who, T0 + 1), Filled)
    mk.observe(usd(176), T0 + 2, OPEN)
    out = mk.liquidate("keeper", "trader", T0 + 2)
    assert isinstance(out, Liquidated) and out.penalty > 0
    due = out.penalty // UPU
    assert mk.insurance_due == due and mk.balance_of("insurance") == 0
    mk.observe(usd(150), T0 + 3, OPEN)
    mk.observe(usd(125), T0 + 4, OPEN)
    under = mk.liquidate("keeper", "other", T0 + 4)
    assert isinstance(under, Liquidated) and under.shortfall > 0
    assert mk.insurance_due == 0 and mk.balance_of("insurance") == 0  # swept, then spent
    assert mk.sweep_insurance() == Done(0)


def test_delisting_freezes_the_price_and_closes_at_it():
    mk = market()
    mk.deposit_margin("trader", 5_000 * 10**6, T0)
    mk.commit_order("trader", -usd(10), 0, T0)
    mk.observe(usd(200), T0 + 1, OPEN)
    mk.execute_order("keeper", "trader", T0 + 1)
    mk.commit_order("trader", usd(10), 2**255, T0 + 1)
    mk.observe(usd(180), T0 + 2, CLOSED)  # a delisted stock's last print
    assert mk.settle(T0 + 5, authorized=False) == Reverted(
        "access_control: account is missing role"
    )
    assert mk.settle(T0 + 5) == Done() and mk.settlement_price == usd(180)
    assert mk.funding_state() == (0, mk.funding.index, T0 + 5)
    assert mk.execute_order("keeper", "trader", T0 + 9) == Cancelled("settled")
    assert mk.commit_order("trader", usd(1), 0, T0 + 9) == Reverted("perp: settled")
    assert mk.withdraw_margin("trader", 1, T0 + 9) == Reverted("perp: close first")
    assert not mk.lp_open(T0 + 9)
    out = mk.settle_position("anyone", "trader", T0 + 9)
    assert isinstance(out, Closed) and out.size == -usd(10) and out.shortfall == 0
    assert mk.lp_open(T0 + 9) and mk.pool_pnl(T0 + 9) == 0
    units = mk.position("trader").margin // UPU
    assert mk.withdraw_margin("trader", units, T0 + 9) == Done()


def test_nightly_an_execution_accrues_funding_at_its_fill_rounds_price():
    """Found by the nightly perp run (usd18; the contract and the model agreed, the attacker
    machine's allowance did not): `execute_order` accrues the market's funding to now at the
    order's fill-round price, not at the latest one. A trader's view of its equity at the
    latest price (`index_at`) therefore moves when any order executes: here a short of 100
    shares on a long skew, an order committed at $200 whose fill round says $200 while the
    latest round says $190, executed a minute later — the short's funding credit is
    accrued at $200 over that minute. Second order (rate x price difference x seconds since
    the market's last touch); the machine now counts it as the funding an execution credits
    (`_accrual_credit`), beside the funding a push credits. docs/design/perp-orders.md."""
    mk = market(other=100_000, short=10_000)
    for who, dollars in (("other", 90_000), ("short", 5_000)):
        assert isinstance(mk.deposit_margin(who, dollars * 10**6, T0), Done)
    mk.commit_order("other", usd(1_000), 2**255, T0)  # a long skew: shorts receive funding
    mk.commit_order("short", -usd(100), 0, T0)
    mk.observe(usd(200), T0 + 1, OPEN)
    for who in ("other", "short"):
        assert isinstance(mk.execute_order("keeper", who, T0 + 1), Filled)
    mk.observe(usd(200), T0 + 3_599, OPEN)  # an hour later, a fresh price to commit on
    mk.deposit_margin("trader", 5 * 10**6, T0 + 3_600)  # $4 after the fee: cancelled at the fill
    assert mk.commit_order("trader", usd(1), 2**255, T0 + 3_600) == Done()
    mk.observe(usd(200), T0 + 3_601, OPEN)  # the order's fill round
    mk.observe(usd(190), T0 + 3_602, OPEN)  # the latest
    now = T0 + 3_660
    view = mk.index_at(usd(190), now)  # what a trader's equity uses before the execution
    at_fill = accrue_funding(mk.funding, mk.skew, usd(200), now, mk.math).index
    assert at_fill > view  # the long skew's rate is positive: more accrued at $200
    mk.execute_order("keeper", "trader", now)
    assert mk.funding.index == at_fill and mk.funding.updated_at == now
    short = mk.position("short")
    credit = funding_owed(short.size, view, short.funding_entry) - funding_owed(
        short.size, mk.index_at(usd(190), now), short.funding_entry
    )
    assert 0 < credit < usd("0.01")  # the short's equity rose by a fraction of a cent
