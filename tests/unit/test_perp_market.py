"""PerpMarket (docs/spec.md §4, §5) — first slice: margin, two-step orders at the first price after
the commit (not the latest; only cancellable after their window), skew-priced fills and fees
against the model, slippage/expiry cancellations,
Mango (no withdrawal of paper profit), liquidation back to the IMR, market hours, and NAV from
aggregates. 6- and 18-decimal collateral."""

import ape
import pytest

from synthequity.constants import MarketStatus
from synthequity.model import perp as m

WAD = m.WAD
P = m.PerpParams()


@pytest.fixture(autouse=True)
def _setup(funded_perp):
    """lp, trader, outsider funded; $200; $5M in the pool (tests/conftest.py)."""


def shares(n):
    return int(n * WAD)


def after(tx):
    """Make the next block (and so the next price) strictly newer than `tx`."""
    from ape import chain

    chain.pending_timestamp = max(chain.pending_timestamp, tx.timestamp + 1)


def commit_and_fill(market, trader, keeper, push, size, price=200, acceptable=None):
    acceptable = acceptable if acceptable is not None else (2**255 if size > 0 else 0)
    after(market.commit_order(size, acceptable, sender=trader))
    push(price)  # the first price published after the commit
    return market.execute_order(trader, sender=keeper)


def test_margin_in_and_out_with_events(perp, stablecoin, trader, usd):
    _, market = perp
    tx = market.deposit_margin(usd(1_000), sender=trader)
    assert market.MarginDeposited(account=trader, amount=usd(1_000)) in tx.events
    assert market.position(trader).margin == 1_000 * WAD
    tx = market.withdraw_margin(usd(400), sender=trader)
    assert market.MarginWithdrawn(account=trader, amount=usd(400)) in tx.events
    assert market.position(trader).margin == 600 * WAD
    with ape.reverts("perp: exceeds withdrawable"):
        market.withdraw_margin(usd(600) + 1, sender=trader)
    with ape.reverts("perp: zero amount"):
        market.deposit_margin(0, sender=trader)


def test_order_fills_at_the_model_price_with_the_model_fee(perp, trader, keeper, push, usd):
    _, market = perp
    market.deposit_margin(usd(10_000), sender=trader)
    tx = commit_and_fill(market, trader, keeper, push, shares(100), price=201)
    fill = m.fill_price(201 * WAD, 0, shares(100), P)
    fee = m.order_fee(0, shares(100), fill, P)
    ev = tx.events.filter(market.OrderFilled)[0]
    assert (ev.fill_price, ev.fee, ev.size) == (fill, fee, shares(100))
    pos = market.position(trader)
    assert (pos.size, pos.entry_price) == (shares(100), fill)
    assert pos.margin == 10_000 * WAD - WAD - fee  # minus the keeper fee escrowed at commit
    assert market.skew() == shares(100) and tuple(market.open_interest()) == (shares(100), 0)
    assert market.pending_order(trader).committed_at == 0


def test_a_commit_never_fills_at_the_price_it_saw(perp, trader, keeper, push, usd):
    """Synthetix front-running: the order waits for a price published after the commit."""
    _, market = perp
    market.deposit_margin(usd(10_000), sender=trader)
    tx = market.commit_order(shares(10), 2**255, sender=trader)
    with ape.reverts("perp: no newer price"):
        market.execute_order(trader, sender=keeper)
    after(tx)
    push(210)
    market.execute_order(trader, sender=keeper)
    assert market.position(trader).entry_price == m.fill_price(210 * WAD, 0, shares(10), P)


def test_one_pending_order_and_margin_for_the_keeper_fee(perp, trader, outsider, push, usd):
    _, market = perp
    with ape.reverts("perp: margin below keeper fee"):
        market.commit_order(shares(1), 2**255, sender=outsider)
    market.deposit_margin(usd(1_000), sender=trader)
    market.commit_order(shares(1), 2**255, sender=trader)
    with ape.reverts("perp: order pending"):
        market.commit_order(shares(1), 2**255, sender=trader)
    with ape.reverts("perp: zero size"):
        market.commit_order(0, 0, sender=outsider)


def test_slippage_cancels_and_pays_the_keeper(perp, stablecoin, trader, keeper, push, usd):
    _, market = perp
    market.deposit_margin(usd(1_000), sender=trader)
    before = stablecoin.balanceOf(keeper)
    tx = commit_and_fill(market, trader, keeper, push, shares(1), price=205, acceptable=202 * WAD)
    assert tx.events.filter(market.OrderCancelled)[0].reason == "price"
    assert stablecoin.balanceOf(keeper) - before == usd(1)
    assert market.position(trader).size == 0 and market.pending_order(trader).committed_at == 0


def test_after_the_window_an_order_only_cancels(
    perp, stablecoin, trader, keeper, outsider, push, usd, chain
):
    """No free look (issue 15, finding 7): past `order_max_age` execute_order refuses, even
    with a price from within the window; only cancel_order removes the order and pays its
    caller the keeper fee."""
    _, market = perp
    market.deposit_margin(usd(1_000), sender=trader)
    tx = market.commit_order(shares(1), 2**255, sender=trader)
    with ape.reverts("perp: order live"):
        market.cancel_order(trader, sender=outsider)
    after(tx)
    push(200)  # a price within the window ...
    chain.mine(1, timestamp=tx.timestamp + 121)  # ... and the window is over
    with ape.reverts("perp: order expired"):
        market.execute_order(trader, sender=keeper)
    push(200)
    with ape.reverts("perp: order expired"):
        market.execute_order(trader, sender=keeper)
    before = stablecoin.balanceOf(outsider)
    tx = market.cancel_order(trader, sender=outsider)
    assert tx.events.filter(market.OrderCancelled)[0].reason == "expired"
    assert stablecoin.balanceOf(outsider) - before == usd(1)
    assert market.position(trader).size == 0 and market.pending_order(trader).committed_at == 0


def test_an_order_fills_at_the_first_usable_round_after_its_commit(
    perp, oracle, trader, keeper, outsider, push, usd
):
    """The fill price is a function of the commit (issue 15, finding 7): the first round after
    it is HALTED (refused with its reason), the second ($201, OPEN) is the fill round; later
    rounds ($230) change nothing, whoever executes."""
    _, market = perp
    market.deposit_margin(usd(10_000), sender=trader)
    tx = market.commit_order(shares(10), 2**256 - 1, sender=trader)  # any bound is valid
    order = market.pending_order(trader)
    assert order.round_id == oracle.latestRound()
    assert order.acceptable_price == 2**192 - 1  # saturated, not refused
    after(tx)
    push(199, status=MarketStatus.HALTED)
    with ape.reverts("market halted"):
        market.execute_order(trader, sender=keeper)
    push(201)
    push(230)
    assert market.pending_order(trader).committed_at  # still waiting
    market.execute_order(trader, sender=outsider)
    assert market.position(trader).entry_price == m.fill_price(201 * WAD, 0, shares(10), P)


def test_orders_need_an_open_market(perp, trader, keeper, push, usd):
    _, market = perp
    market.deposit_margin(usd(1_000), sender=trader)
    market.commit_order(shares(1), 2**255, sender=trader)
    push(200, status=MarketStatus.CLOSED)
    with ape.reverts("market closed"):
        market.execute_order(trader, sender=keeper)
    with ape.reverts("market closed"):
        market.withdraw_margin(1, sender=trader)
    push(200, status=MarketStatus.HALTED)
    with ape.reverts("market halted"):
        market.commit_order(shares(1), 2**255, sender=keeper)
    market.deposit_margin(usd(1), sender=trader)  # margin in: always


def test_paper_profit_is_never_withdrawable(perp, trader, keeper, push, usd):
    """Mango: the price doubles, the position shows a large profit, none of it leaves."""
    _, market = perp
    market.deposit_margin(usd(2_000), sender=trader)
    commit_and_fill(market, trader, keeper, push, shares(40))  # $8,000 at ~4x
    push(240)
    assert market.equity(trader) > 3_000 * WAD
    margin = market.position(trader).margin
    required = m.requirement(shares(40), 240 * WAD, P.initial_margin_bps)
    with ape.reverts("perp: exceeds withdrawable"):
        market.withdraw_margin(usd(300), sender=trader)
    assert margin - required < 300 * WAD


def test_closing_a_winner_is_paid_by_the_pool(perp, stablecoin, trader, keeper, push, usd):
    pool, market = perp
    market.deposit_margin(usd(5_000), sender=trader)
    commit_and_fill(market, trader, keeper, push, shares(50))
    pool_before = stablecoin.balanceOf(pool)
    commit_and_fill(market, trader, keeper, push, -shares(50), price=220)
    pos = market.position(trader)
    assert pos.size == 0 and market.skew() == 0 and market.open_interest()[0] == 0
    gain = pos.margin - (5_000 - 2) * WAD  # two keeper fees
    assert gain > 900 * WAD  # ~$1,000 less fees and premium
    assert pool_before - stablecoin.balanceOf(pool) > usd(900)
    assert market.pool_pnl() == 0  # nothing open: nothing unrealized


def test_liquidation_restores_the_imr(
    perp, stablecoin, core, trader, keeper, liquidator, push, usd
):
    _, market = perp
    market.deposit_margin(usd(4_200), sender=trader)
    commit_and_fill(market, trader, keeper, push, shares(100))  # ~$20,000 at ~5x
    push(182)
    assert not market.is_liquidatable(trader)
    push(176)
    assert market.is_liquidatable(trader) and market.liquidatable([trader, keeper]) == [True, False]
    pos = market.position(trader)
    eq = market.equity(trader)
    before = stablecoin.balanceOf(liquidator)
    tx = market.liquidate(trader, sender=liquidator)
    ev = tx.events.filter(market.PositionLiquidated)[0]
    index = market.funding_state()[1]  # accrued by the liquidation itself, at its block
    want = m.liquidation_size(
        m.Position(pos.size, pos.entry_price, pos.margin, pos.funding_entry), 176 * WAD, index, P
    )
    assert ev.closed == want and 0 < ev.closed < shares(100)
    assert ev.reward == m.keeper_reward(shares(100), 176 * WAD, P)
    assert stablecoin.balanceOf(liquidator) - before == ev.reward // (
        WAD // 10 ** stablecoin.decimals()
    )
    left = market.position(trader)
    assert left.size == shares(100) - ev.closed
    need = m.requirement(left.size, 176 * WAD, P.initial_margin_bps)
    assert market.equity(trader) >= need - WAD // 10**6
    assert not market.is_liquidatable(trader)
    assert eq > 0


def _two_longs_at_176(market, trader, outsider, keeper, push, usd):
    for who in (trader, outsider):
        market.deposit_margin(usd(4_200), sender=who)
        commit_and_fill(market, who, keeper, push, shares(100))
    push(176)


def test_liquidation_penalties_wait_in_the_market_for_anyone_to_sweep(
    perp, core, stablecoin, trader, keeper, liquidator, outsider, push, usd
):
    """A liquidation holds its penalty for the insurance fund (one storage word instead of a
    transfer: docs/design/perp.md); anyone sweeps it to the fund, once."""
    _, market = perp
    fund, unit = core.insurance, WAD // 10 ** stablecoin.decimals()
    _two_longs_at_176(market, trader, outsider, keeper, push, usd)
    funded = stablecoin.balanceOf(fund)
    ev = market.liquidate(trader, sender=liquidator).events.filter(market.PositionLiquidated)[0]
    due = ev.penalty // unit
    assert due > 0 and market.insurance_due() == due
    assert stablecoin.balanceOf(fund) == funded  # nothing moved to the fund yet
    held = stablecoin.balanceOf(market)
    tx = market.sweep_insurance(sender=outsider)
    assert [(e.by, e.units) for e in tx.events.filter(market.InsuranceSwept)] == [(outsider, due)]
    assert stablecoin.balanceOf(fund) == funded + due
    assert stablecoin.balanceOf(market) == held - due and market.insurance_due() == 0
    again = market.sweep_insurance(sender=outsider)  # nothing held: no transfer, no event
    assert not list(again.events.filter(market.InsuranceSwept))
    assert stablecoin.balanceOf(fund) == funded + due


def test_a_cover_sweeps_the_held_penalties_first(
    perp, core, stablecoin, trader, keeper, liquidator, outsider, push, usd
):
    """Bad debt after a fall: the insurance fund pays with the penalties it was owed, as if
    each liquidation had transferred them."""
    _, market = perp
    unit = WAD // 10 ** stablecoin.decimals()
    _two_longs_at_176(market, trader, outsider, keeper, push, usd)
    ev = market.liquidate(trader, sender=liquidator).events.filter(market.PositionLiquidated)[0]
    due = ev.penalty // unit
    push(150)
    push(125)  # the other long's loss is beyond its margin
    tx = market.liquidate(outsider, sender=liquidator)
    assert tx.events.filter(market.PositionLiquidated)[0].shortfall > 0
    assert [e.units for e in tx.events.filter(market.InsuranceSwept)] == [due]
    assert market.insurance_due() == 0


def test_no_liquidation_while_closed(perp, trader, keeper, liquidator, push, usd):
    _, market = perp
    market.deposit_margin(usd(4_200), sender=trader)
    commit_and_fill(market, trader, keeper, push, shares(100))
    push(170, status=MarketStatus.CLOSED)
    assert not market.is_liquidatable(trader)
    with ape.reverts("market closed"):
        market.liquidate(trader, sender=liquidator)


def test_pool_nav_from_aggregates_matches_positions(
    perp, stablecoin, trader, outsider, keeper, push, usd
):
    """GMX v1: the pool's NAV reads aggregates; they must equal the sum over positions."""
    pool, market = perp
    market.deposit_margin(usd(50_000), sender=trader)
    market.deposit_margin(usd(50_000), sender=outsider)
    commit_and_fill(market, trader, keeper, push, shares(300))
    after(market.commit_order(-shares(120), 0, sender=outsider))
    push(203)
    market.execute_order(outsider, sender=keeper)
    push(196)
    price = 196 * WAD
    from ape import chain

    accrued = m.accrue_funding(
        m.FundingState(market.funding_rate(), market.funding_state()[1], market.funding_state()[2]),
        market.skew(),
        price,
        chain.blocks.head.timestamp,
        P,
    )
    index = accrued.index  # what the view accrues to its block
    per_position = 0
    for who in (trader, outsider):
        pos = market.position(who)
        per_position += -m.pnl(m.Position(pos.size, pos.entry_price, 0, 0), price)
        per_position += m.funding_owed(pos.size, index, pos.funding_entry)
    unit = WAD // 10 ** stablecoin.decimals()
    assert abs(market.pool_pnl() - per_position // unit) <= 2
    assert pool.totalAssets() == stablecoin.balanceOf(pool) + market.pool_pnl()


def test_commit_emits_and_escrows_the_keeper_fee(perp, oracle, trader, usd):
    _, market = perp
    market.deposit_margin(usd(100), sender=trader)
    tx = market.commit_order(shares(2), 250 * WAD, sender=trader)
    ev = tx.events.filter(market.OrderCommitted)[0]
    assert (ev.account, ev.size_delta, ev.acceptable_price) == (trader, shares(2), 250 * WAD)
    order = market.pending_order(trader)
    assert (order.size_delta, order.keeper_fee, order.committed_at, order.round_id) == (
        shares(2),
        WAD,
        tx.timestamp,
        oracle.latestRound(),  # the fill will be a later round
    )
    assert market.position(trader).margin == 99 * WAD


def test_funding_over_three_days_of_constant_skew_on_chain(
    perp, trader, keeper, push, usd, chain, risk_admin
):
    """The model's worked example, on the contract: a skew of 10% of the scale held for 3 days
    at $200 moves the index by $2.70 per share and the rate to 0.9%/day. (Scale 40,000
    shares here, so that the 4,000-share skew fits the $5M pool's 25% cap.)"""
    import dataclasses

    _, market = perp
    params = dataclasses.replace(P, skew_scale=40_000 * WAD)
    market.set_params(m.MarketParams(math=params).as_tuple(), sender=risk_admin)
    market.deposit_margin(usd(1_000_000), sender=trader)
    commit_and_fill(market, trader, keeper, push, shares(4_000), price=200)
    assert market.skew() == shares(4_000) and market.funding_rate() == 0
    start_index, start = market.funding_state()[1], market.funding_state()[2]
    chain.pending_timestamp = start + 3 * 86_400
    push(200)
    after(market.commit_order(shares(1), 2**255, sender=trader))
    push(200)
    market.execute_order(trader, sender=keeper)  # accrues funding (skew 4,000 until now)
    now = market.funding_state()[2]
    expected = m.accrue_funding(
        m.FundingState(0, start_index, start), shares(4_000), 200 * WAD, now, params
    )
    assert market.funding_state()[1] == expected.index and market.funding_rate() == expected.rate
    assert abs(expected.index - start_index - int(2.7 * WAD)) < WAD // 1_000  # ~$2.70
    assert abs(expected.rate - 9 * WAD // 1_000) < WAD // 100_000  # ~0.9%/day


def test_open_interest_caps_cancel_instead_of_reverting(
    perp, trader, keeper, push, usd, risk_admin
):
    _, market = perp
    capped = m.MarketParams(max_oi_long_usd=10_000 * WAD)
    tx = market.set_params(capped.as_tuple(), sender=risk_admin)
    assert market.MarketParamsSet(by=risk_admin) in tx.events
    market.deposit_margin(usd(10_000), sender=trader)
    tx = commit_and_fill(market, trader, keeper, push, shares(60))  # $12,000 > $10,000
    assert tx.events.filter(market.OrderCancelled)[0].reason == "open interest"
    tx = commit_and_fill(market, trader, keeper, push, shares(40))
    assert market.position(trader).size == shares(40)


def test_growing_beyond_5x_cancels_for_margin(perp, trader, keeper, push, usd):
    _, market = perp
    market.deposit_margin(usd(1_000), sender=trader)
    tx = commit_and_fill(market, trader, keeper, push, shares(30))  # $6,000 on ~$999: 6x
    assert tx.events.filter(market.OrderCancelled)[0].reason == "margin"
    assert market.position(trader).size == 0


@pytest.mark.parametrize(
    "change, reason",
    [
        (dict(maintenance_margin_bps=2_000), "perp: margin bounds"),
        (dict(liquidation_penalty_bps=1_000), "perp: penalty bounds"),
        (dict(taker_fee_bps=1_000), "perp: fee bounds"),
        (dict(skew_scale=0), "perp: skew scale"),
        (dict(max_funding_rate=0), "perp: funding bounds"),
        (dict(min_margin_usd=3 * WAD - 1), "perp: min margin"),  # < min keeper + order fee
        (dict(min_margin_usd=10_000 * WAD + m.MICRO), "perp: min margin"),
        (dict(min_margin_usd=20 * WAD + 1), "perp: min margin"),  # not whole micro-USD
        (dict(skew_scale=2**95), "perp: overflow"),  # 96 bits: math in two words
        (dict(max_keeper_fee=2**64 * m.MICRO), "perp: overflow"),
        (dict(max_keeper_fee=100 * WAD + 1), "perp: keeper bounds"),  # whole micro-USD
        (dict(min_keeper_fee=2 * WAD - 1), "perp: keeper bounds"),
    ],
)
def test_params_have_hard_bounds(perp, risk_admin, guardian, change, reason):
    import dataclasses

    _, market = perp
    bad = m.MarketParams(math=dataclasses.replace(P, **change))
    with ape.reverts(reason):
        market.set_params(bad.as_tuple(), sender=risk_admin)
    with ape.reverts("access_control: account is missing role"):
        market.set_params(m.MarketParams().as_tuple(), sender=guardian)


def test_pause_stops_growing_orders_only(
    perp, stablecoin, trader, keeper, push, usd, guardian, risk_admin
):
    """docs/spec.md §8: the guardian's pause refuses orders that grow or flip a position (at
    commit; one committed before the pause is cancelled at execution, "paused", its keeper
    paid), never a reduction, a close, or margin in and out."""
    _, market = perp
    market.deposit_margin(usd(5_000), sender=trader)
    commit_and_fill(market, trader, keeper, push, shares(10))
    after(market.commit_order(shares(5), 2**255, sender=trader))  # before the pause
    assert market.pause(sender=guardian).events == [market.Paused(account=guardian)]
    push(200)
    before = stablecoin.balanceOf(keeper)
    tx = market.execute_order(trader, sender=keeper)
    assert tx.events.filter(market.OrderCancelled)[0].reason == "paused"
    assert stablecoin.balanceOf(keeper) - before == usd(1)
    for grow in (shares(1), -shares(11)):  # more, or a flip to short
        with ape.reverts("pausable: contract is paused"):
            market.commit_order(grow, 2**255 if grow > 0 else 0, sender=trader)
    tx = commit_and_fill(market, trader, keeper, push, -shares(4))
    assert tx.events.filter(market.OrderFilled)[0].size == shares(6)
    tx = commit_and_fill(market, trader, keeper, push, -shares(6))
    assert tx.events.filter(market.OrderFilled)[0].size == 0
    market.deposit_margin(usd(1), sender=trader)
    market.withdraw_margin(usd(1), sender=trader)
    with ape.reverts("access_control: account is missing role"):
        market.unpause(sender=guardian)
    market.unpause(sender=risk_admin)


def test_a_fill_keeps_the_minimum_margin(perp, trader, keeper, push, usd):
    """docs/spec.md §4 "Minimum size": a $2 long on $9.50 of margin is cancelled ("margin"),
    the same long on $21.10 fills with just over the $20 minimum and is not liquidatable."""
    _, market = perp
    market.deposit_margin(usd(10.50), sender=trader)  # $9.50 after the order's keeper fee
    tx = commit_and_fill(market, trader, keeper, push, WAD // 100)
    assert tx.events.filter(market.OrderCancelled)[0].reason == "margin"
    market.deposit_margin(usd(11.60), sender=trader)  # $20.10 after the next keeper fee
    commit_and_fill(market, trader, keeper, push, WAD // 100)
    assert market.position(trader).size == WAD // 100
    assert 20 * WAD <= market.equity(trader) < 21 * WAD
    assert not market.is_liquidatable(trader)


def test_a_fill_never_sits_within_the_liquidation_threshold(
    perp, trader, keeper, push, usd, risk_admin
):
    """With a $3 minimum, a $15 long needs max(IMR $3, MMR $1.50 + the $2 reward) = $3.50:
    $3.45 of equity is refused although it covers the IMR; $3.55 fills, not liquidatable."""
    import dataclasses

    _, market = perp
    low = m.MarketParams(math=dataclasses.replace(P, min_margin_usd=3 * WAD))
    market.set_params(low.as_tuple(), sender=risk_admin)
    size = 75 * WAD // 1_000  # $15 at $200
    fee = m.order_fee(0, size, 200 * WAD, P)  # ~1.5 cents; the premium is < 1 wei a share
    need = m.min_equity(size, 200 * WAD, P.initial_margin_bps, low.math)
    assert need == 35 * WAD // 10
    market.deposit_margin(usd(4.46), sender=trader)  # $3.46 - fee after the $1 keeper fee
    tx = commit_and_fill(market, trader, keeper, push, size)
    assert tx.events.filter(market.OrderCancelled)[0].reason == "margin"
    market.deposit_margin(usd(1.10), sender=trader)
    commit_and_fill(market, trader, keeper, push, size)
    assert market.equity(trader) >= need and fee < WAD // 50
    assert not market.is_liquidatable(trader)


def test_a_reduction_keeps_the_minimum_or_closes_whole(perp, trader, keeper, push, usd):
    """A $50 long on $25 falls to $170 (equity ~$16.50: healthy, under the $20 minimum):
    reducing it is cancelled ("margin": the rest would sit below the minimum), closing it
    whole goes through."""
    _, market = perp
    market.deposit_margin(usd(25), sender=trader)
    commit_and_fill(market, trader, keeper, push, WAD // 4)
    push(170)
    assert not market.is_liquidatable(trader) and market.equity(trader) < 20 * WAD
    tx = commit_and_fill(market, trader, keeper, push, -WAD // 10, price=170)
    assert tx.events.filter(market.OrderCancelled)[0].reason == "margin"
    tx = commit_and_fill(market, trader, keeper, push, -WAD // 4, price=170)
    assert tx.events.filter(market.OrderFilled)[0].size == 0


def test_withdrawal_keeps_the_minimum_margin(perp, trader, keeper, push, usd):
    """A $20 position on $100: the IMR is $4, but what must stay is the $20 minimum (and
    never within the liquidation threshold): what the model says is withdrawable goes (to
    a tenth of a cent: the next block's funding), one unit more is refused."""
    _, market = perp
    market.deposit_margin(usd(100), sender=trader)
    commit_and_fill(market, trader, keeper, push, WAD // 10)
    pos = market.position(trader)
    model_pos = m.Position(pos.size, pos.entry_price, pos.margin, pos.funding_entry)
    free = m.withdrawable(model_pos, 200 * WAD, market.funding_state()[1], P)
    # at $200, ~the position's own price: no profit counts, a loss of a few wei (premium)
    assert pos.margin - 20 * WAD - WAD // 10**6 <= free <= pos.margin - 20 * WAD
    units = free // (WAD // usd(1))
    with ape.reverts("perp: exceeds withdrawable"):
        market.withdraw_margin(units + 1, sender=trader)
    # a tenth of a cent less: the seconds of funding until the next block take wei off it
    market.withdraw_margin((free - WAD // 1_000) // (WAD // usd(1)), sender=trader)
    assert market.equity(trader) >= 20 * WAD and not market.is_liquidatable(trader)
