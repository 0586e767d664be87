"""Issue 15, finding 2 (just-in-time LP) and the deposit lock that closes it (docs/spec.md §4
"Pool value", docs/design/pool.md), through `synthequity.testing.deploy_protocol`.

The attack: an order is public from its commit; whoever executes it deposits a large amount
into the pool just before, and redeems just after, in one block. The fill adds its taker fee
and its skew premium to the NAV at once, so the executor leaves with most of them, and the
premium is paid back by the passive LPs alone when the position closes. Before the fix: $721
taken, the passive LPs -$240 on a round trip that would have paid them +$480.

The lock: a deposit locks its receiver's whole balance for `deposit_lock_s` (1 day): no
withdraw, redeem or transfer before it ends; `maxWithdraw` / `maxRedeem` say 0 meanwhile;
nobody deposits for another account that holds shares. Every expected number below is plain
arithmetic from the market's parameters, not a contract view."""

from __future__ import annotations

import contextlib

import boa
import pytest

from synthequity.model import perp as pm
from synthequity.testing import deploy_protocol

WAD = 10**18
DAY = 86_400
PRICE = 200
SIZE = 2_000  # shares: a $400,400 long at skew 0
PASSIVE_USD, JIT_USD = 1_000_000, 9_000_000


@pytest.fixture
def p():
    p = deploy_protocol(decimals=6)
    p.push(PRICE)
    for who, usd in ((p.lp, PASSIVE_USD), (p.trader, 200_000), (p.attacker, JIT_USD)):
        p.fund(who, usd)
    return p


def _commit_the_public_order(p) -> None:
    """The passive LP is in; a trader commits a 2,000-share long at $200, and the next price
    (unchanged) lets anyone execute it."""
    with boa.env.prank(p.lp):
        p.pool.deposit(p.units(PASSIVE_USD), p.lp)
    with boa.env.prank(p.trader):
        p.market.deposit_margin(p.units(100_000))
        p.market.commit_order(SIZE * WAD, 201 * WAD)
    p.push(PRICE)


def _round_trip_to_the_pool_usd() -> tuple[float, float]:
    """What the trader's open and close add to the NAV at an unchanged $200, from the default
    parameters (skew scale 1,000,000 shares, taker 10 bps, maker 2 bps): the open fills at
    200 x (1 + (0 + 2,000/1e6)/2) = $200.20, paying a taker fee on $400,400 and $0.20 a share
    of premium; the close (reducing the skew) fills at the same $200.20, a maker fee, and the
    pool pays the premium back."""
    fill = PRICE * (1 + (0 + SIZE / 1_000_000) / 2)
    premium = SIZE * (fill - PRICE)
    open_gain = SIZE * fill * 10 / 10_000 + premium  # $400.40 + $400.00
    close_gain = SIZE * fill * 2 / 10_000 - premium  # $80.08 - $400.00
    return open_gain, close_gain


def test_finding2_just_in_time_lp_cannot_take_the_fills_fees(p):
    _commit_the_public_order(p)
    open_gain, close_gain = _round_trip_to_the_pool_usd()
    keeper_fee = 1.0  # the order's escrowed keeper fee: owed to whoever executes
    jit_share = JIT_USD / (PASSIVE_USD + JIT_USD)
    before = p.collateral.balanceOf(p.attacker)

    # one block: deposit, execute the public order, try to redeem everything
    with boa.env.prank(p.attacker):
        shares = p.pool.deposit(p.units(JIT_USD), p.attacker)
        p.market.execute_order(p.trader)
        with contextlib.suppress(boa.BoaError):  # refused: checked below with its reason
            p.pool.redeem(shares, p.attacker, p.attacker)
    taken = (p.collateral.balanceOf(p.attacker) - before) / p.units(1)  # net cash, USD
    # before the fix the deposit came back with 90% of the fill's fee and premium
    jit_take = open_gain * jit_share + keeper_fee
    assert round(jit_take, 2) == 721.36
    # after it: the deposit stays in, the attacker has only the keeper fee it was owed
    assert taken <= keeper_fee, (
        f"the just-in-time LP took ${taken:,.2f} in one block (fee and premium x "
        f"{jit_share:.0%} + the keeper fee = ${jit_take:,.2f})"
    )
    with boa.env.prank(p.attacker), boa.reverts("pool: locked"):
        p.pool.redeem(shares, p.attacker, p.attacker)
    assert p.pool.maxRedeem(p.attacker) == 0 == p.pool.maxWithdraw(p.attacker)

    # the trader closes while the deposit is still locked in: it takes its share of the
    # premium paid back, as every LP does
    with boa.env.prank(p.trader):
        p.market.commit_order(-SIZE * WAD, 199 * WAD)
    p.push(PRICE)
    p.market.execute_order(p.trader, sender=p.keeper)
    assert p.market.position(p.trader).size == 0

    # a day later, at the same price, both LPs leave with the same return per dollar: the
    # round trip's $480.48, shared pro rata (the ~2 minutes of funding on the open long are
    # the tolerance: < $0.02)
    boa.env.time_travel(seconds=DAY)
    p.push(PRICE)
    round_trip = open_gain + close_gain
    got = {}
    for who, usd in ((p.attacker, JIT_USD), (p.lp, PASSIVE_USD)):
        start = p.collateral.balanceOf(who)
        with boa.env.prank(who):
            p.pool.redeem(p.pool.balanceOf(who), who, who)
        got[who] = (p.collateral.balanceOf(who) - start) / p.units(1) - usd
    assert round(round_trip, 2) == 480.48
    assert got[p.attacker] == pytest.approx(round_trip * jit_share, abs=0.02)
    assert got[p.lp] == pytest.approx(round_trip * (1 - jit_share), abs=0.02)  # not -$240


# ---- the lock, mechanism by mechanism ------------------------------------------------------


def _events(contract, name: str, *fields: str) -> list[tuple]:
    """`name` events of `contract`'s last transaction (read right after it)."""
    logs = [e for e in contract.get_logs(strict=False) if type(e).__name__ == name]
    return [tuple(getattr(e, f) for f in fields) for e in logs]


def _deposit(p, who, usd: float) -> int:
    with boa.env.prank(who):
        return p.pool.deposit(p.units(usd), who)


def test_a_deposit_locks_the_whole_balance_until_the_lock_ends(p):
    assert p.pool.deposit_lock_s() == DAY == pm.DEPOSIT_LOCK_S
    _deposit(p, p.lp, 1_000)
    t0 = boa.env.timestamp
    assert _events(p.pool, "Locked", "owner", "unlock_at") == [(p.lp, t0 + DAY)]
    assert p.pool.unlock_at(p.lp) == t0 + DAY
    # the lock also binds an unlocked balance topped up later (the whole balance relocks)
    boa.env.time_travel(seconds=DAY - 61)
    p.push(PRICE)  # 1 s before the end
    assert p.pool.maxRedeem(p.lp) == 0 == p.pool.maxWithdraw(p.lp)
    with boa.env.prank(p.lp):
        with boa.reverts("pool: locked"):
            p.pool.withdraw(1, p.lp, p.lp)
        with boa.reverts("pool: locked"):
            p.pool.redeem(1, p.lp, p.lp)
    boa.env.time_travel(seconds=1)  # at the end: free
    shares = p.pool.balanceOf(p.lp)
    assert p.pool.maxRedeem(p.lp) == shares and p.pool.maxWithdraw(p.lp) == p.units(1_000)
    with boa.env.prank(p.lp):
        assert p.pool.withdraw(p.units(400), p.lp, p.lp) > 0
        _deposit(p, p.lp, 1)  # a top-up relocks everything
        assert p.pool.unlock_at(p.lp) == boa.env.timestamp + DAY
        with boa.reverts("pool: locked"):
            p.pool.redeem(1, p.lp, p.lp)
    assert p.pool.maxRedeem(p.lp) == 0


def test_mint_locks_too_and_the_lock_binds_an_approved_caller(p):
    with boa.env.prank(p.lp):
        p.pool.mint(10**12, p.lp)
        p.pool.approve(p.keeper, 2**256 - 1)
    assert p.pool.unlock_at(p.lp) == boa.env.timestamp + DAY
    with boa.env.prank(p.keeper):  # allowance does not open the lock
        with boa.reverts("pool: locked"):
            p.pool.redeem(10**6, p.keeper, p.lp)
        with boa.reverts("pool: locked"):
            p.pool.transferFrom(p.lp, p.keeper, 10**6)
    boa.env.time_travel(seconds=DAY)
    p.push(PRICE)
    with boa.env.prank(p.keeper):
        assert p.pool.redeem(10**6, p.keeper, p.lp) == 1  # 10^6 shares: one unit at par


def test_locked_shares_cannot_be_transferred_and_unlocked_ones_do_not_lock(p):
    """A transfer cannot dodge the lock: a locked balance does not move (`transfer` and
    `transferFrom`). Seasoned shares move freely and leave the receiver's lock alone, so that
    nobody can lock somebody else by sending them shares."""
    shares = _deposit(p, p.lp, 1_000)
    with boa.env.prank(p.lp), boa.reverts("pool: locked"):
        p.pool.transfer(p.attacker, shares)
    boa.env.time_travel(seconds=DAY)
    p.push(PRICE)
    _deposit(p, p.attacker, 10)  # the receiver is locked by its own deposit
    attacker_unlock = p.pool.unlock_at(p.attacker)
    with boa.env.prank(p.lp):
        assert p.pool.transfer(p.trader, shares // 2)
        p.pool.approve(p.keeper, shares)
    with boa.env.prank(p.keeper):
        assert p.pool.transferFrom(p.lp, p.attacker, shares // 4)
    assert p.pool.unlock_at(p.trader) == 0  # seasoned shares: the receiver can leave now
    assert p.pool.unlock_at(p.attacker) == attacker_unlock  # neither shortened nor extended
    assert p.pool.maxRedeem(p.trader) == shares // 2
    with boa.env.prank(p.trader):
        p.pool.redeem(shares // 2, p.trader, p.trader)
    with boa.env.prank(p.attacker), boa.reverts("pool: locked"):
        p.pool.redeem(shares // 4, p.attacker, p.attacker)


def test_nobody_deposits_for_an_account_that_holds_shares(p):
    """A deposit for another account would relock its balance (a griefer could keep any LP
    locked for a unit a day): refused once it holds shares; an empty account may be funded,
    and is locked like any depositor."""
    assert p.pool.maxDeposit(p.lp) > 0
    with boa.env.prank(p.attacker):
        p.pool.deposit(p.units(100), p.lp)  # an empty account: fine, and locked
        assert p.pool.maxDeposit(p.lp) == 0 == p.pool.maxMint(p.lp)  # the caller's view
        with boa.reverts("pool: receiver holds shares"):
            p.pool.deposit(1, p.lp)
        with boa.reverts("pool: receiver holds shares"):
            p.pool.mint(10**6, p.lp)
    assert p.pool.unlock_at(p.lp) == boa.env.timestamp + DAY
    with boa.env.prank(p.lp):
        assert p.pool.maxDeposit(p.lp) > 0  # for itself
        _deposit(p, p.lp, 1)


def test_the_risk_admin_sets_the_lock_within_bounds(p):
    with boa.env.prank(p.attacker), boa.reverts("access_control: account is missing role"):
        p.pool.set_deposit_lock_s(3_600)
    with boa.env.prank(p.risk_admin):
        for bad in (0, pm.MIN_DEPOSIT_LOCK_S - 1, pm.MAX_DEPOSIT_LOCK_S + 1, 2**256 - 1):
            with boa.reverts("pool: lock bounds"):
                p.pool.set_deposit_lock_s(bad)
        p.pool.set_deposit_lock_s(pm.MAX_DEPOSIT_LOCK_S)
        assert _events(p.pool, "DepositLockSet", "old_s", "new_s") == [(DAY, 30 * DAY)]
        p.pool.set_deposit_lock_s(pm.MIN_DEPOSIT_LOCK_S)
    assert p.pool.deposit_lock_s() == 3_600
    _deposit(p, p.lp, 1_000)
    assert p.pool.unlock_at(p.lp) == boa.env.timestamp + 3_600
    # a deposit made under a longer lock keeps it: lowering the lock frees nobody early, and
    # raising it traps nobody who already deposited
    with boa.env.prank(p.risk_admin):
        p.pool.set_deposit_lock_s(7 * DAY)
    assert p.pool.unlock_at(p.lp) == boa.env.timestamp + 3_600
    with boa.env.prank(p.risk_admin):
        p.pool.set_deposit_lock_s(2 * 3_600)
    _deposit(p, p.attacker, 1)
    unlock = p.pool.unlock_at(p.attacker)
    with boa.env.prank(p.risk_admin):
        p.pool.set_deposit_lock_s(3_600)
    _deposit(p, p.attacker, 1)
    assert p.pool.unlock_at(p.attacker) == unlock  # never moves back


def test_the_lock_keeps_erc4626_rounding_in_the_pools_favour(p):
    """A locked-then-unlocked round trip at an unchanged NAV returns at most the deposit,
    whichever of the four entry points is used (deposit/mint in, withdraw/redeem out)."""
    _deposit(p, p.lp, 1_000_000)
    for amount in (1, 7, 999_999, p.units(3.33)):
        before = p.collateral.balanceOf(p.attacker)
        with boa.env.prank(p.attacker):
            minted = p.pool.deposit(amount, p.attacker)
            paid = p.pool.mint(minted, p.attacker)
        assert paid >= amount  # mint charges at least what deposit gave the same shares for
        boa.env.time_travel(seconds=DAY)
        p.push(PRICE)
        with boa.env.prank(p.attacker):
            assert p.pool.previewWithdraw(amount) >= p.pool.convertToShares(amount)
            p.pool.withdraw(amount, p.attacker, p.attacker)
            p.pool.redeem(p.pool.balanceOf(p.attacker), p.attacker, p.attacker)
        assert p.collateral.balanceOf(p.attacker) <= before


def test_the_wallet_says_until_when_the_balance_is_locked():
    """`ape run pool` (status, deposit, withdraw) over plain numbers: the lock's end in UTC and
    how long is left, before any gas is spent."""
    from synthequity.user.preflight import (
        duration,
        lp_deposit_lock_note,
        lp_lock_problem,
        lp_lock_state,
    )

    now = 1_767_600_000  # Mon 2026-01-05 08:00:00 UTC
    assert [duration(s) for s in (0, 59, 3_600, 5 * 3_600 + 61, DAY + 7_205)] == [
        "0 s",
        "59 s",
        "1 h",
        "5 h 1 min",
        "1 d 2 h",
    ]
    assert lp_lock_state(now + 3_600, now) == ("locked until Mon 2026-01-05 09:00:00 UTC (in 1 h)")
    assert lp_lock_state(now, now) == "unlocked: withdrawals and transfers are open"
    assert lp_lock_problem(now, now, DAY) is None
    problem = lp_lock_problem(now + 90, now, DAY)
    assert problem is not None and problem.startswith(
        "pool: locked until Mon 2026-01-05 08:01:30 UTC (in 1 min 30 s)"
    )
    assert "for 1 d" in problem
    # a top-up relocks everything from now; a longer running lock is kept
    assert "until Tue 2026-01-06 08:00:00 UTC, 1 d from now" in lp_deposit_lock_note(0, now, DAY)
    assert "until Wed 2026-01-07 08:00:00 UTC, 2 d from now" in lp_deposit_lock_note(
        now + 2 * DAY, now, DAY
    )
