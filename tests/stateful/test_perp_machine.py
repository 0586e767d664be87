"""PerpMarket state machine (issue 4, first version) in a direct titanoboa harness: traders
deposit, commit, get filled or cancelled, withdraw and get liquidated while prices gap and
time passes; LPs come and go. After every step the market's own books must hold: open
interest and skew equal the positions (invariant 7), the pool's O(1) PnL equals the sum over
positions with funding accrued to now (6, and with it funding's zero sum, 5), the market holds
the margins it owes (1), nothing fills at a price older than its commit (8), and a position
grown by a fill meets the initial margin (3)."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

import boa
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from synthequity.model import perp as m
from synthequity.testing.boa_stack import deploy_factory, deployer

WAD = m.WAD
P = m.PerpParams()
TRADERS = ("t0", "t1", "t2")


@pytest.fixture(scope="module")
def perp_stack():
    admin, reporter, keeper, lp = (
        boa.env.generate_address(n) for n in ("admin", "reporter", "keeper", "lp")
    )
    traders = {name: boa.env.generate_address(name) for name in TRADERS}
    with boa.env.prank(admin):
        oracle = deployer("oracle").deploy(admin, 8, "TSLA / USD", 2_500)
        oracle.grantRole(oracle.REPORTER_ROLE(), reporter)
        usdc = deployer("stablecoin").deploy("Mock USD", "mUSD", 6)
        insurance = deployer("insurance").deploy(admin, usdc)
        factory = deploy_factory(admin)
        factory.deploy_perp(
            "TSLA", "LP", "sqLP", usdc, insurance, oracle, 120, m.MarketParams().as_tuple(), admin
        )
        market = deployer("perp").at(factory.perps("TSLA"))
        pool = deployer("pool").at(factory.pool_of(market))
        insurance.grantRole(insurance.MARKET_ROLE(), market)
    with boa.env.prank(reporter):
        oracle.push_price(200 * 10**8, boa.env.evm.patch.timestamp, 2)
    for who in (lp, *traders.values()):
        with boa.env.prank(who):
            usdc.faucet(who, 10**13)
            usdc.approve(pool, 2**256 - 1)
            usdc.approve(market, 2**256 - 1)
    with boa.env.prank(lp):
        pool.deposit(2 * 10**12, lp)  # $2M
    return dict(
        oracle=oracle,
        usdc=usdc,
        insurance=insurance,
        pool=pool,
        market=market,
        reporter=reporter,
        keeper=keeper,
        lp=lp,
        traders=traders,
    )


class PerpMachine(RuleBasedStateMachine):
    s: ClassVar[dict] = {}
    seen: ClassVar[Counter] = Counter()  # what the run exercised
    steps = 0

    @initialize()
    def start(self):
        self.price = 200 * 10**8
        self.status = 2
        for addr in self.s["traders"].values():
            with boa.env.prank(addr):
                self.s["market"].deposit_margin(50_000 * 10**6)

    def _push(self, price: int, status: int = 2) -> None:
        boa.env.time_travel(seconds=1)
        with boa.env.prank(self.s["reporter"]):
            self.s["oracle"].push_price(price, boa.env.evm.patch.timestamp, status)
        self.price, self.status = price, status

    def _send(self, who, fn, *args):
        with boa.env.prank(who):
            return getattr(self.s["market"], fn)(*args)

    trader = st.sampled_from(TRADERS)

    @rule(who=trader, dollars=st.integers(1, 200_000))
    def deposit_margin(self, who, dollars):
        self._send(self.s["traders"][who], "deposit_margin", dollars * 10**6)

    @rule(who=trader, frac_bps=st.integers(1, 10_000))
    def withdraw_margin(self, who, frac_bps):
        mk = self.s["market"]
        amount = max(mk.position(self.s["traders"][who]).margin, 0) // 10**12 * frac_bps // 10_000
        try:
            self._send(self.s["traders"][who], "withdraw_margin", amount)
        except boa.BoaError as exc:
            assert (
                "exceeds withdrawable" in str(exc)
                or "zero amount" in str(exc)
                or "market" in str(exc)
                or "stale" in str(exc)
            )

    @rule(
        who=trader,
        lev_bps=st.one_of(st.integers(-60_000, 60_000), st.sampled_from([-45_000, 45_000])),
        slip_bps=st.sampled_from([0, 1, 30, 300]),
    )
    def commit_and_execute(self, who, lev_bps, slip_bps):
        """Commit an order of up to ±6x the margin; try to fill it before and after a newer
        price; check what a fill leaves behind."""
        mk, addr = self.s["market"], self.s["traders"][who]
        if self.status != 2:
            return
        margin = mk.position(addr).margin
        size = margin * lev_bps // 10_000 * 10**8 // self.price // 10**16 * 10**16
        if size == 0 or margin < WAD:
            return
        px = self.price * 10**10
        acceptable = (
            px * (10_000 + slip_bps) // 10_000 if size > 0 else px * (10_000 - slip_bps) // 10_000
        )
        try:
            self._send(addr, "commit_order", size, acceptable)
        except boa.BoaError:
            return  # pending order, paused, margin below the keeper fee
        committed_at = mk.pending_order(addr).committed_at
        with boa.reverts("perp: no newer price"):  # invariant 8
            self._send(self.s["keeper"], "execute_order", addr)
        self._push(self.price)
        before = mk.position(addr).size
        self._send(self.s["keeper"], "execute_order", addr)
        assert mk.pending_order(addr).committed_at == 0
        self.seen["filled" if mk.position(addr).size != before else "cancelled"] += 1
        after = mk.position(addr)
        if after.size != before and abs(after.size) > abs(before):  # invariant 3
            assert self.s["oracle"].latestRoundData()[3] > committed_at
            price = self.price * 10**10
            required = m.requirement(after.size, price, P.initial_margin_bps)
            assert mk.equity(addr) >= required - WAD // 10**6

    @rule(move_bps=st.integers(-2_000, 2_000))
    def price_moves(self, move_bps):
        if self.status == 2:
            self._push(max(self.price * (10_000 + move_bps) // 10_000, 10**6))

    @rule(close=st.booleans(), gap_bps=st.integers(-2_000, 2_000))
    def market_hours(self, close, gap_bps):
        if close and self.status == 2:
            self._push(self.price, 1)
        elif not close and self.status != 2:
            self._push(max(self.price * (10_000 + gap_bps) // 10_000, 10**6), 2)

    @rule(seconds=st.sampled_from([1, 60, 3_600, 86_400]))
    def time_passes(self, seconds):
        boa.env.time_travel(seconds=seconds)
        if self.status == 2:
            self._push(self.price)  # keep the price fresh for the next actions

    @rule(who=trader)
    def liquidate(self, who):
        mk, addr = self.s["market"], self.s["traders"][who]
        if mk.is_liquidatable(addr):
            self._send(self.s["keeper"], "liquidate", addr)
            self.seen["liquidated"] += 1
            assert not mk.is_liquidatable(addr) or mk.position(addr).size == 0
        else:
            with boa.reverts():
                self._send(self.s["keeper"], "liquidate", addr)

    @invariant()
    def books_balance(self):
        type(self).steps += 1
        mk, usdc = self.s["market"], self.s["usdc"]
        positions = [mk.position(a) for a in self.s["traders"].values()]
        long_oi = sum(max(p.size, 0) for p in positions)
        short_oi = sum(max(-p.size, 0) for p in positions)
        assert mk.skew() == long_oi - short_oi  # invariant 7
        assert tuple(mk.open_interest()) == (long_oi, short_oi)
        rate, index, updated = mk.funding_state()
        now = boa.env.evm.patch.timestamp
        accrued = m.accrue_funding(
            m.FundingState(rate, index, updated), mk.skew(), self.price * 10**10, now, P
        )
        price = self.price * 10**10
        expected = sum(
            -m.pnl(m.Position(p.size, p.entry_price, 0, 0), price)
            + m.funding_owed(p.size, accrued.index, p.funding_entry)
            for p in positions
        )
        assert abs(mk.pool_pnl() - expected // 10**12) <= 3  # invariants 6 and 5
        owed = sum(max(p.margin, 0) // 10**12 for p in positions)
        escrow = sum(mk.pending_order(a).keeper_fee // 10**12 for a in self.s["traders"].values())
        assert usdc.balanceOf(mk) >= owed + escrow  # invariant 1: every margin is backed


def test_perp_books_balance(perp_stack):
    machine = type("Machine", (PerpMachine,), {"s": perp_stack, "steps": 0, "seen": Counter()})
    run_state_machine_as_test(machine, settings=settings(max_examples=60, stateful_step_count=40))
    print(f"\nperp machine: {machine.steps} steps, {dict(machine.seen)}")
    assert machine.seen["filled"] > 0 and machine.seen["cancelled"] > 0
