"""The vault state machine: random borrowers, a liquidator and the market, run against the
reference model (`synthequity.model.vault.VaultModel`). After every step the contract and the
model must agree on every position, balance and flag (SPEC.md §7 invariants 1-4, 9).

The same machine drives two backends: titanoboa directly (deep, fast) and Ape on anvil (short,
the real deploy path) — see `Backend`."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from machine_base import CLOSED, HALTED, MAX_AGE, OPEN, Backend, depth, note  # noqa: F401

from synthequity.model.vault import WAD, VaultModel, VaultParams, VaultRevert

BORROWERS = ("b0", "b1", "b2")


class VaultMachine(RuleBasedStateMachine):
    backend: Backend
    stack: Any  # oracle, collateral, insurance, vault, synth, admin, reporter
    actors: dict[str, Any]  # "b0".."b2", "liq" -> signer
    steps = 0

    # ---- setup ------------------------------------------------------------------------
    @initialize(fee_choice=st.integers(0, 2))
    def setup(self, fee_choice):
        s, b = self.stack, self.backend
        b.begin()
        self._begun = True
        fee_bps = b.fees[fee_choice % len(b.fees)]
        self.usd_per_unit = 10 ** (18 - s.collateral.decimals())
        self.price = 200 * 10**8
        self.status = OPEN
        self._push(self.price, OPEN)
        params = VaultParams(stability_fee_bps=fee_bps)
        b.send(s.vault, "set_risk_params", params.as_tuple(), sender=s.admin)
        self.model = VaultModel(self.usd_per_unit, params, last=b.now())
        self.model.rate = s.vault.rate_index()
        self.paused = False
        # the liquidator holds plenty of synth (its own, very safe, position)
        liq = self.actors["liq"]
        self._call("open", "liq", self._units(900_000), 2_000 * WAD, sender=liq)

    # ---- helpers ----------------------------------------------------------------------
    def _push(self, answer: int, status: int) -> None:
        b = self.backend
        b.advance(1)
        b.send(self.stack.oracle, "push_price", answer, b.now(), status, sender=self.stack.reporter)
        self.price, self.status, self.updated = answer, status, b.now()

    @property
    def price_wad(self) -> int:
        return self.price * 10**10

    def risk_error(self, at: int | None = None) -> str | None:
        if self.status == CLOSED:
            return "market closed"
        if self.status != OPEN:
            return "market halted"
        if (self.backend.now() if at is None else at) > self.updated + MAX_AGE:
            return "stale price"
        return None

    def _call(self, fn: str, who: str, *args: Any, sender: Any = None) -> Any:
        """Run `fn` on the model first; the contract must do the same or revert alike."""
        m, now = self.model, self.backend.now()
        try:
            if fn == "deposit":
                out = m.deposit(who, args[0], now)
            elif fn == "open":
                coll, debt = args
                if coll == 0 and debt == 0:
                    raise VaultRevert("vault: zero amount")
                probe = self._copy()
                if coll:
                    probe.deposit(who, coll, now)
                if debt:
                    probe.mint(who, debt, self.price_wad, self.risk_error(), now)
                self.model = m = probe
                out = None
            elif fn == "mint":
                out = m.mint(who, args[0], self.price_wad, self.risk_error(), now)
            elif fn == "withdraw":
                out = m.withdraw(who, args[0], self.price_wad, self.risk_error(), now)
            elif fn == "burn":
                out = m.burn(who, args[0], self.price_wad, now)
            elif fn == "close":
                out = m.close(who, now)
            elif fn == "liquidate":
                out = m.liquidate("liq", args[0], args[1], self.price_wad, self.risk_error(), now)
            else:
                raise AssertionError(fn)
        except VaultRevert as exc:
            try:
                self.backend.send(
                    self.stack.vault, fn, *self._args(fn, args), sender=sender or self.actors[who]
                )
            except Backend.Reverted as got:
                assert got.reason == exc.reason, (fn, args, got.reason, exc.reason)
                note(self, f"{fn}: reverted:{exc.reason}")
                return None
            raise AssertionError(f"{fn}{args} should revert with {exc.reason!r}") from None
        result = self.backend.send(
            self.stack.vault, fn, *self._args(fn, args), sender=sender or self.actors[who]
        )
        note(self, f"{fn}: ok")
        if fn in ("mint", "withdraw", "open"):  # invariant 3: CR >= MCR after the action
            _, debt = m.view(who, now)
            if debt:
                mcr_wad = m.params.mcr_bps * 10**14
                assert self.stack.vault.collateral_ratio(self._addr(who)) >= mcr_wad - 1
        if fn == "liquidate":
            assert result == out.repay, (result, out)
            target = args[0]
            coll, debt = m.view(target, now)
            if args[1] == 2**256 - 1:  # invariant 4: healthy, closed, or shortfall recorded
                assert debt == 0 or not m.is_liquidatable(target, self.price_wad, None, now)
                assert out.bad_debt == 0 or m.system_debt >= out.bad_debt
        return out

    def _args(self, fn: str, args: tuple) -> tuple:
        if fn == "liquidate":
            return (
                self.actors[args[0]].address
                if hasattr(self.actors[args[0]], "address")
                else self.actors[args[0]],
                args[1],
            )
        return args

    def _copy(self) -> VaultModel:
        import copy

        return copy.deepcopy(self.model)

    def _units(self, dollars: int) -> int:
        return dollars * WAD // self.usd_per_unit

    # ---- rules --------------------------------------------------------------------------
    borrower = st.sampled_from(BORROWERS)

    @rule(who=borrower, dollars=st.integers(0, 50_000))
    def deposit(self, who, dollars):
        self._call("deposit", who, self._units(dollars))

    @rule(who=borrower, frac_bps=st.integers(0, 10_500), extra=st.integers(0, 3))
    def mint(self, who, frac_bps, extra):
        coll, debt = self.model.view(who, self.backend.now())
        room = max(
            coll * self.usd_per_unit * 10_000 * WAD // (self.price_wad * self.model.params.mcr_bps)
            - debt,
            0,
        )
        self._call("mint", who, room * frac_bps // 10_000 + extra)

    @rule(who=borrower, dollars=st.integers(0, 60_000), debt_dollars=st.integers(0, 30_000))
    def open(self, who, dollars, debt_dollars):
        debt = debt_dollars * WAD * WAD // self.price_wad
        self._call("open", who, self._units(dollars), debt)

    @rule(who=borrower, frac_bps=st.integers(0, 10_000), extra=st.integers(0, 2))
    def burn(self, who, frac_bps, extra):
        _, debt = self.model.view(who, self.backend.now())
        self._call("burn", who, debt * frac_bps // 10_000 + extra)

    @rule(who=borrower, frac_bps=st.integers(0, 10_000), extra=st.integers(0, 2))
    def withdraw(self, who, frac_bps, extra):
        coll, _ = self.model.view(who, self.backend.now())
        self._call("withdraw", who, coll * frac_bps // 10_000 + extra)

    @rule(who=borrower, top_up=st.booleans())
    def close(self, who, top_up):
        if top_up:  # buy what the fees added from the liquidator
            _, debt = self.model.view(who, self.backend.now())
            need = max(debt - self.model.synth.get(who, 0), 0)
            if need:
                self.backend.send(
                    self.stack.synth, "transfer", self._addr(who), need, sender=self.actors["liq"]
                )
                self.model._move_synth("liq", -need)
                self.model._move_synth(who, need)
        self._call("close", who)

    @precondition(lambda self: any(self.model.synth.get(w, 0) for w in BORROWERS))
    @rule(data=st.data(), frac_bps=st.integers(1, 10_000))
    def transfer_synth(self, data, frac_bps):
        src = data.draw(st.sampled_from([w for w in BORROWERS if self.model.synth.get(w, 0)]))
        dst = data.draw(st.sampled_from([w for w in BORROWERS if w != src]))
        amount = self.model.synth[src] * frac_bps // 10_000
        self.backend.send(
            self.stack.synth, "transfer", self._addr(dst), amount, sender=self.actors[src]
        )
        self.model._move_synth(src, -amount)
        self.model._move_synth(dst, amount)

    @rule(who=borrower, cap=st.sampled_from([None, 0, 1, 10**17, 10**19]))
    def liquidate(self, who, cap):
        self._call("liquidate", "liq", who, 2**256 - 1 if cap is None else cap)

    @precondition(lambda self: self.status == OPEN)
    @rule(move_bps=st.integers(-2_100, 2_100))
    def price_moves(self, move_bps):
        self._push(max(self.price * (10_000 + move_bps) // 10_000, 10**6), OPEN)

    @rule(gap_bps=st.integers(-2_100, 2_100), halt=st.booleans())
    def market_closes_and_reopens(self, gap_bps, halt):
        if self.status == OPEN:
            self._push(self.price, HALTED if halt else CLOSED)
        else:
            self._push(max(self.price * (10_000 + gap_bps) // 10_000, 10**6), OPEN)

    @rule(seconds=st.sampled_from([1, 60, 119, 121, 3_600, 86_400, 30 * 86_400]))
    def time_passes(self, seconds):
        now = self.backend.now()
        before = {w: self.model.view(w, now)[1] for w in BORROWERS}
        self.backend.advance(seconds)
        for w, debt in before.items():  # debt never decreases with time alone (invariant 9)
            assert self.model.view(w, self.backend.now())[1] >= debt

    @rule()
    def guardian(self):
        """The guardian pauses a running vault, the risk admin lifts a pause."""
        pause = not self.model.paused
        self.backend.send(
            self.stack.vault, "pause" if pause else "unpause", sender=self.stack.admin
        )
        self.model.paused = pause
        note(self, "paused" if pause else "unpaused")

    def teardown(self):
        if getattr(self, "_begun", False):
            self.backend.end()

    def _addr(self, who: str) -> str:
        a = self.actors[who]
        return a.address if hasattr(a, "address") else a

    @rule()
    def keeper_scans(self):
        """The keepers' batch view and every balance agree with the model (invariant 4)."""
        s, m, now = self.stack, self.model, self.backend.view_time()
        names = list(BORROWERS)
        err = self.risk_error(now)
        expected = [m.is_liquidatable(w, self.price_wad, err, now) for w in names]
        assert list(s.vault.liquidatable([self._addr(w) for w in names])) == expected
        for w in [*names, "liq"]:
            assert s.synth.balanceOf(self._addr(w)) == m.synth.get(w, 0), w
        assert s.vault.system_debt() == m.system_debt
        assert s.vault.system_collateral() == m.system_collateral

    # ---- invariants (after every step) ----------------------------------------------------
    @invariant()
    def counts_the_step(self):
        """Not a property: runs once after every executed rule (preconditions skip the rest),
        so it is the depth the test reports and asserts."""
        type(self).steps += 1

    @invariant()
    def positions_match_model(self):
        """Every position, with fees accrued to now."""
        s, m, now = self.stack, self.model, self.backend.view_time()
        for w in (*BORROWERS, "liq"):
            assert tuple(s.vault.position(self._addr(w))) == m.view(w, now), w

    @invariant()
    def supply_equals_debt(self):
        """Invariant 2: supply == Σ recorded debt + system debt (fees minted to the fund)."""
        m = self.model
        supply = self.stack.synth.totalSupply()
        assert supply == m.total_supply == sum(p.debt for p in m.positions.values()) + m.system_debt

    @invariant()
    def insurance_synth_matches_model(self):
        s = self.stack
        assert s.synth.balanceOf(s.insurance) == self.model.synth.get("insurance", 0)

    @invariant()
    def vault_holds_what_it_owes(self):
        """Invariant 1: the vault holds exactly the collateral it owes."""
        m = self.model
        owed = sum(p.collateral for p in m.positions.values()) + m.system_collateral
        assert self.stack.collateral.balanceOf(self.stack.vault) == owed
