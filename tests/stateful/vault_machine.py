"""The vault state machine: random borrowers (three large, two with $1-$50 of collateral and
debt), an attacker, a liquidator and the market, run against the reference model
(`synthequity.model.vault.VaultModel`). After every step the contract and the model must
agree on every position, balance and flag (SPEC.md §7 invariants 1-4, 9), and the
adversarial properties hold (§7 11, 13, 14), each a named invariant:

- `inv_attacker_gains_nothing_at_an_unchanged_price` (§7.11). The attacker's value is its
  collateral tokens + its position's equity at the oracle price, never below zero (a debt is
  non-recourse) + its synth at the oracle price (the frozen price once delisted), all in USD
  wad. From the last price change on (or from the start), it never exceeds its value then
  plus the allowance: the exact sum, over every liquidation the attacker made, of its reward
  (collateral received x USD per unit - synth burned x price) — a liquidation is work the
  protocol needs (a position below the ratio), paid the same to whoever does it. Its actions:
  every borrower's, buying the fund's fee synth, liquidating anyone (itself included),
  settling anyone and redeeming after a delisting.
- `inv_every_borrower_can_repay_in_full` (§7.13, finding 5): Σ debt of every position is
  covered by the synth outside the fund, the fund's synth and the fees not yet minted (which
  go to the fund); and whenever the fund holds synth and the price is usable, the fund's
  whole balance can be bought (tried in a titanoboa anchor, so nothing changes). The rule
  `last_borrower_closes` gathers every synth and closes for real.
- `inv_delisting_redemption_is_order_independent` (§7.14, finding 6): at the delisting the
  machine predicts the one redemption rate from that moment's book alone (every debt at the
  frozen index, the fund's cover min(balance, Σ gaps)), whatever the order positions are
  then settled in; every redemption pays exactly amount x that rate (rounded down to the
  unit), and none is paid before every debt is settled.

Redemptions at the oracle price and the stability pool (issue 19), against the model
(`VaultModel.redeem_listed`, `plan_redemption`, `keeper_reward`) and the exact rational
pool model (`StabilityPoolModel`); the pool's rules run where the stack has one (titanoboa):

- `inv_sorted_list_matches_model`: while listed, the vault's list holds exactly the positions
  with debt, each with the key of its recorded position, in nondecreasing key order.
- `inv_redemption_raises_no_ratio_and_touches_only_its_prefix`: after a redemption (rule
  `redeem_listed`, hints from `plan_redemption`, sometimes a stale plan's, none or wrong
  ones), the positions taken are the list's first ones at or above the liquidation ratio, in
  order; each one's ratio did not fall; every other position's recorded word is unchanged;
  and supply == Σ recorded debt + system debt, exactly, from raw storage alone.
- `inv_pool_synth_matches_compounded_deposits`: the pool's synth == Σ exact compounded
  deposits (+ waiting synth), exactly; Σ of the pool's own figures (rounded down) <= it, and
  each depositor's figure is within exact x (1 + n) x 1e-9 + n + 1 wei + its deposits / the
  lowest P the pool has had of its exact value (n = the pool operations so far; the last term
  is what the scheme drops outright: a deposit two scales down or an emptied epoch's dust;
  docs/design/vault.md).
- `inv_pool_pays_out_at_most_what_it_received`: the pool's collateral == received (the
  model's liquidations) - paid (measured at each depositor), and paid <= received.
- `inv_no_depositor_takes_more_than_its_share`: no depositor has withdrawn more synth than
  its exact compounded deposit, nor been paid more collateral than its exact pro-rata gain
  (each within the rounding bound above of the exact value, never above it).
The attacker also redeems, deposits, withdraws, claims and liquidates through the pool: its
value counts its exact entitlement in the pool, and its allowance grows by its exact share
of each pool liquidation's gain (collateral x USD per unit - synth burned x price), by the
keeper's reward when it liquidates through the pool, and by the rounding a redemption by
someone else leaves to it as a redeemed owner (its collateral rounds down in its favour,
< one unit): the rest must stay at its value at the last price change.

The same machine drives two backends: titanoboa directly (deep, fast) and Ape on anvil (short,
the real deploy path) — see `Backend`."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import boa
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from machine_base import (  # noqa: F401
    CLOSED,
    HALTED,
    MAX_AGE,
    OPEN,
    Backend,
    BoaBackend,
    depth,
    find_slot,
    hashmap_slot,
    note,
)

from synthequity.model.oracle import dividend_factor_e12, quote_to_base_wad
from synthequity.model.stability_pool import StabilityPoolModel
from synthequity.model.vault import (
    WAD,
    ZERO,
    ListEntry,
    RedemptionPlan,
    VaultModel,
    VaultParams,
    VaultRevert,
    ceil_div,
    is_below,
    keeper_reward,
    liquidation,
    liquidation_price,
    plan_redemption,
)

BORROWERS = ("b0", "b1", "b2")
SMALL = ("s0", "s1")  # $1-$50 of collateral and debt: minimums, dust and rounding
ATTACKER = "attacker"
INSURANCE = "insurance"  # the model's name for the fund
POOL = "sp"  # the model's name for the stability pool (a synth holder)
USERS = (*BORROWERS, *SMALL, ATTACKER)
EVERYONE = (*USERS, "liq")
DELIST_AFTER = 25  # steps into an example before the admin may delist


def _top_reason(reason: str) -> str:
    """A revert through the extension whose trace holds a frame titanoboa cannot name (a
    call the delegate made) comes back as the whole trace: the reason is then the `<...>` of
    its first failing frame."""
    found = re.search(r"\[E\] \[\d+\] [^\n]*<([^>\n]*)>", reason)
    return found.group(1) if found and reason.lstrip().startswith("=") else reason


class Reads:
    """What the invariants read after every step: raw storage words where the backend has a
    cheap reader (titanoboa: ~µs against ~ms a view call), else the contracts' views. The
    vault's positions come raw as recorded (collateral, debt, index: `synth_vault.vy`'s
    packing), a stricter check than the views, which `keeper_scans` also compares."""

    def __init__(self, backend: Backend, stack: Any, keys: dict[str, str]):
        self.stack, self.keys = stack, keys
        self.words = {
            name: backend.storage(getattr(stack, name)) for name in ("vault", "synth", "collateral")
        }
        self.slots: dict[tuple[str, str], int] = {}
        self.raw = all(w is not None for w in self.words.values())
        if not self.raw:
            return
        found = {}
        for contract, names in (
            ("vault", ("_pos", "_node")),
            ("synth", ("balanceOf", "totalSupply")),
            ("collateral", ("balanceOf",)),
        ):
            tree = getattr(stack, contract).compiler_data.storage_layout["storage_layout"]
            for name in names:
                found[contract, name] = find_slot(tree, name)
        if any(v is None for v in found.values()):
            self.raw = False
            return
        for contract, var in (
            ("vault", "_pos"),
            ("vault", "_node"),
            ("synth", "balanceOf"),
            ("collateral", "balanceOf"),
        ):
            for who, key in keys.items():
                self.slots[contract, var + who] = hashmap_slot(int(found[contract, var]), key)  # type: ignore[arg-type]
        self.slots["vault", "_node"] = hashmap_slot(int(found["vault", "_node"]), ZERO)  # type: ignore[arg-type]
        self.slots["synth", "totalSupply"] = int(found["synth", "totalSupply"])  # type: ignore[arg-type]

    def _word(self, contract: str, name: str) -> int:
        return self.words[contract](self.slots[contract, name])  # type: ignore[misc]

    def recorded(self, who: str) -> tuple[int, int, int] | None:
        """(collateral, recorded debt, index it was recorded at) raw; None without a reader."""
        if not self.raw:
            return None
        w = self._word("vault", "_pos" + who)
        return w & (2**96 - 1), (w >> 96) & (2**88 - 1), w >> 184

    def listed(self) -> list[tuple[str, int]]:
        """The vault's sorted list, head first: [(actor, key)] (raw, else `sorted_node`)."""
        names = {str(a).lower(): w for w, a in self.keys.items()}
        out: list[tuple[str, int]] = []
        cur = ZERO
        for _ in range(len(names) + 1):
            if self.raw:
                w = self._word("vault", "_node" + (names[cur.lower()] if cur != ZERO else ""))
                nxt = "0x" + format(w & (2**160 - 1), "040x")
            else:
                nxt = str(self.stack.vault.sorted_node(cur)[0])
            if int(nxt, 16) == 0:
                return out
            name = names[nxt.lower()]
            if self.raw:
                key = self._word("vault", "_node" + name) >> 160
            else:
                key = int(self.stack.vault.sorted_node(nxt)[1])
            out.append((name, key))
            cur = nxt
        raise AssertionError("the sorted list has a cycle")

    def synth(self, who: str) -> int:
        if self.raw:
            return self._word("synth", "balanceOf" + who)
        return int(self.stack.synth.balanceOf(self.keys[who]))

    def supply(self) -> int:
        if self.raw:
            return self._word("synth", "totalSupply")
        return int(self.stack.synth.totalSupply())

    def collateral(self, who: str) -> int:
        if self.raw:
            return self._word("collateral", "balanceOf" + who)
        return int(self.stack.collateral.balanceOf(self.keys[who]))


class VaultMachine(RuleBasedStateMachine):
    backend: Backend
    stack: Any  # oracle, collateral, insurance, vault, synth, admin, reporter
    actors: dict[str, Any]  # "b0".."b2", "liq" -> signer
    steps = 0

    # ---- setup ------------------------------------------------------------------------
    @initialize(fee_choice=st.integers(0, 2), min_debt_usd=st.sampled_from([100, 1]))
    def setup(self, fee_choice, min_debt_usd):
        s, b = self.stack, self.backend
        b.begin()
        self._begun = True
        fee_bps = b.fees[fee_choice % len(b.fees)]
        self.usd_per_unit = 10 ** (18 - s.collateral.decimals())
        self.price = 200 * 10**8
        self.mult_wad = WAD  # the oracle's shares multiplier (dividends raise it)
        self.status = OPEN
        self.example_steps = 0
        self._push(self.price, OPEN)
        # $1 minimum debt in half the examples: the small actors then really borrow $1-$50
        params = VaultParams(stability_fee_bps=fee_bps, min_debt_usd=min_debt_usd * WAD)
        b.send(s.vault, "set_risk_params", params.as_tuple(), sender=s.admin)
        self.model = VaultModel(self.usd_per_unit, params, last=b.now())
        self.model.rate = s.vault.rate_index()
        self.paused = False
        if not hasattr(type(self), "reads"):  # once per run: the addresses do not change
            keys = {w: self._addr(w) for w in EVERYONE}
            keys.update({INSURANCE: str(s.insurance.address), "vault": str(s.vault.address)})
            if getattr(s, "stability_pool", None) is not None:
                keys[POOL] = str(s.stability_pool.address)
            type(self).reads = Reads(b, s, keys)
        # the stability pool (issue 19): the exact model, what it received and paid out
        self.pool = getattr(s, "stability_pool", None)
        self.sp_model = StabilityPoolModel(self.usd_per_unit)
        self.sp_received = 0  # collateral units, the model's liquidations through the pool
        self.sp_paid: dict[str, int] = {}  # collateral units paid to each depositor
        self.sp_ops = 0  # pool operations (the rounding bound grows with them)
        self.sp_deposited: dict[str, int] = {}  # synth each depositor put in, in all
        self.sp_p_min = WAD  # the lowest P the pool has had (`_sp_dropped`)
        # synth each depositor's figure may have lost to the liquidations' rounding
        self.sp_slack: dict[str, Fraction] = {}
        self.sp_gain_slack: dict[str, Fraction] = {}  # the same for gains, collateral units
        self.max_price_wad = self.price_wad
        self.last_redemption: dict[str, Any] | None = None  # checked by its invariant
        self.stale_plan: RedemptionPlan | None = None  # an earlier plan's hints
        # the liquidator holds plenty of synth (its own, very safe, position)
        liq = self.actors["liq"]
        self._call("open", "liq", self._units(900_000), 2_000 * WAD, sender=liq)
        # the attacker's value at the current price (§7.11), and what it may gain on top
        self.attacker_base = self.attacker_value()
        self.attacker_allowance = 0
        # delisting (§7.14): the rate predicted at the freeze, the redemptions made
        self.predicted_rate: int | None = None
        self.redemptions: list[tuple[int, int]] = []
        self.probed_fee_synth = -1

    # ---- helpers ----------------------------------------------------------------------
    def _push(self, answer: int, status: int) -> None:
        b = self.backend
        b.advance(1)
        b.send(self.stack.oracle, "push_price", answer, b.now(), status, sender=self.stack.reporter)
        moved = answer != getattr(self, "price", answer)
        self.price, self.status, self.updated = answer, status, b.now()
        self.max_price_wad = max(getattr(self, "max_price_wad", 0), self.price_wad)
        if moved and not self.model.settlement_price:  # §7.11 holds at an unchanged price
            self.attacker_base = self.attacker_value()
            self.attacker_allowance = 0

    def attacker_value(self) -> int:
        """Tokens + position equity (>= 0) + synth at the oracle (frozen) price, in USD wad x
        WAD: exact, so no rounding of the measure itself can show a gain (the nightly run
        found +1 wad when the debt was valued rounded up and the synth rounded down)."""
        m, now = self.model, self.backend.now()
        price = m.settlement_price or self.price_wad
        tokens = self.reads.collateral(ATTACKER) * self.usd_per_unit * WAD
        coll, debt = m.view(ATTACKER, now)
        equity = max(coll * self.usd_per_unit * WAD - debt * price, 0)
        return tokens + equity + m.synth.get(ATTACKER, 0) * price + self._pool_value(price)

    def _pool_value(self, price: int) -> Fraction:
        """The attacker's exact entitlement in the pool (its compounded deposit and waiting
        synth at `price`, its gains), USD wad x WAD: an upper bound of what it can take out
        (`inv_no_depositor_takes_more_than_its_share`)."""
        sp = getattr(self, "sp_model", None)
        if sp is None:
            return Fraction(0)
        synth = sp.active.get(ATTACKER, Fraction(0)) + sp.pending.get(ATTACKER, (0, 0))[0]
        return synth * price + sp.gains.get(ATTACKER, Fraction(0)) * WAD

    @property
    def price_wad(self) -> int:
        """One base share (the synth's unit) in 1e18 USD: the quote x the multiplier."""
        return quote_to_base_wad(self.price, 8, getattr(self, "mult_wad", WAD))

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
                out = m.close(who, now, self.price_wad, self.risk_error())
            elif fn == "liquidate":
                out = m.liquidate(who, args[0], args[1], self.price_wad, self.risk_error(), now)
            elif fn == "buy_fee_synth":
                out = m.buy_fee_synth(who, args[0], args[1], self.price_wad, self.risk_error())
            elif fn == "settle_position":
                out = m.settle_position(who, args[0], now)
            elif fn == "redeem":
                out = m.redeem(who, args[0])
            elif fn == "redeem_fees":
                self._last_fee_synth = m.synth.get(INSURANCE, 0)
                out = m.redeem(INSURANCE, self._last_fee_synth)
            else:
                raise AssertionError(fn)
        except VaultRevert as exc:
            try:
                self.backend.send(
                    self.stack.vault, fn, *self._args(fn, args), sender=sender or self.actors[who]
                )
            except Backend.Reverted as got:
                reason = _top_reason(got.reason)
                assert reason == exc.reason, (fn, args, reason, exc.reason)
                note(self, f"{fn}: reverted:{exc.reason}")
                return None
            raise AssertionError(f"{fn}{args} should revert with {exc.reason!r}") from None
        result = self.backend.send(
            self.stack.vault, fn, *self._args(fn, args), sender=sender or self.actors[who]
        )
        note(self, f"{fn}: ok")
        # invariant 3: CR >= MCR after an action that mints or withdraws (an `open` minting
        # nothing only deposits: the nightly run found one on a position already under it)
        if fn in ("mint", "withdraw") or (fn == "open" and args[1]):
            _, debt = m.view(who, now)
            if debt:
                mcr_wad = m.params.mcr_bps * 10**14
                assert self.stack.vault.collateral_ratio(self._addr(who)) >= mcr_wad - 1
        if fn in ("buy_fee_synth", "redeem", "redeem_fees"):
            assert result == out, (fn, result, out)
        if fn in ("redeem", "redeem_fees"):
            self.redemptions.append((args[0] if fn == "redeem" else self._last_fee_synth, out))
        if fn == "liquidate":
            assert result == out.repay, (result, out)
            if out.bought:
                note(self, "liquidate: ok, the fund's synth bought for the liquidator")
            if who == ATTACKER:  # its reward: the allowance of §7.11
                self.attacker_allowance += (
                    out.to_liquidator * self.usd_per_unit * WAD
                    - (out.repay - out.bought) * self.price_wad
                )
            target = args[0]
            coll, debt = m.view(target, now)
            if args[1] == 2**256 - 1:  # invariant 4: healthy, closed, or shortfall recorded
                assert debt == 0 or not m.is_liquidatable(target, self.price_wad, None, now)
                assert out.bad_debt == 0 or m.system_debt >= out.bad_debt
        return out

    def _args(self, fn: str, args: tuple) -> tuple:
        if fn in ("liquidate", "settle_position"):
            return (self._addr(args[0]), *args[1:])
        return args

    def _copy(self) -> VaultModel:
        import copy

        return copy.deepcopy(self.model)

    def _units(self, dollars: int) -> int:
        return dollars * WAD // self.usd_per_unit

    # ---- rules --------------------------------------------------------------------------
    user = st.sampled_from(USERS)
    anyone = st.sampled_from(EVERYONE)

    @staticmethod
    def _small(who: str, dollars: int) -> int:
        """$1-$50 for the small actors (0 stays 0: the zero-amount revert)."""
        return 1 + dollars % 50 if who in SMALL and dollars else dollars

    def _step(self) -> None:
        self.example_steps += 1
        self.last_redemption = None
        self.round_trip: tuple[int, int, int] | None = None

    @rule(who=user, dollars=st.integers(0, 50_000))
    def deposit(self, who, dollars):
        self._step()
        self._call("deposit", who, self._units(self._small(who, dollars)))

    @rule(who=user, frac_bps=st.integers(0, 10_500), extra=st.integers(0, 3))
    def mint(self, who, frac_bps, extra):
        self._step()
        coll, debt = self.model.view(who, self.backend.now())
        room = max(
            coll * self.usd_per_unit * 10_000 * WAD // (self.price_wad * self.model.params.mcr_bps)
            - debt,
            0,
        )
        self._call("mint", who, room * frac_bps // 10_000 + extra)

    @rule(who=user, dollars=st.integers(0, 60_000), debt_dollars=st.integers(0, 30_000))
    def open(self, who, dollars, debt_dollars):
        self._step()
        debt = self._small(who, debt_dollars) * WAD * WAD // self.price_wad
        self._call("open", who, self._units(self._small(who, dollars)), debt)

    @rule(who=user, frac_bps=st.integers(0, 10_000), extra=st.integers(0, 2))
    def burn(self, who, frac_bps, extra):
        self._step()
        _, debt = self.model.view(who, self.backend.now())
        self._call("burn", who, debt * frac_bps // 10_000 + extra)

    @rule(who=user, frac_bps=st.integers(0, 10_000), extra=st.integers(0, 2))
    def withdraw(self, who, frac_bps, extra):
        self._step()
        coll, _ = self.model.view(who, self.backend.now())
        self._call("withdraw", who, coll * frac_bps // 10_000 + extra)

    def _gather(self, who: str) -> None:
        """`who` gets what its debt lacks: first the fund's synth (bought at the oracle price,
        when the model says the sale goes through), then, for anyone but the attacker (no
        gifts: §7.11), from the liquidator."""
        m = self.model
        _, debt = m.view(who, self.backend.now())
        need = max(debt - m.synth.get(who, 0), 0)
        from_fund = min(need, m.synth.get(INSURANCE, 0))
        if from_fund:
            self._call("buy_fee_synth", who, from_fund, 2**256 - 1)
            need = max(debt - m.synth.get(who, 0), 0)
        if need and who != ATTACKER:
            need = min(need, m.synth.get("liq", 0))
            self.backend.send(
                self.stack.synth, "transfer", self._addr(who), need, sender=self.actors["liq"]
            )
            m._move_synth("liq", -need)
            m._move_synth(who, need)

    @rule(who=user, top_up=st.booleans())
    def close(self, who, top_up):
        self._step()
        if top_up:
            self._gather(who)
        self._call("close", who)

    @precondition(lambda self: self.model.synth.get(INSURANCE, 0) > 0)
    @rule(who=user, frac_bps=st.integers(1, 10_000), tight=st.booleans())
    def buy_fee_synth(self, who, frac_bps, tight):
        """Anyone buys the fund's fee synth at the oracle price (finding 5)."""
        self._step()
        amount = max(self.model.synth[INSURANCE] * frac_bps // 10_000, 1)
        cost = self.model.fee_synth_cost(amount, self.price_wad)
        self._call("buy_fee_synth", who, amount, cost - 1 if tight else cost)

    @rule(who=st.sampled_from(BORROWERS))
    def last_borrower_closes(self, who):
        """Every other holder's synth and the fund's go to `who`, which repays in full and
        takes all its collateral (§7.13): the whole supply is reachable."""
        self._step()
        m = self.model
        for src in (*USERS, "liq"):
            amount = m.synth.get(src, 0)
            if src in (who, ATTACKER) or not amount:
                continue  # the attacker gives nothing away (§7.11)
            self.backend.send(
                self.stack.synth, "transfer", self._addr(who), amount, sender=self.actors[src]
            )
            m._move_synth(src, -amount)
            m._move_synth(who, amount)
        self._gather(who)
        # the close lands a block later, as on a real chain: the fee accrued meanwhile is not
        # in `who`'s hands, and the close buys it from the fund (finding 5)
        self.backend.advance(12)
        self._call("close", who)

    @precondition(lambda self: any(self.model.synth.get(w, 0) for w in BORROWERS))
    @rule(data=st.data(), frac_bps=st.integers(1, 10_000))
    def transfer_synth(self, data, frac_bps):
        self._step()
        src = data.draw(st.sampled_from([w for w in BORROWERS if self.model.synth.get(w, 0)]))
        dst = data.draw(st.sampled_from([w for w in (*BORROWERS, *SMALL) if w != src]))
        amount = self.model.synth[src] * frac_bps // 10_000
        self.backend.send(
            self.stack.synth, "transfer", self._addr(dst), amount, sender=self.actors[src]
        )
        self.model._move_synth(src, -amount)
        self.model._move_synth(dst, amount)

    @rule(
        who=user,
        liquidator=st.sampled_from(["liq", ATTACKER]),
        cap=st.sampled_from([None, 0, 1, 10**17, 10**19]),
    )
    def liquidate(self, who, liquidator, cap):
        self._step()
        # what a liquidation short of synth may buy from the fund (the keepers' view)
        want = self.model.fee_synth_available(who, self.backend.view_time())
        assert self.stack.vault.fee_synth_available(self._addr(who)) == want
        self._call("liquidate", liquidator, who, 2**256 - 1 if cap is None else cap)

    @precondition(
        lambda self: (
            not self.model.settlement_price
            and any(p.debt for w, p in self.model.positions.items() if w != "liq")
        )
    )
    @rule(
        data=st.data(),
        liquidator=st.sampled_from(["liq", ATTACKER]),
        over_bps=st.integers(1, 3_000),
        via_pool=st.booleans(),
        lack_bps=st.sampled_from([0, 0, 0, 5_000, 10_000, 10_001]),
    )
    def squeeze(self, data, liquidator, over_bps, via_pool, lack_bps):
        """The price rises `over_bps` past a borrower's liquidation price (under water beyond
        ~12%) in fresh OPEN prints the oracle's jump guard accepts (at most four), then a
        liquidation: the paths a random walk rarely reaches in one example. With `lack_bps`,
        the liquidator first hands synth to "liq" until it lacks that share of what the
        fund could sell it (`fee_synth_available`; above 100%: refused, "vault: synth
        short")."""
        self._step()
        m = self.model
        debtors = [w for w, p in m.positions.items() if p.debt and w != "liq"]
        who = data.draw(st.sampled_from(sorted(debtors)))
        coll, debt = m.view(who, self.backend.now())
        target_wad = liquidation_price(coll, debt, m.params, self.usd_per_unit)
        assert target_wad is not None
        target = ceil_div(target_wad * (10_000 + over_bps) // 10_000 * 10**8, self.mult_wad)
        for _ in range(4):
            self._push(max(min(target, self.price * 12_000 // 10_000), self.price), OPEN)
            if self.price >= target:
                break
        if via_pool and self.pool is not None and self.pool.total_deposits():
            self._sp_liquidate(liquidator, who, fallback=True)
            return
        if lack_bps and liquidator != "liq":
            self._lack(liquidator, who, lack_bps)
        self._call("liquidate", liquidator, who, 2**256 - 1)

    def _lack(self, liquidator: str, who: str, lack_bps: int) -> None:
        """`liquidator` keeps only what a whole-enough liquidation of `who` would burn less
        `lack_bps` of the fund's synth it may buy (the rest goes to "liq")."""
        m, now = self.model, self.backend.now()
        coll, debt = m.view(who, now)
        try:
            repay = liquidation(
                coll, debt, self.price_wad, m.params, self.usd_per_unit, 2**256 - 1
            ).repay
        except VaultRevert:
            return
        available = m.fee_synth_available(who, now)
        keep = max(repay - available * lack_bps // 10_000, 0)
        excess = m.synth.get(liquidator, 0) - keep
        if excess > 0:
            self.backend.send(
                self.stack.synth,
                "transfer",
                self._addr("liq"),
                excess,
                sender=self.actors[liquidator],
            )
            m._move_synth(liquidator, -excess)
            m._move_synth("liq", excess)

    # ---- redemptions at the oracle price (issue 19) ---------------------------------------
    def _entries(self, order: list[str], now: int) -> list[ListEntry]:
        m = self.model
        return [ListEntry(w, m.key_of(w), m.pos(w).collateral, m.view(w, now)[1]) for w in order]

    def _hint(self, name: str) -> str:
        return name if name == ZERO else self._addr(name)

    def _holder(self, data: Any) -> str:
        """A synth holder (anyone when nobody holds any)."""
        holders = [w for w in EVERYONE if self.model.synth.get(w, 0)] or list(EVERYONE)
        return data.draw(st.sampled_from(holders))

    @precondition(lambda self: not self.model.settlement_price)
    @rule(
        data=st.data(),
        frac_bps=st.integers(0, 10_000),
        extra=st.integers(0, 2),
        hints=st.sampled_from(["plan", "plan", "stale", "none", "wrong"]),
        max_fee_bps=st.sampled_from([10_000, 10_000, 10_000, 200, 50]),
    )
    def redeem_listed(self, data, frac_bps, extra, hints, max_fee_bps):
        """A holder redeems its synth against the riskiest positions at or above the
        liquidation ratio, with the hints `plan_redemption` computes off chain (or a stale
        plan's, none, or wrong ones: only gas may differ)."""
        self._step()
        who = self._holder(data)
        amount = self.model.synth.get(who, 0) * frac_bps // 10_000 + extra
        self._redeem_listed(who, amount, hints, max_fee_bps)

    def _redeem_listed(
        self, who: str, amount: int, hints: str, max_fee_bps: int
    ) -> list[tuple[str, int, int]] | None:
        """`who` redeems `amount` (`redeem_listed`); the positions taken (account, synth,
        collateral), or None when it reverted (as the model said)."""
        m, now = self.model, self.backend.now()
        order = [w for w, _ in self.reads.listed()]
        rate = m.rate_now(now)
        plan = plan_redemption(
            self._entries(order, now), amount, self.price_wad, m.params, self.usd_per_unit, rate
        )
        if hints == "plan":
            first, partial = plan.first_hint, plan.partial_hint
        elif hints == "stale" and self.stale_plan is not None:
            first, partial = self.stale_plan.first_hint, self.stale_plan.partial_hint
        elif hints == "wrong":
            first, partial = who, ATTACKER
        else:
            first, partial = ZERO, ZERO
        self.stale_plan = plan
        before = {w: self.reads.recorded(w) for w in EVERYONE}
        accrued = {w: m.view(w, now) for w in EVERYONE}
        usd_before = self.reads.collateral(who)
        args = (amount, max_fee_bps, self._hint(first), self._hint(partial))
        try:
            redeemed, paid, fee, taken = m.redeem_listed(
                who, order, amount, max_fee_bps, self.price_wad, self.risk_error(), now
            )
        except VaultRevert as exc:
            try:
                self.backend.send(self.stack.vault, "redeem", *args, sender=self.actors[who])
            except Backend.Reverted as got:
                reason = _top_reason(got.reason)
                assert reason == exc.reason, ("redeem", args, reason, exc.reason)
                note(self, f"redeem_listed: reverted:{exc.reason}")
                return None
            raise AssertionError(
                f"redeem{args} should revert with {exc.reason!r}",
                self._entries(order, now),
                self.backend.events(self.stack.vault),
            ) from None
        result = self.backend.send(self.stack.vault, "redeem", *args, sender=self.actors[who])
        note(self, f"redeem_listed: ok ({len(taken)} positions, hints {hints})")
        assert result == redeemed, (result, redeemed)
        assert self.reads.collateral(who) - usd_before == paid
        if who != ATTACKER:  # a redeemed owner keeps the rounding of its collateral
            for account, take, coll in taken:
                if account == ATTACKER:
                    self.attacker_allowance += (
                        take * self.price_wad - coll * self.usd_per_unit * WAD
                    )
        self.last_redemption = {
            "order": order,
            "taken": taken,
            "before": before,
            "accrued": accrued,
            "fee": fee,
        }
        return taken

    def _open_at_twice_the_mcr(self, who: str, debt: int) -> None:
        """`who` opens (or adds to) a position minting `debt` against collateral at twice
        the MCR (rounded up): value-neutral at the oracle price."""
        mcr = self.model.params.mcr_bps
        coll = -(-debt * self.price_wad * mcr * 2 // (10_000 * WAD * self.usd_per_unit))
        self._call("open", who, coll, debt)

    @precondition(lambda self: not self.model.settlement_price)
    @rule(dollars=st.integers(200, 20_000), frac_bps=st.integers(1, 10_000))
    def redemption_round_trip(self, dollars, frac_bps):
        """Issue 19's round trip, at a fresh price P: the attacker redeems part of its synth
        (minted now when it holds none: value-neutral), then opens the same exposure again
        (collateral at twice the MCR, the synth it redeemed minted);
        `inv_redemption_round_trip_creates_no_value` compares its value before and after."""
        self._step()
        if self.risk_error() is not None:
            self._push(self.price, OPEN)
        start = self.attacker_value()
        if not self.model.synth.get(ATTACKER, 0):
            self._open_at_twice_the_mcr(ATTACKER, dollars * WAD * WAD // self.price_wad)
        amount = self.model.synth.get(ATTACKER, 0) * frac_bps // 10_000
        taken = self._redeem_listed(ATTACKER, amount, "plan", 10_000)
        if not taken:
            return
        # its own position redeemed: the owner's collateral rounds down in its favour
        own = sum(
            take * self.price_wad - coll * self.usd_per_unit * WAD
            for account, take, coll in taken
            if account == ATTACKER
        )
        # the redemption's own invariant now, before the same step moves the attacker again
        self.inv_redemption_raises_no_ratio_and_touches_only_its_prefix()
        self.last_redemption = None
        self._open_at_twice_the_mcr(ATTACKER, sum(take for _, take, _ in taken))
        self.round_trip = (start, self.attacker_value(), own)
        note(self, "redemption round trip")

    # ---- the stability pool (issue 19) ------------------------------------------------------
    def _sp_send(self, fn: str, who: str, *args: Any, expect: str | None = None) -> Any:
        """A pool call by `who`; `expect`: the revert reason the model predicts. Returns
        (result, collateral paid to `who` by it)."""
        before = self.reads.collateral(who)
        try:
            result = self.backend.send(self.pool, fn, *args, sender=self.actors[who])
        except Backend.Reverted as got:
            reason = _top_reason(got.reason)
            assert expect is not None, (fn, args, reason)
            assert reason == expect, (fn, args, reason, expect)
            note(self, f"sp_{fn}: reverted:{expect}")
            return None, 0
        assert expect is None, (fn, args, f"should revert with {expect!r}")
        note(self, f"sp_{fn}: ok")
        self.sp_ops += 1
        return result, self.reads.collateral(who) - before

    def _sp_paid(self, who: str, paid: int, now: int) -> None:
        """`who` was paid `paid` gains by a pool operation at `now` (joins first)."""
        self.sp_model.join(now)
        if paid:
            self.sp_model.claim(who, paid)
            self.sp_paid[who] = self.sp_paid.get(who, 0) + paid

    def _sp_deposit(self, who: str, amount: int, now: int) -> None:
        m = self.model
        _, paid = self._sp_send(
            "deposit", who, amount, expect=None if amount else "sp: zero amount"
        )
        if not amount:
            return
        self._sp_paid(who, paid, now)
        self.sp_model.deposit(who, amount, now)
        self.sp_deposited[who] = self.sp_deposited.get(who, 0) + amount
        m._move_synth(who, -amount)
        m._move_synth(POOL, amount)

    @precondition(lambda self: self.pool is not None)
    @rule(data=st.data(), frac_bps=st.integers(0, 10_000), wait=st.booleans())
    def sp_deposit(self, data, frac_bps, wait):
        """A holder puts synth in the pool (it joins two windows later: with `wait`, that
        time passes)."""
        self._step()
        who = self._holder(data)
        m, now = self.model, self.backend.now()
        self._sp_deposit(who, m.synth.get(who, 0) * frac_bps // 10_000, now)
        if wait:
            self.backend.advance(2 * 3_600)

    @precondition(lambda self: self.pool is not None)
    @rule(who=anyone, frac_bps=st.integers(0, 10_000), everything=st.booleans())
    def sp_withdraw(self, who, frac_bps, everything):
        """A depositor takes synth out (waiting synth first) and its gains; no price needed."""
        self._step()
        m, now = self.model, self.backend.now()
        value, pending, _ = self.pool.deposit_of(self._addr(who))
        amount = 2**255 if everything else (value + pending) * frac_bps // 10_000
        out = min(amount, value + pending)
        got, paid = self._sp_send(
            "withdraw", who, amount, expect=None if out else "sp: nothing to withdraw"
        )
        if not out:
            return
        assert got == out, (got, out)
        self._sp_paid(who, paid, now)
        sp = self.sp_model
        pend, w = sp.pending.get(who, (0, 0))
        from_pending = min(out, pend)
        if from_pending:
            sp.pending[who] = (pend - from_pending, w)
        # not clamped: `inv_no_depositor_takes_more_than_its_share` sees an overdraw
        sp.active[who] = sp.active.get(who, Fraction(0)) - (out - from_pending)
        m._move_synth(POOL, -out)
        m._move_synth(who, out)

    @precondition(lambda self: self.pool is not None)
    @rule(who=anyone)
    def sp_claim(self, who):
        """A depositor takes its collateral gains; no price needed."""
        self._step()
        now = self.backend.now()
        _, paid = self._sp_send("claim", who)
        self._sp_paid(who, paid, now)

    def _sp_liquidate(self, keeper: str, who: str, fallback: bool) -> None:
        """`keeper` liquidates `who` through the pool (its synth burned, the collateral to
        it, the keeper paid its share of the penalty); when the pool was short and `who`
        is still liquidatable, with `fallback` the keeper's own liquidation (it repays)."""
        m, now = self.model, self.backend.now()
        total = int(self.pool.total_deposits())
        expect: str | None = None
        liq = None
        if total == 0:
            expect = "sp: empty"
        else:
            try:
                probe = self._copy()
                liq = probe.liquidate(POOL, who, total, self.price_wad, self.risk_error(), now)
            except VaultRevert as exc:
                expect = exc.reason
        pool_usd = self.reads.collateral(POOL)
        repaid, reward = self._sp_send("liquidate", keeper, self._addr(who), expect=expect)
        if liq is None:
            return
        self.model = m = probe
        want_reward = keeper_reward(liq, self.price_wad, m.params, self.usd_per_unit)
        gained = liq.to_liquidator - want_reward
        assert repaid == liq.repay, (repaid, liq)
        assert reward == want_reward, (reward, want_reward)
        assert self.reads.collateral(POOL) - pool_usd == gained
        sp = self.sp_model
        sp.join(now)
        share = sp.active.get(ATTACKER, Fraction(0)) / sp.total
        self.attacker_allowance += share * (
            gained * self.usd_per_unit * WAD - liq.repay * self.price_wad
        )
        if keeper == ATTACKER:
            self.attacker_allowance += reward * self.usd_per_unit * WAD
        before = dict(sp.active)
        sp.offset(liq.repay, gained, now)
        self.sp_received += gained
        p_after = int(self.pool.product_sum()[0])
        self.sp_p_min = min(self.sp_p_min, p_after)
        for d, value in before.items():
            # the loss per unit rounds up (< value / 1e18) and P down (< value / P)
            self.sp_slack[d] = self.sp_slack.get(d, Fraction(0)) + value / WAD + value / p_after
            # the gain per unit rounds down (< value / 1e18 USD wad)
            gain_slack = self.sp_gain_slack.get(d, Fraction(0))
            self.sp_gain_slack[d] = gain_slack + value / WAD / self.usd_per_unit
        if fallback and m.is_liquidatable(who, self.price_wad, self.risk_error(), now):
            note(self, "sp_liquidate: pool short, keeper finishes")
            self._call("liquidate", "liq", who, 2**256 - 1)

    @precondition(lambda self: self.pool is not None and not self.model.settlement_price)
    @rule(
        victim=st.sampled_from([*BORROWERS, ATTACKER]),
        keeper=st.sampled_from(["liq", ATTACKER, "s0"]),
        dollars=st.integers(1_000, 20_000),
        pool_bps=st.integers(300, 20_000),
        over_bps=st.integers(1, 3_000),
    )
    def pool_absorbs_a_liquidation(self, victim, keeper, dollars, pool_bps, over_bps):
        """The pool's path end to end (a random walk rarely lines it up): `victim` borrows
        near the MCR, the liquidator deposits `pool_bps` of that debt (short of the
        repayment in some examples), two windows pass (it joins), the price rises
        `over_bps` past the victim's liquidation price, `keeper` liquidates through the
        pool and, when the pool was short, finishes with its own synth."""
        self._step()
        if self.status != OPEN or self.risk_error() is not None:
            self._push(self.price, OPEN)
        debt = self._units(dollars) * self.usd_per_unit * WAD // self.price_wad * 10 // 16
        self._call("open", victim, self._units(dollars), debt)
        m, now = self.model, self.backend.now()
        amount = min(debt * pool_bps // 10_000, m.synth.get("liq", 0))
        if amount:
            self._sp_deposit("liq", amount, now)
        self.backend.advance(2 * 3_600)
        self._push(self.price, OPEN)
        coll, owed = m.view(victim, self.backend.now())
        target_wad = liquidation_price(coll, owed, m.params, self.usd_per_unit)
        if target_wad is None:
            return
        target = ceil_div(target_wad * (10_000 + over_bps) // 10_000 * 10**8, self.mult_wad)
        for _ in range(4):
            self._push(max(min(target, self.price * 12_000 // 10_000), self.price), OPEN)
            if self.price >= target:
                break
        self._sp_liquidate(keeper, victim, fallback=True)

    @precondition(lambda self: self.pool is not None)
    @rule(
        keeper=st.sampled_from(["liq", ATTACKER, "s0"]),
        who=user,
        fallback=st.booleans(),
        refresh=st.booleans(),
    )
    def sp_liquidate(self, keeper, who, fallback, refresh):
        """A keeper liquidates through the pool (with `refresh`, at a fresh print of the
        same price first)."""
        self._step()
        if refresh and self.status == OPEN:
            self._push(self.price, OPEN)
        self._sp_liquidate(keeper, who, fallback)

    @precondition(lambda self: self.status == OPEN)
    @rule(move_bps=st.integers(-2_100, 2_100))
    def price_moves(self, move_bps):
        self._step()
        self._push(max(self.price * (10_000 + move_bps) // 10_000, 10**6), OPEN)

    @precondition(lambda self: self.status == OPEN and not self.model.settlement_price)
    @rule(bps=st.sampled_from([1, 30, 250, 1_200]), move_bps=st.sampled_from([0, 0, -300, 200]))
    def dividend(self, bps, move_bps):
        """Issue 21: a dividend of `bps` of the price (above 10%, special: the admin stages
        it, confirmed), the close, and the ex-date's first print at the reference price (the
        close minus the dividend) moved by `move_bps`. At the reference price every debt and
        every synth holding is worth what it was at the close (the holders are paid the
        dividend against the drop, the borrowers pay it), to the factor's 1e-12 rounding and
        a second of stability fee; no one becomes liquidatable; supply == Σ debt untouched."""
        self._step()
        b, m, cum = self.backend, self.model, self.price
        amount = max(1, cum * bps // 10_000)
        b.send(self.stack.oracle, "stage_dividend", amount, b.now() + 2, sender=self.stack.admin)
        self._push(cum, CLOSED)
        price, now = self.price_wad, b.now()
        debts = {w: m.view(w, now)[1] for w in EVERYONE}
        liquidatable = {w for w in EVERYONE if m.is_liquidatable(w, price, None, now)}
        # the oracle's rule, independently: x cum / (cum - amount) in 1e-12, rounded down
        self.mult_wad = dividend_factor_e12(self.mult_wad // 10**6, cum, amount) * 10**6
        self._push(max((cum - amount) * (10_000 + move_bps) // 10_000, 10**6), OPEN)
        after, now = self.price_wad, b.now()
        if move_bps == 0:
            assert price - price // 10**11 <= after <= price, (price, after)
            for w, debt in debts.items():
                later = m.view(w, now)[1]
                assert later >= debt and later - debt <= debt // 10**6 + 1, (w, debt, later)
                if w not in liquidatable:
                    assert not m.is_liquidatable(w, after, None, now), w
        # a new price: the attacker's measure restarts from it (§7.11 is at a fixed price)
        self.attacker_base, self.attacker_allowance = self.attacker_value(), 0
        note(self, f"dividend: {'special' if bps > 1_000 else 'ordinary'}")

    @rule(gap_bps=st.integers(-2_100, 2_100), halt=st.booleans())
    def market_closes_and_reopens(self, gap_bps, halt):
        self._step()
        if self.status == OPEN:
            self._push(self.price, HALTED if halt else CLOSED)
        else:
            self._push(max(self.price * (10_000 + gap_bps) // 10_000, 10**6), OPEN)

    @rule(seconds=st.sampled_from([1, 60, 119, 121, 3_600, 86_400, 30 * 86_400]))
    def time_passes(self, seconds):
        self._step()
        now = self.backend.now()
        before = {w: self.model.view(w, now)[1] for w in EVERYONE}
        self.backend.advance(seconds)
        for w, debt in before.items():  # debt never decreases with time alone (invariant 9)
            assert self.model.view(w, self.backend.now())[1] >= debt

    @precondition(lambda self: not self.model.settlement_price)
    @rule()
    def guardian(self):
        """The guardian pauses a running vault, the risk admin lifts a pause."""
        self._step()
        pause = not self.model.paused
        self.backend.send(
            self.stack.vault, "pause" if pause else "unpause", sender=self.stack.admin
        )
        self.model.paused = pause
        note(self, "paused" if pause else "unpaused")

    # ---- delisting (§3, §6): settle, settle positions, redeem ------------------------------
    @precondition(
        lambda self: not self.model.settlement_price and self.example_steps >= DELIST_AFTER
    )
    @rule()
    def delist(self):
        """The admin freezes the vault at the oracle's last price; the machine predicts the
        one redemption rate from this moment's book alone."""
        self._step()
        m, now = self.model, self.backend.now()
        self.backend.send(self.stack.vault, "settle", sender=self.stack.admin)
        m.settle(self.price_wad, now)
        self.predicted_rate = self._predict_rate()
        note(self, "delisted")

    def _predict_rate(self) -> int:
        """min(frozen price, system collateral / system debt once every debt is settled),
        from the book at the freeze (any settlement order gives it)."""
        m, now, unit = self.model, self.backend.now(), self.usd_per_unit
        price = m.settlement_price
        coll_total, debt_total, gaps = m.system_collateral, m.system_debt, 0
        for w in list(m.positions):
            coll, debt = m.view(w, now)
            if not debt:
                continue
            owed = ceil_div(debt * price, WAD * unit)
            if coll >= owed:
                coll_total += owed
            else:
                backed = coll * unit * WAD // price
                coll_total += coll
                gaps += ceil_div(ceil_div((debt - backed) * price, WAD), unit)
            debt_total += debt
        coll_total += min(gaps, m.insurance_collateral)
        if not debt_total:
            return 0
        return min(price, coll_total * unit * WAD // debt_total)

    @precondition(lambda self: bool(self.model.settlement_price))
    @rule(caller=anyone, account=anyone)
    def settle_position(self, caller, account):
        self._step()
        self._call("settle_position", caller, account)

    @precondition(lambda self: bool(self.model.settlement_price))
    @rule(caller=anyone)
    def keeper_settles_every_debt(self, caller):
        """The liveness path: someone settles every position with debt (in the model's
        order), which opens redemption."""
        self._step()
        now = self.backend.now()
        for account in [w for w in EVERYONE if self.model.view(w, now)[1]]:
            self._call("settle_position", caller, account)

    @precondition(lambda self: bool(self.model.settlement_price))
    @rule(data=st.data(), frac_bps=st.integers(0, 10_000), extra=st.integers(0, 1))
    def redeem(self, data, frac_bps, extra):
        self._step()
        holders = [w for w in EVERYONE if self.model.synth.get(w, 0)] or list(EVERYONE)
        who = data.draw(st.sampled_from(holders))
        self._call("redeem", who, self.model.synth.get(who, 0) * frac_bps // 10_000 + extra)

    @precondition(lambda self: bool(self.model.settlement_price))
    @rule(who=anyone)
    def redeem_fees(self, who):
        self._step()
        self._call("redeem_fees", who)

    def teardown(self):
        if getattr(self, "_begun", False):
            self.backend.end()

    def _addr(self, who: str) -> str:
        a = self.actors[who]
        return a.address if hasattr(a, "address") else a

    @rule()
    def keeper_scans(self):
        """The keepers' batch view and every balance agree with the model (invariant 4)."""
        self._step()
        s, m, now = self.stack, self.model, self.backend.view_time()
        names = list(EVERYONE)
        err = self.risk_error(now)
        expected = [m.is_liquidatable(w, self.price_wad, err, now) for w in names]
        assert list(s.vault.liquidatable([self._addr(w) for w in names])) == expected
        for w in names:
            assert s.synth.balanceOf(self._addr(w)) == m.synth.get(w, 0), w
        if self.pool is not None:
            assert s.synth.balanceOf(self.pool) == m.synth.get(POOL, 0)
        assert s.vault.system_debt() == m.system_debt
        assert s.vault.system_collateral() == m.system_collateral
        assert s.collateral.balanceOf(s.insurance) == m.insurance_collateral

    # ---- invariants (after every step) ----------------------------------------------------
    @invariant()
    def counts_the_step(self):
        """Not a property: runs once after every executed rule (preconditions skip the rest),
        so it is the depth the test reports and asserts."""
        type(self).steps += 1

    @invariant()
    def positions_match_model(self):
        """Every position as recorded (raw), or with fees accrued to now (views)."""
        s, m, now = self.stack, self.model, self.backend.view_time()
        for w in EVERYONE:
            raw = self.reads.recorded(w)
            if raw is None:
                assert tuple(s.vault.position(self._addr(w))) == m.view(w, now), w
                continue
            p = m.positions.get(w)
            coll, debt, snap = raw
            assert (coll, debt) == ((p.collateral, p.debt) if p else (0, 0)), w
            assert debt == 0 or snap == p.snapshot, w  # type: ignore[union-attr]

    @invariant()
    def supply_equals_debt(self):
        """Invariant 2: supply == Σ recorded debt + system debt (fees minted to the fund)."""
        m = self.model
        supply = self.reads.supply()
        assert supply == m.total_supply == sum(p.debt for p in m.positions.values()) + m.system_debt

    @invariant()
    def insurance_synth_matches_model(self):
        assert self.reads.synth(INSURANCE) == self.model.synth.get(INSURANCE, 0)

    @invariant()
    def vault_holds_what_it_owes(self):
        """Invariant 1: the vault holds exactly the collateral it owes."""
        m = self.model
        owed = sum(p.collateral for p in m.positions.values()) + m.system_collateral
        assert self.reads.collateral("vault") == owed

    @invariant()
    def inv_attacker_gains_nothing_at_an_unchanged_price(self):
        """§7.11: the attacker's value (module docstring) never exceeds its value at the last
        price change plus the liquidation rewards it earned since, exactly."""
        value = self.attacker_value()
        assert value <= self.attacker_base + self.attacker_allowance, (
            value - self.attacker_base,
            self.attacker_allowance,
        )

    @invariant()
    def inv_every_borrower_can_repay_in_full(self):
        """§7.13 (finding 5): all debt is covered by synth that can circulate — every holder
        is an actor or the fund, whose balance is for sale at a usable price (tried)."""
        m, now = self.model, self.backend.view_time()
        assert set(w for w, v in m.synth.items() if v) <= {*EVERYONE, INSURANCE, POOL}
        unminted = sum(m.view(w, now)[1] - p.debt for w, p in m.positions.items())
        debt = sum(m.view(w, now)[1] for w in m.positions)
        outside = sum(v for w, v in m.synth.items() if w != INSURANCE)
        fund = m.synth.get(INSURANCE, 0)
        assert debt <= outside + fund + unminted
        if (
            fund
            and fund != self.probed_fee_synth
            and not m.settlement_price
            and self.risk_error(now) is None
            and isinstance(self.backend, BoaBackend)
        ):
            s, buyer = self.stack, self._addr("liq")
            with boa.env.anchor(), boa.env.prank(buyer):
                s.vault.buy_fee_synth(fund, 2**256 - 1)
                assert s.synth.balanceOf(s.insurance) == 0
            self.probed_fee_synth = fund
            note(self, "fee synth: the fund's whole balance sold (probe)")

    # ---- redemptions and the stability pool (issue 19) -------------------------------------
    @invariant()
    def inv_sorted_list_matches_model(self):
        """While listed: the list holds exactly the positions with debt, each with its
        recorded position's key, keys nondecreasing from the head."""
        m = self.model
        if m.settlement_price:
            return  # frozen after a delisting (not maintained, not used)
        got = self.reads.listed()
        keys = [k for _, k in got]
        assert keys == sorted(keys), got
        want = {w: m.key_of(w) for w, p in m.positions.items() if p.debt}
        assert dict(got) == want and len(got) == len(want), (got, want)

    @invariant()
    def inv_redemption_raises_no_ratio_and_touches_only_its_prefix(self):
        """After a redemption: the positions taken are the first ones of the list at or
        above the liquidation ratio, in order; none's ratio fell; every other recorded
        position is as it was; supply == Σ recorded debt + system debt (raw, exact)."""
        r = self.last_redemption
        if r is None:
            return
        m, unit = self.model, self.usd_per_unit
        order, taken = r["order"], r["taken"]
        lr = m.params.liquidation_ratio_bps
        first = 0
        while first < len(order) and is_below(
            r["accrued"][order[first]][0] * unit, r["accrued"][order[first]][1], self.price_wad, lr
        ):
            first += 1
        names = [t[0] for t in taken]
        assert names == order[first : first + len(names)], (names, order, first)
        for account, take, coll in taken:
            c0, d0 = r["accrued"][account]  # before, fees accrued to the redemption
            c1, d1 = m.view(account, self.backend.view_time())
            raw = self.reads.recorded(account)
            if raw is not None:
                c1, d1 = raw[0], raw[1]
            assert (c1, d1) == (c0 - coll, d0 - take), account
            assert d1 == 0 or c1 * d0 >= c0 * d1, account  # CR after >= CR before
        for w in EVERYONE:
            if w not in names and r["before"][w] is not None:
                assert self.reads.recorded(w) == r["before"][w], w
        if self.reads.raw:
            recorded = sum(self.reads.recorded(w)[1] for w in EVERYONE)  # type: ignore[index]
            assert self.reads.supply() == recorded + int(self.stack.vault.system_debt())

    def _sp_deposit_bound(self, who: str) -> Fraction:
        """How far below its exact value a depositor's synth figure may round: what each
        liquidation's rounding may have taken from it (`sp_slack`, measured on its value
        then, not now: a depositor who withdrew its figure keeps that dust in the exact
        model), 1 wei per pool operation (each settlement rounds its figure down), and
        `_sp_dropped`, what the scheme drops outright."""
        n = self.sp_ops
        slack = self.sp_slack.get(who, Fraction(0))
        return slack + n + 1 + self._sp_dropped(who)

    def _sp_dropped(self, who: str) -> Fraction:
        """The most of `who`'s synth the scheme drops outright: a deposit two scales behind
        P is worth 0 though its exact remnant is < its amount / the P of its snapshot, and P
        was never below `sp_p_min` (an emptied epoch's dust is < its amount x 1e-18, less;
        tests/unit/test_redemption_pool.py::test_ci_a_deposit_two_scales_down_...)."""
        return Fraction(self.sp_deposited.get(who, 0), self.sp_p_min)

    def _sp_gain_bound(self, exact: Fraction, who: str) -> Fraction:
        """How far below its exact value a depositor's gain may round (n pool operations),
        besides `sp_gain_slack`: its synth figure's own rounding (< 1e-9 relative per
        operation) carried into the gains; + 1 wei per operation; + `_sp_dropped`, the
        synth the scheme drops outright (its later gains are bounded in the invariant)."""
        n = self.sp_ops
        return exact / 10**9 * (1 + n) + n + 1 + self._sp_dropped(who)

    def _sp_figures(self) -> dict[str, tuple[int, int, int]]:
        """`deposit_of` of every depositor, read again only after a pool operation (joins
        move waiting synth into the deposit without changing the sum or the gains)."""
        if getattr(self, "_sp_read_at", None) != self.sp_ops:
            self._sp_read = {
                d: tuple(self.pool.deposit_of(self._addr(d))) for d in self._sp_depositors()
            }
            self._sp_read_at = self.sp_ops
        return self._sp_read

    def _sp_depositors(self) -> list[str]:
        sp = self.sp_model
        return sorted(set(sp.active) | set(sp.pending) | set(sp.gains))

    @invariant()
    def inv_pool_synth_matches_compounded_deposits(self):
        """The pool holds exactly Σ exact compounded deposits + waiting synth; its own
        figures (rounded down) sum to at most that, each within `_sp_deposit_bound` of exact."""
        if self.pool is None or not self.sp_ops:
            return
        sp = self.sp_model
        held = self.reads.synth(POOL)
        assert held == self.model.synth.get(POOL, 0)
        exact_total = sp.total + sum(a for a, _ in sp.pending.values())
        assert held == exact_total, (held, exact_total)
        shown = 0
        for d, (value, pending, _) in self._sp_figures().items():
            exact = sp.active.get(d, Fraction(0)) + sp.pending.get(d, (0, 0))[0]
            assert value + pending <= exact, (d, value + pending, exact)
            assert exact - (value + pending) <= self._sp_deposit_bound(d), (d, value, exact)
            shown += value + pending
        assert shown <= held

    @invariant()
    def inv_pool_pays_out_at_most_what_it_received(self):
        """Collateral: the pool holds what it received less what it paid; paid <= received."""
        if self.pool is None:
            return
        paid = sum(self.sp_paid.values())
        assert paid <= self.sp_received
        assert self.reads.collateral(POOL) == self.sp_received - paid

    @invariant()
    def inv_no_depositor_takes_more_than_its_share(self):
        """No depositor has taken more synth than its exact compounded deposit or more
        collateral than its exact pro-rata gain (the exact model's remainders never go
        negative), and what the pool shows it is within `_sp_gain_bound` + `sp_gain_slack`
        below its exact gain."""
        if self.pool is None or not self.sp_ops:
            return
        sp, unit = self.sp_model, self.usd_per_unit
        for d, (_, _, gain) in self._sp_figures().items():
            assert sp.active.get(d, Fraction(0)) >= 0, d
            assert sp.gains.get(d, Fraction(0)) >= 0, d
            owed = sp.gains.get(d, Fraction(0)) / unit
            assert gain <= owed, (d, gain, owed)
            # the dropped remnant's gains: its synth (`_sp_dropped`) x the most a unit gains
            remnant = self._sp_dropped(d) * 2 * self.max_price_wad / WAD
            slack = self.sp_gain_slack.get(d, Fraction(0))
            bound = self._sp_gain_bound(owed, d) + 1 + remnant / unit + slack
            assert owed - gain <= bound, (d, gain, owed)

    @invariant()
    def inv_redemption_round_trip_creates_no_value(self):
        """Issue 19: a redemption at P followed by opening the same exposure at P creates no
        value: the attacker's value at P after both is at most its value before, plus the
        rounding a redeemed owner keeps when the position redeemed was its own."""
        trip = getattr(self, "round_trip", None)
        if trip is not None:
            start, after, own = trip
            assert after <= start + own, (start, after, own)

    @invariant()
    def inv_delisting_redemption_is_order_independent(self):
        """§7.14 (finding 6): one rate for every synth unit, predicted at the freeze."""
        if self.predicted_rate is None:
            assert not self.redemptions
            return
        for amount, paid in self.redemptions:
            assert paid == amount * self.predicted_rate // WAD // self.usd_per_unit
        if self.redemptions:
            assert self.stack.vault.redemption_rate_wad() == self.predicted_rate
