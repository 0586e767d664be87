"""Regression tests for the perp findings of issue 15 (docs/SECURITY.md): each replays the
attack of the review with plain calls on a protocol deployed in titanoboa by
`synthequity.testing.deploy_protocol`, and checks the attacker's or the fund's result with
arithmetic written out here, not with the contract's views.

On the contracts before the fix (bb08fdf) each test fails with the number the review printed:
finding 1 pays the attacker +$1.50 a cycle, finding 3 pays a second $2 reward out of the
insurance fund, finding 4 refuses to close a position while the guardian has paused.

Defaults (docs/spec.md §4): price $200, IMR 20%, MMR 10%, penalty 1% of notional, keeper
reward 20% of the penalty clamped to [$2, $100], order keeper fee $1, taker fee 10 bps."""

from __future__ import annotations

import boa
import pytest

from synthequity.testing import deploy_protocol

WAD = 10**18
MIN_KEEPER_FEE = 2  # USD
ORDER_KEEPER_FEE = 1  # USD


@pytest.fixture
def p():
    with boa.env.anchor():
        p = deploy_protocol(decimals=6)
        p.push(200.0)
        p.fund(p.lp, 1_000_000)
        p.pool.deposit(p.units(1_000_000), p.lp, sender=p.lp)
        p.fund(p.attacker, 1_000)
        p.fund(p.trader, 10_000)
        # the insurance fund holds $1,000 to pay shortfalls with
        p.fund(p.admin, 1_000)
        p.collateral.transfer(p.insurance, p.units(1_000), sender=p.admin)
        yield p


def _usd(p, who) -> float:
    return p.collateral.balanceOf(who) / 10**6


def _reason(fn, *args, **kw) -> str | None:
    """The revert reason of a call, None when it went through."""
    try:
        fn(*args, **kw)
    except boa.BoaError as err:
        for frame in reversed(err.stack_trace):  # the innermost Vyper frame with a reason
            if reason := getattr(frame, "pretty_vm_reason", None):
                return str(reason)
        return str(err)
    return None


def test_finding1_dust_self_liquidation_does_not_pay(p):
    """Deposit $1.50, open a $2 long (0.01 share at $200), execute it yourself (the $1 order
    fee comes back), liquidate yourself for the $2 minimum reward: before the fix +$1.50 a
    cycle, the insurance fund then the pool paying. Now the fill is cancelled ("margin": a
    position must keep the minimum margin, outside the liquidation threshold) and three
    cycles leave the attacker at most where it started; the fund and the pool pay nothing."""
    a, mk = p.attacker, p.market
    start, fund_start, pool_start = _usd(p, a), _usd(p, p.insurance), _usd(p, p.pool)
    for _ in range(3):
        mk.deposit_margin(p.units(1.50), sender=a)
        mk.commit_order(WAD // 100, 2**255, sender=a)  # +0.01 share: $2 of notional
        p.push(200.0)
        mk.execute_order(a, sender=a)  # the attacker is its own keeper
        _reason(mk.liquidate, a, sender=a)  # and its own liquidator
        margin_units = mk.position(a)[2] // p.usd_per_unit
        if margin_units and mk.position(a)[0] == 0:
            mk.withdraw_margin(margin_units, sender=a)
    # the attack, before the fix: each cycle deposits 1.50, gets the $1 order fee back as its
    # keeper and the $2 reward as its liquidator, of which the margin paid 0.50 - fees
    gain = _usd(p, a) - start
    assert gain <= 0, f"the attacker made ${gain:.2f}"
    assert _usd(p, p.insurance) == fund_start
    assert _usd(p, p.pool) >= pool_start
    assert mk.pool_shortfall() == 0


def test_finding1_a_minimum_position_is_not_liquidatable_at_its_fill(p):
    """With the minimum margin ($20 deposited, plus the $1 order fee), the same $2 long
    fills, and nobody can liquidate it at the fill price: the reward would come out of a
    position that still holds ~$20, not out of the insurance fund."""
    a, mk = p.attacker, p.market
    mk.deposit_margin(p.units(21.10), sender=a)
    mk.commit_order(WAD // 100, 2**255, sender=a)
    p.push(200.0)
    mk.execute_order(a, sender=a)
    size, _, margin, _ = mk.position(a)
    assert size == WAD // 100
    # $21.10 - $1 order fee - 10 bps of $2 (taker) - premium: just above $20
    assert 20 * WAD <= margin <= 20.10 * WAD
    assert _reason(mk.liquidate, a, sender=a) == "perp: not liquidatable"


def test_finding3_partial_liquidation_leaves_the_rest_healthy(p):
    """A 0.2-share long ($40) on $23 of margin; the price falls in steps (each within the
    oracle's 25% jump guard) to $100: equity ~$2.96 < MMR x $20 + $2 = $4. Before the fix
    the liquidation closed 0.16 share and left $0.84 of margin on 0.04 share ($4) — still
    below its threshold ($0.40 + $2) — so a second liquidation in the same block took another
    $2 reward, the insurance fund paying the gap. Now the first closes it whole (the rest would
    have been under the liquidation threshold), and a second is refused."""
    t, mk = p.trader, p.market
    mk.deposit_margin(p.units(24), sender=t)
    mk.commit_order(WAD // 5, 2**255, sender=t)
    p.push(200.0)
    mk.execute_order(t, sender=p.keeper)
    assert mk.position(t)[0] == WAD // 5
    for price in (160.0, 128.0, 100.0):
        p.push(price)
    fund_start, keeper_start = _usd(p, p.insurance), _usd(p, p.keeper)
    mk.liquidate(t, sender=p.keeper)
    second = _reason(mk.liquidate, t, sender=p.keeper)
    # equity at $100: margin ~$22.96 (24 - 1 - 0.04 fee - premium) - 0.2 x $100 = ~$2.96,
    # which pays the one $2 reward and the penalty (1% of $20 = $0.20); nothing is left to
    # pay a second reward
    paid = _usd(p, p.keeper) - keeper_start
    assert paid == MIN_KEEPER_FEE, f"the keeper was paid ${paid:.2f} for one position"
    assert _usd(p, p.insurance) >= fund_start, "the insurance fund paid a keeper"
    assert mk.position(t)[0] == 0
    assert second == "perp: not liquidatable"


def _open_ten_shares(p):
    t, mk = p.trader, p.market
    mk.deposit_margin(p.units(5_000), sender=t)
    mk.commit_order(10 * WAD, 2**255, sender=t)
    p.push(200.0)
    mk.execute_order(t, sender=p.keeper)
    assert mk.position(t)[0] == 10 * WAD


def test_finding4_pause_never_blocks_closing(p):
    """The guardian pauses with a position open: before the fix the trader could not even
    commit its close (`_commit` checked the pause for every order: "pausable: contract is
    paused") while liquidations went on. Now a reduction and a close commit and fill while
    paused, margin deposits go on, and only an order that would grow or flip the position is
    refused."""
    t, mk = p.trader, p.market
    _open_ten_shares(p)
    mk.pause(sender=p.guardian)
    assert _reason(mk.commit_order, -4 * WAD, 0, sender=t) is None  # reduce
    p.push(200.0)
    mk.execute_order(t, sender=p.keeper)
    assert mk.position(t)[0] == 6 * WAD
    assert _reason(mk.commit_order, -6 * WAD, 0, sender=t) is None  # close
    p.push(200.0)
    mk.execute_order(t, sender=p.keeper)
    assert mk.position(t)[0] == 0
    mk.deposit_margin(p.units(1), sender=t)
    assert _reason(mk.commit_order, WAD, 2**255, sender=t) == "pausable: contract is paused"
    assert mk.paused()


def test_finding4_growing_order_committed_before_a_pause_is_cancelled(p):
    """An order that grows the position, committed before the pause and executed during it,
    is cancelled ("paused"), its keeper paid the $1 fee; a flip is refused at commit."""
    t, mk = p.trader, p.market
    _open_ten_shares(p)
    mk.commit_order(5 * WAD, 2**255, sender=t)
    mk.pause(sender=p.guardian)
    p.push(200.0)
    keeper_start = _usd(p, p.keeper)
    mk.execute_order(t, sender=p.keeper)
    assert mk.position(t)[0] == 10 * WAD, "a growing order filled while paused"
    assert _usd(p, p.keeper) - keeper_start == ORDER_KEEPER_FEE
    cancels = [e for e in mk.get_logs() if type(e).__name__ == "OrderCancelled"]
    assert [e.reason for e in cancels] == ["paused"]
    assert _reason(mk.commit_order, -11 * WAD, 0, sender=t) == "pausable: contract is paused"
