"""The just-in-time LP state machine (issue 15 finding 2, docs/spec.md §4 "Pool value",
docs/design/pool.md), in a direct titanoboa harness on a protocol from `deploy_protocol`.

Traders commit public orders, the oracle refreshes (time passes, funding accrues) or moves, a
passive LP comes and goes, the keeper executes and liquidates. An attacker and its accomplice
(an empty account it controls) try to take the fills' fees and premium without staying in:
the `jit_round_trip` rule deposits, lets other actors act in the same block (the attacker
itself executes the public orders and liquidates, for the keeper fees), then tries every way
out (redeem, withdraw, transfer to the accomplice and redeem there); other rules deposit and
exit at any later time.

The attacker group's pool flows are kept per *stint* (from holding no shares to holding none
again): what it deposited, what it took out, when it last deposited, whether the price moved.
The property (`inv_lp_round_trip_never_profits_at_fixed_price`): a stint that ends less than
`deposit_lock_s` after its last deposit, at a price that never moved, takes out at most what it
put in. The allowance is exact and outside the ledger: the keeper fees it is paid for executing
and liquidating (work others need), and the pool income of stints that stayed the lock or bore
a price move. Its companions: a locked balance never shrinks and reads `maxRedeem` 0; an unlock
time never moves back."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import boa
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from machine_base import Backend, BoaBackend, note, pin_clock, run_machine

from synthequity.model import perp as m
from synthequity.testing import deploy_protocol

WAD = 10**18
TRADERS = ("t0", "t1")
GROUP = ("attacker", "accomplice")  # one actor: two addresses it controls
LPS = ("lp", *GROUP)
DEPTH = {"dev": (3, 10), "ci": (6, 15), "nightly": (400, 60)}  # (examples, steps) by profile
ANY_PRICE = (2**255, 0)  # acceptable prices that never cancel a buy / a sell
WINDOW_ACTIONS = ("execute", "liquidate", "commit", "margin", "lp_deposit", "lp_withdraw")


@dataclass
class Stint:
    """The attacker group's pool flows from holding no shares to holding none again."""

    cash_in: int = 0  # collateral units deposited
    cash_out: int = 0  # collateral units taken out
    last_deposit: int = 0
    price_moved: bool = False


class LpMachine(RuleBasedStateMachine):
    backend: Backend
    stack: object  # the Protocol from deploy_protocol
    actors: dict[str, str]
    steps = 0

    # ---- setup --------------------------------------------------------------------------
    @initialize()
    def setup(self):
        self.backend.begin()
        p = self.stack
        self.lock_s = p.pool.deposit_lock_s()
        self.answer = 200 * 10**8
        self._push()
        for who in TRADERS:
            self._send(p.market, "deposit_margin", p.units(50_000), by=who)
        self._send(p.pool, "deposit", p.units(1_000_000), self._a("lp"), by="lp")
        self.stint: Stint | None = None
        self.short_stint_gain = 0  # Σ (out - in) of stints shorter than the lock, price fixed
        self.shares = self._shares()
        self.unlocks = self._unlocks()

    def teardown(self):
        """Every stint ends: one still open waits out its lock and leaves (so each example
        checks an exit after the lock, whatever the rules drew), then the invariant again."""
        if self.stint is not None:
            self._push(self.lock_s + 1)
            for label in self._exit_all():
                note(self, f"final exit {label}")
            self.inv_lp_round_trip_never_profits_at_fixed_price()
        self.backend.end()

    # ---- helpers ------------------------------------------------------------------------
    def _a(self, who: str) -> str:
        return self.actors[who]

    def _send(self, contract, fn: str, *args, by: str):
        """The call's result, or the revert reason as a string (the outcome is reported)."""
        try:
            return self.backend.send(contract, fn, *args, sender=self._a(by))
        except Backend.Reverted as exc:
            return f"reverted:{exc.reason}"

    def _push(self, dt: int = 1) -> None:
        self.backend.advance(dt)
        p = self.stack
        p.oracle.push_price(self.answer, self.backend.now(), 2, sender=p.reporter)

    def _shares(self) -> dict[str, int]:
        return {w: self.stack.pool.balanceOf(self._a(w)) for w in LPS}

    def _unlocks(self) -> dict[str, int]:
        return {w: self.stack.pool.unlock_at(self._a(w)) for w in LPS}

    def _pending(self) -> list[str]:
        mk = self.stack.market
        return [w for w in TRADERS if mk.pending_order(self._a(w)).committed_at != 0]

    def _group_shares(self) -> int:
        return sum(self.stack.pool.balanceOf(self._a(w)) for w in GROUP)

    def _commit(self, who: str, lev_bps: int) -> str:
        mk = self.stack.market
        margin = mk.position(self._a(who)).margin
        size = margin * lev_bps // 10_000 * WAD // (self.answer * 10**10) // 10**16 * 10**16
        if size == 0:
            return "commit: zero"
        out = self._send(mk, "commit_order", size, ANY_PRICE[0 if size > 0 else 1], by=who)
        return f"commit: {_label(out)}"

    def _execute(self, who: str, by: str) -> str:
        mk = self.stack.market
        out = self._send(mk, "execute_order", self._a(who), by=by)
        if isinstance(out, str):
            return f"execute: {out}"
        names = [name for name, _ in self.backend.events(mk)]
        return "execute: filled" if "OrderFilled" in names else "execute: cancelled"

    def _liquidate_all(self, by: str) -> list[str]:
        mk, out = self.stack.market, []
        flags = mk.liquidatable([self._a(w) for w in TRADERS])
        for who, flag in zip(TRADERS, flags, strict=True):
            if flag:
                res = self._send(mk, "liquidate", self._a(who), by=by)
                out.append(f"liquidate: {_label(res)}")
        return out

    # ---- the attacker group's ledger --------------------------------------------------------
    def _group_deposit(self, dollars: int, receiver: str) -> str:
        p = self.stack
        units = p.units(dollars)
        out = self._send(p.pool, "deposit", units, self._a(receiver), by="attacker")
        if isinstance(out, str):
            return f"deposit: {out}"
        if self.stint is None:
            self.stint = Stint()
        self.stint.cash_in += units
        self.stint.last_deposit = self.backend.now()
        return "deposit: ok"

    def _group_takes(self, assets: int) -> None:
        assert self.stint is not None
        self.stint.cash_out += assets
        if self._group_shares() == 0:  # the stint ends
            s, now = self.stint, self.backend.now()
            if now - s.last_deposit < self.lock_s and not s.price_moved:
                self.short_stint_gain += s.cash_out - s.cash_in
                note(self, "stint ended before the lock")
            else:
                note(self, "stint ended after the lock")
            self.stint = None

    def _exit_all(self) -> list[str]:
        """Every way out: move the attacker's shares to the accomplice, then redeem (or
        withdraw what `maxWithdraw` allows) from both."""
        pool, out = self.stack.pool, []
        shares = pool.balanceOf(self._a("attacker"))
        if shares and pool.balanceOf(self._a("accomplice")) == 0:
            res = self._send(pool, "transfer", self._a("accomplice"), shares, by="attacker")
            out.append(f"transfer: {_label(res)}")
        for who in GROUP:
            addr = self._a(who)
            shares = pool.balanceOf(addr)
            if shares == 0:
                continue
            res = self._send(pool, "redeem", shares, addr, addr, by=who)
            if isinstance(res, str):
                out.append(f"redeem: {res}")
                can = pool.maxWithdraw(addr)
                if can:
                    res = self._send(pool, "withdraw", can, addr, addr, by=who)
                    assert not isinstance(res, str), res  # maxWithdraw is honest
                    self._group_takes(can)
                    out.append("withdraw: ok")
                continue
            self._group_takes(res)
            out.append("redeem: ok")
        return out

    # ---- the attacker -------------------------------------------------------------------------
    @rule(
        dollars=st.integers(1_000, 5_000_000),
        to_accomplice=st.booleans(),
        lev_bps=st.integers(-40_000, 40_000),
        actions=st.lists(st.sampled_from(WINDOW_ACTIONS), max_size=3),
    )
    def jit_round_trip(self, dollars, to_accomplice, lev_bps, actions):
        """The issue's attack: a public order waits (a trader commits one if none does, and
        the next price makes it executable); then, in one block, the attacker deposits (for
        itself, or for the accomplice), executes every waiting order for the keeper fee, the
        others act, and the group tries every way out."""
        for who in self._pending():  # past its window an order only cancels (finding 7)
            if not isinstance(
                self._send(self.stack.market, "cancel_order", self._a(who), by="keeper"), str
            ):
                note(self, "jit stale order cancelled")
        if not self._pending():
            note(self, f"jit order {self._commit(TRADERS[0], lev_bps)}")
        self._push()  # the first price after every waiting commit: each is executable now
        receiver = "accomplice" if to_accomplice else "attacker"
        note(self, f"jit {self._group_deposit(dollars, receiver)}")
        for action in ("execute", *actions):
            for label in self._window_action(action):
                note(self, f"jit window {label}")
        for label in self._exit_all():
            note(self, f"jit {label}")

    def _window_action(self, action: str) -> list[str]:
        p = self.stack
        if action == "execute":
            return [self._execute(w, by="attacker") for w in self._pending()]
        if action == "liquidate":
            return self._liquidate_all(by="attacker")
        if action == "commit":
            free = [w for w in TRADERS if w not in self._pending()]
            return [self._commit(free[0], 30_000)] if free else []
        if action == "margin":
            res = self._send(p.market, "deposit_margin", p.units(1_000), by="t0")
            return [f"margin: {_label(res)}"]
        if action == "lp_deposit":
            res = self._send(p.pool, "deposit", p.units(50_000), self._a("lp"), by="lp")
            return [f"lp deposit: {_label(res)}"]
        can = p.pool.maxWithdraw(self._a("lp"))
        res = self._send(p.pool, "withdraw", can // 2, self._a("lp"), self._a("lp"), by="lp")
        return [f"lp withdraw: {_label(res)}"]

    @rule(dollars=st.integers(1_000, 2_000_000), to_accomplice=st.booleans())
    def attacker_deposits(self, dollars, to_accomplice):
        receiver = "accomplice" if to_accomplice else "attacker"
        note(self, self._group_deposit(dollars, receiver))

    @precondition(lambda self: self.stint is not None)
    @rule()
    def attacker_exits(self):
        for label in self._exit_all():
            note(self, f"exit {label}")

    # ---- everyone else ------------------------------------------------------------------------
    @rule(who=st.sampled_from(TRADERS), lev_bps=st.integers(-40_000, 40_000))
    def trader_commits(self, who, lev_bps):
        """A public order: anyone may execute it after the next price."""
        if who in self._pending():
            who = TRADERS[1 - TRADERS.index(who)]
        note(self, self._commit(who, lev_bps))

    @precondition(lambda self: bool(self._pending()))
    @rule()
    def keeper_executes(self):
        for who in self._pending():
            note(self, self._execute(who, by="keeper"))

    @rule(seconds=st.sampled_from([60, 3_600, 86_400]))
    def time_passes(self, seconds):
        """The same price, refreshed: funding accrues, pending orders become executable, locks
        run out."""
        self._push(seconds)
        for label in self._liquidate_all(by="keeper"):
            note(self, label)

    @rule(move_bps=st.integers(-1_500, 1_500).filter(lambda b: b != 0))
    def price_moves(self, move_bps):
        self.answer = max(self.answer * (10_000 + move_bps) // 10_000, 10**8)
        self._push(60)
        if self.stint is not None:
            self.stint.price_moved = True
        for label in self._liquidate_all(by="keeper"):
            note(self, label)

    @rule(dollars=st.integers(1_000, 500_000), withdraw=st.booleans())
    def lp_comes_and_goes(self, dollars, withdraw):
        p, lp = self.stack, self._a("lp")
        if withdraw:
            amount = min(p.units(dollars), p.pool.maxWithdraw(lp))
            res = self._send(p.pool, "withdraw", amount, lp, lp, by="lp") if amount else "none"
        else:
            res = self._send(p.pool, "deposit", p.units(dollars), lp, by="lp")
        note(self, f"lp {'withdraw' if withdraw else 'deposit'}: {_label(res)}")

    # ---- invariants ---------------------------------------------------------------------------
    @invariant()
    def counts_the_step(self):
        """Not a property: the depth the test reports."""
        type(self).steps += 1

    @invariant()
    def inv_lp_round_trip_never_profits_at_fixed_price(self):
        """docs/spec.md §4 "Pool value": a stint shorter than the lock at an unchanged price
        takes out at most what it put in (keeper fees are not in the ledger)."""
        assert self.short_stint_gain <= 0, self.short_stint_gain

    @invariant()
    def inv_a_locked_balance_never_leaves(self):
        """While an account's lock runs, its shares do not decrease and `maxRedeem` /
        `maxWithdraw` say 0 (ERC-4626: what would not revert)."""
        pool, now = self.stack.pool, self.backend.now()
        shares = self._shares()
        for who in LPS:
            if now < self.unlocks[who]:
                assert shares[who] >= self.shares[who], who
            if now < pool.unlock_at(self._a(who)):
                assert pool.maxRedeem(self._a(who)) == 0 == pool.maxWithdraw(self._a(who))
        self.shares = shares

    @invariant()
    def inv_unlock_time_never_moves_back(self):
        unlocks = self._unlocks()
        assert all(unlocks[w] >= self.unlocks[w] for w in LPS), (unlocks, self.unlocks)
        self.unlocks = unlocks


@pytest.fixture(scope="module")
def lp_stack():
    pin_clock("lp")
    params = m.MarketParams(
        math=dataclasses.replace(m.PerpParams(), skew_scale=50_000 * WAD)  # premiums matter
    )
    p = deploy_protocol(decimals=6, perp_params=params)
    actors = {w: boa.env.generate_address(w) for w in (*TRADERS, "keeper", "lp", *GROUP)}
    actors["lp"] = p.lp
    for who in actors.values():
        p.fund(who, 50_000_000)
    return p, actors


def _label(result: object) -> str:
    """A `_send` result as an outcome label: the revert reason, or "ok"."""
    return result if isinstance(result, str) else "ok"


def test_just_in_time_lp_never_profits(lp_stack, capsys):
    p, actors = lp_stack
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    examples, steps = DEPTH[profile]

    def report(line: str) -> None:
        with capsys.disabled():
            print(line)

    machine = run_machine(
        LpMachine, BoaBackend(), p, actors, examples=examples, steps=steps, report=report
    )
    if profile != "dev":  # the attack was tried and refused, and exits do happen
        assert machine.seen["jit window execute: filled"], machine.seen
        assert machine.seen["jit redeem: reverted:pool: locked"], machine.seen
        assert machine.seen["stint ended after the lock"], machine.seen
