"""The bad-input catalogue's extremes (issue 8, docs/SECURITY.md): the largest (and, for
signed arguments, the smallest) value on every entry point that takes a number, and a year or
a century without activity. Every refusal carries a reason — never a bare overflow revert —
and leaves every balance and position as it was; after the long waits the numbers still equal
the reference model's and the markets still close and liquidate."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import ape
import pytest
from ape.exceptions import ContractLogicError

from synthequity.model import perp as m
from synthequity.model.vault import VaultParams, debt_at, rate_at

MAX = 2**256 - 1
MAX_INT = 2**255 - 1
MIN_INT = -(2**255)
WAD = 10**18
YEAR = 365 * 86_400


def refusal(send) -> str:
    """The revert reason of `send()`; fails on success and on a reason-less revert."""
    try:
        send()
    except ContractLogicError as err:
        reason = err.message or ""
    else:
        raise AssertionError("went through")
    bare = not reason or reason == "Transaction failed." or reason.startswith("0x")
    assert not bare, f"bare revert (no reason): {reason!r}"
    return reason


@pytest.fixture
def world(vault, synth, funded, funded_perp, stablecoin, core, borrower, trader, keeper, usd):
    """A vault position (10 sTSLA against $4,000 at $200) and a 10-share long on the perp
    market with $10,000 of margin; the pool holds $5M."""
    from ape import chain

    pool, market = funded_perp
    vault.open(usd(4_000), 10 * WAD, sender=borrower)
    market.deposit_margin(usd(10_000), sender=trader)
    tx = market.commit_order(10 * WAD, MAX_INT, sender=trader)
    chain.pending_timestamp = max(chain.pending_timestamp, tx.timestamp + 1)
    return SimpleNamespace(
        vault=vault,
        synth=synth,
        pool=pool,
        market=market,
        usd=usd,
        stablecoin=stablecoin,
        core=core,
    )


def _book(w, *who) -> tuple:
    """Every balance and position the catalogue promises not to move."""
    token = w.stablecoin
    holders = (*who, w.vault, w.market, w.pool, w.core.insurance)
    return (
        tuple(token.balanceOf(h) for h in holders),
        tuple(w.synth.balanceOf(h) for h in who),
        w.synth.totalSupply(),
        tuple(w.pool.balanceOf(h) for h in who),
        w.pool.totalSupply(),
        tuple(tuple(w.vault.position(h)) for h in who),
        tuple(tuple(w.market.position(h)) for h in who),
        tuple(w.market.pending_order(h) for h in who),
        w.market.skew(),
    )


def test_extremes_on_the_vault(world, borrower, liquidator, guardian, risk_admin):
    w, v = world, world.vault
    # no stability fee, so that the debt the book compares does not grow with the clock
    v.set_risk_params(VaultParams(stability_fee_bps=0).as_tuple(), sender=risk_admin)
    cases = [
        (lambda: v.deposit(MAX, sender=borrower), "vault: overflow"),
        (lambda: v.withdraw(MAX, sender=borrower), "vault: exceeds collateral"),
        (lambda: v.mint(MAX, sender=borrower), "vault: debt ceiling"),
        (lambda: v.burn(MAX, sender=borrower), "vault: exceeds debt"),
        (lambda: v.open(MAX, MAX, sender=borrower), "vault: overflow"),
        (lambda: v.open(1, MAX, sender=borrower), "vault: debt ceiling"),
        (lambda: v.liquidate(borrower, MAX, sender=liquidator), "vault: not liquidatable"),
        # listed: a live redemption (issue 19), whose fee no bound of 0 accepts
        (lambda: v.redeem(MAX, sender=borrower), "vault: fee above max"),
        (lambda: v.lower_debt_ceiling(MAX, sender=guardian), "vault: not lower"),
        (lambda: v.set_max_age_open(MAX, sender=risk_admin), "guard: max age bounds"),
    ]
    for field in dataclasses.fields(VaultParams):
        params = dataclasses.replace(VaultParams(), **{field.name: MAX}).as_tuple()
        cases.append((lambda p=params: v.set_risk_params(p, sender=risk_admin), "vault: "))
    before = _book(w, borrower, liquidator)
    for k, (send, reason) in enumerate(cases):
        got = refusal(send)
        assert got.startswith(reason), (k, got, reason)
    assert _book(w, borrower, liquidator) == before


def test_extremes_on_the_perp_market_and_the_pool(
    world, trader, lp, outsider, keeper, push, risk_admin
):
    w, mk, pool = world, world.market, world.pool
    # the world's order must outlive the ~40 refusals below on a loaded machine
    slow = dataclasses.replace(m.MarketParams(), order_max_age=3_600)
    mk.set_params(slow.as_tuple(), sender=risk_admin)
    mk.deposit_margin(w.usd(1_000), sender=outsider)
    cases = [
        (lambda: mk.withdraw_margin(MAX, sender=trader), "perp: exceeds withdrawable"),
        (lambda: mk.deposit_margin(MAX, sender=lp), "erc20: transfer amount exceeds balance"),
        (lambda: mk.commit_order(1, 1, sender=trader), "perp: order pending"),
        (lambda: mk.commit_order(MAX_INT, MAX, sender=outsider), "perp: overflow"),
        (lambda: mk.commit_order(MIN_INT, 0, sender=outsider), "perp: overflow"),
        (lambda: pool.deposit(MAX, lp, sender=lp), "math: mul_div overflow"),
        (lambda: pool.mint(MAX, lp, sender=lp), "erc20: transfer amount exceeds balance"),
        # the LP deposited in this test: its balance is locked (docs/design/pool.md) ...
        (lambda: pool.withdraw(MAX, lp, lp, sender=lp), "pool: locked"),
        (lambda: pool.redeem(MAX, lp, lp, sender=lp), "pool: locked"),
        (lambda: pool.transfer(trader, MAX, sender=lp), "pool: locked"),
        # ... the outsider's is not: the amount is what refuses
        (lambda: pool.withdraw(MAX, outsider, outsider, sender=outsider), "pool: needed by"),
        (lambda: pool.redeem(MAX, outsider, outsider, sender=outsider), "pool: needed by"),
        (lambda: pool.transfer(trader, MAX, sender=outsider), "erc20: transfer amount exceeds"),
        (lambda: pool.set_deposit_lock_s(MAX, sender=risk_admin), "pool: lock bounds"),
    ]
    fields = [f.name for f in dataclasses.fields(m.PerpParams)]
    for name in fields:
        for extreme in (MAX_INT, MIN_INT):
            math = dataclasses.replace(m.PerpParams(), **{name: extreme})
            params = m.MarketParams(math=math).as_tuple()
            cases.append((lambda p=params: mk.set_params(p, sender=risk_admin), "perp: "))
    for name, extreme in [
        ("order_max_age", MAX),
        ("order_keeper_fee", MAX_INT),
        ("max_oi_long_usd", MIN_INT),
        ("max_skew_to_pool_bps", MAX_INT),
    ]:
        params = dataclasses.replace(m.MarketParams(), **{name: extreme}).as_tuple()
        cases.append((lambda p=params: mk.set_params(p, sender=risk_admin), "perp: "))
    before = _book(w, trader, lp, outsider)
    from ape import chain

    for k, (send, reason) in enumerate(cases):
        # each refusal is mined: one second apiece, not the wall clock's (on a loaded machine
        # the ~40 cases would otherwise outlast the pending order's 120 s window)
        chain.pending_timestamp = chain.blocks.head.timestamp + 1
        got = refusal(send)
        assert got.startswith(reason), (k, got, reason)
    assert _book(w, trader, lp, outsider) == before
    push(200)  # and the pending order still fills
    assert mk.execute_order(trader, sender=keeper).events.filter(mk.OrderFilled)


def test_extremes_on_the_oracle(oracle, admin, reporter, risk_admin, push, chain):
    push(200)
    head = oracle.latestRoundData()
    now = head[3] + 1  # newer than the last round, and not in the future:
    chain.pending_timestamp = now + 10
    soon = now + 3_600
    cases = [
        (lambda: oracle.push_price(MAX_INT, now, 2, sender=reporter), "oracle: answer too large"),
        (lambda: oracle.push_price(MIN_INT, now, 2, sender=reporter), "oracle: answer <= 0"),
        (lambda: oracle.push_price(10**10, MAX, 2, sender=reporter), "oracle: future timestamp"),
        (lambda: oracle.push_price(10**10, now, 255, sender=reporter), "oracle: bad status"),
        (lambda: oracle.set_max_jump_bps(MAX, sender=risk_admin), "oracle: jump bounds"),
        (lambda: oracle.set_escalation(MAX, MAX, sender=risk_admin), "oracle: escalation bounds"),
        (lambda: oracle.stage_split(MAX, soon, sender=admin), "oracle: split ratio bounds"),
        (lambda: oracle.stage_split(2, MAX, sender=admin), "oracle: activation bounds"),
        (lambda: oracle.stage_split(2, 2**64, sender=admin), "oracle: activation bounds"),
    ]
    for k, (send, reason) in enumerate(cases):
        got = refusal(send)
        assert got.startswith(reason), (k, got, reason)
    assert oracle.latestRoundData() == head and oracle.staged_split() == (0, 0)


def test_a_year_of_funding_on_a_live_market(
    world, trader, keeper, liquidator, push, chain, risk_admin, usd
):
    """A long holds a skew of 10% of the scale for a year with nobody trading: the rate
    climbs for ~33 days, then sits at its cap (10%/day) — no overflow; the index, the
    trader's equity and the pool's PnL equal the model's; the position, eaten ~35x over by
    funding, is liquidated, its shortfall covered, and the aggregates return to zero."""
    from ape import chain as ch

    mk, pool = world.market, world.pool
    # a skew of 4,000 shares (10% of the scale) fits the $5M pool's 25% cap
    P = dataclasses.replace(m.PerpParams(), skew_scale=40_000 * WAD)
    mk.set_params(m.MarketParams(math=P).as_tuple(), sender=risk_admin)
    push(200)
    mk.execute_order(trader, sender=keeper)  # the world's 10 shares
    mk.deposit_margin(usd(500_000), sender=trader)
    tx = mk.commit_order(3_990 * WAD, MAX_INT, sender=trader)
    ch.pending_timestamp = max(ch.pending_timestamp, tx.timestamp + 1)
    push(200)
    mk.execute_order(trader, sender=keeper)
    assert mk.skew() == 4_000 * WAD
    rate, index, updated = mk.funding_state()
    start = m.FundingState(rate, index, updated)
    chain.pending_timestamp = updated + YEAR
    push(200)
    model = m.accrue_funding(start, mk.skew(), 200 * WAD, chain.blocks.head.timestamp, P)
    # at the cap after ~33 days, to within one second of velocity (t_move is whole seconds)
    per_second = m.funding_velocity(mk.skew(), P) // 86_400 + 1
    assert 0 <= P.max_funding_rate - model.rate <= per_second
    pos = mk.position(trader)
    mpos = m.Position(pos.size, pos.entry_price, pos.margin, pos.funding_entry)
    assert mk.equity(trader) == m.equity(mpos, 200 * WAD, model.index)
    owed = m.funding_owed(pos.size, model.index, pos.funding_entry)
    assert owed > 30 * pos.margin  # a year at up to 10% a day
    unit = WAD // 10 ** world.stablecoin.decimals()
    assert abs(mk.pool_pnl() - (owed - m.pnl(mpos, 200 * WAD)) // unit) <= 1
    assert mk.is_liquidatable(trader)
    tx = mk.liquidate(trader, sender=liquidator)  # accrues the year, then closes
    assert tx.events.filter(mk.PositionLiquidated)
    at_liq = m.accrue_funding(start, 4_000 * WAD, 200 * WAD, tx.timestamp, P)
    assert mk.funding_state() == (at_liq.rate, at_liq.index, tx.timestamp)
    assert mk.position(trader).size == 0 and mk.skew() == 0 and mk.open_interest() == (0, 0)
    assert mk.pool_pnl() == 0 and pool.totalAssets() > 0


def test_a_century_at_the_highest_stability_fee(
    world, borrower, liquidator, risk_admin, push, chain, synth, usd
):
    """The highest fee the bounds allow (20% a year, `synth_vault.MAX_FEE_BPS`), then 100
    years without a touch: one accrual; the index and the debt equal the model's to the wei;
    nothing overflows; the position, which the fee took under water, is liquidated in full,
    its fee minted to the insurance fund and the shortfall recorded as bad debt."""
    v, insurance = world.vault, world.core.insurance
    with ape.reverts("vault: fee bounds"):
        v.set_risk_params(VaultParams(stability_fee_bps=2_001).as_tuple(), sender=risk_admin)
    top = VaultParams(stability_fee_bps=2_000)
    v.set_risk_params(top.as_tuple(), sender=risk_admin)
    t0 = v.burn(1, sender=borrower).timestamp  # records the debt at today's index
    r0, (_, d0) = v.rate_index(), v.position(borrower)
    chain.pending_timestamp = t0 + 100 * YEAR
    push(200)
    now = chain.blocks.head.timestamp
    r1 = rate_at(r0, t0, now, top.fee_per_second)
    assert v.rate_index() == r1
    debt = v.position(borrower)[1]
    assert debt == debt_at(d0, r0, r1)
    assert 20 * d0 < debt < 22 * d0  # linear within one accrual: 1 + 20% x 100 = 21x
    assert v.is_liquidatable(borrower)
    chain.pending_timestamp = now + 3  # fixed gaps: the same blocks on every machine
    t_open = v.open(usd(200_000), 2 * debt, sender=liquidator).timestamp  # sTSLA to repay
    fees0, system0 = synth.balanceOf(insurance), v.system_debt()
    chain.pending_timestamp = t_open + 7
    tx = v.liquidate(borrower, MAX, sender=liquidator)
    # the fee kept accruing while the liquidator got ready: each stored accrual, as the model
    # (a view brings the index to its block without storing it: the push touched no vault,
    # so the stored accruals are the burn's, the liquidator's open and the liquidation)
    r_open = rate_at(r0, t0, t_open, top.fee_per_second)
    r_liq = rate_at(r_open, t_open, tx.timestamp, top.fee_per_second)
    assert v.rate_index() == r_liq
    owed = debt_at(d0, r0, r_liq)
    (liq,) = tx.events.filter(v.Liquidate)
    (bad,) = tx.events.filter(v.BadDebt)
    assert liq.repaid + bad.bad_debt == owed and v.position(borrower) == (0, 0)
    assert v.system_debt() == system0 + bad.bad_debt
    assert synth.balanceOf(insurance) - fees0 == owed - d0  # the borrower's century of fee
