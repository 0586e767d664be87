"""The perp market state machine (SPEC.md §4, §5, §7): traders deposit, commit, get filled or
cancelled, withdraw, get liquidated by a keeper sweeping after every price move; an LP comes
and goes; prices move and gap over closes and halts; time passes. Every outcome is predicted
by the reference model (`synthequity.model.perp`) from the state before the transaction, and
after every step the market's books must equal their recomputation position by position:

- 1  the market holds every margin (and escrowed keeper fee) it owes;
- 3  a fill that grows a position, or a withdrawal, leaves equity >= IMR x notional;
- 4  `is_liquidatable` == the model, after `liquidate` the rest is healthy, closed or in
     shortfall;
- 5  funding: the stored rate and index == the model's accrual, and the pool's share of it
     plus every trader's == 0 to the wei (up to the stated rounding: see `_rounding_bound`);
- 6  pool PnL from the aggregates == PnL recomputed position by position;
- 7  skew and open interest per side == the positions;
- 8  no order fills at a price older than its commit;
- 9  a deposit -> withdraw round trip never returns more than was put in;
- 10 closing every position leaves OI = 0, aggregates 0, the pool PnL 0 and the market
     holding only the margins (checked at the end of every example).

The same machine drives titanoboa directly (deep) and Ape on anvil (short, the real deploy
path): see `machine_base.Backend`."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from machine_base import CLOSED, HALTED, OPEN, Backend

from synthequity.model import perp as m

WAD = m.WAD
TRADERS = ("t0", "t1", "t2")
MARKET_REASONS = ("market closed", "market halted", "stale price")


def machine_params() -> m.MarketParams:
    """A small skew scale (50,000 shares) so that premiums and funding velocity matter at
    the machine's sizes; the rest at SPEC.md defaults."""
    return m.MarketParams(math=dataclasses.replace(m.PerpParams(), skew_scale=50_000 * WAD))


def as_model(p: Any) -> m.Position:
    return m.Position(p.size, p.entry_price, p.margin, p.funding_entry)


def settlement(delta: int, upu: int) -> tuple[int, int]:
    """(token units moved, sub-unit dust the margin gives up) — `_settlement_units`."""
    if delta >= 0:
        units = delta // upu
        return units, delta - units * upu
    loss = -(delta // upu)  # ceil(-delta / upu)
    return -loss, loss * upu + delta


class PerpMachine(RuleBasedStateMachine):
    backend: Backend
    stack: Any  # oracle, collateral, insurance, market, pool, reporter
    actors: dict[str, Any]  # t0..t2, keeper, lp, tripper
    seen: Counter
    steps = 0

    # ---- setup --------------------------------------------------------------------------
    @initialize()
    def setup(self):
        s, b = self.stack, self.backend
        b.begin()
        self.upu = 10 ** (18 - s.collateral.decimals())
        mp = s.market.params()
        self.P = m.PerpParams(*mp[0])
        self.order_max_age, self.order_fee = mp[1], mp[2]
        self.max_oi = (mp[3], mp[4])
        self.max_skew_bps = mp[5]
        self.updates = 0  # position writes: each may leave 1 wei of rounding per aggregate
        self.liquidations = 0  # each may leave < 3 units of payout rounding in the market
        self._push(200 * 10**8, OPEN)
        for who in TRADERS:
            self._send(s.market, "deposit_margin", self._units(50_000), who=who)
        self._send(s.pool, "deposit", self._units(2_000_000), self.actors["lp"], who="lp")

    def teardown(self):
        try:
            if getattr(self, "upu", None):
                self._close_everything()
        finally:
            self.backend.end()

    # ---- helpers ------------------------------------------------------------------------
    def _units(self, dollars: int) -> int:
        return dollars * WAD // self.upu

    def _addr(self, who: str) -> Any:
        return self.actors[who]

    def _send(self, contract: Any, fn: str, *args: Any, who: str = "") -> Any:
        return self.backend.send(contract, fn, *args, sender=self.actors[who])

    def _expect_revert(self, reasons: tuple[str, ...], contract: Any, fn: str, *args, who: str):
        try:
            self._send(contract, fn, *args, who=who)
        except Backend.Reverted as exc:
            assert any(r in exc.reason for r in reasons), (fn, exc.reason, reasons)
            return exc.reason
        raise AssertionError(f"{fn} should have reverted with one of {reasons}")

    def _push(self, price: int, status: int) -> None:
        self.backend.advance(1)
        self.backend.send(
            self.stack.oracle,
            "push_price",
            price,
            self.backend.now(),
            status,
            sender=self.stack.reporter,
        )
        self.price, self.status, self.pushed_at = price, status, self.backend.now()

    @property
    def px(self) -> int:
        return self.price * 10**10

    def _funding_now(self, at: int) -> m.FundingState:
        rate, index, updated = self.stack.market.funding_state()
        return m.accrue_funding(
            m.FundingState(rate, index, updated), self.stack.market.skew(), self.px, at, self.P
        )

    def _positions(self) -> dict[str, m.Position]:
        return {w: as_model(self.stack.market.position(self._addr(w))) for w in TRADERS}

    def _balance(self, who: str) -> int:
        return self.stack.collateral.balanceOf(self._addr(who))

    def _check_funding_step(self, before: tuple, skew_before: int) -> None:
        """If the transaction accrued funding, the stored state is the model's accrual."""
        after = self.stack.market.funding_state()
        if after[2] != before[2]:
            want = m.accrue_funding(m.FundingState(*before), skew_before, self.px, after[2], self.P)
            assert tuple(after) == (want.rate, want.index, want.updated_at), (after, want)

    # ---- traders ------------------------------------------------------------------------
    trader = st.sampled_from(TRADERS)

    @rule(who=trader, dollars=st.integers(1, 200_000))
    def deposit_margin(self, who, dollars):
        mk = self.stack.market
        before = mk.position(self._addr(who)).margin
        self._send(mk, "deposit_margin", self._units(dollars), who=who)
        assert mk.position(self._addr(who)).margin == before + dollars * WAD

    @rule(who=trader, frac_bps=st.integers(1, 10_000), over=st.booleans())
    def withdraw_margin(self, who, frac_bps, over):
        mk, addr = self.stack.market, self._addr(who)
        if self.status != OPEN:
            self._expect_revert(MARKET_REASONS, mk, "withdraw_margin", 1, who=who)
            return
        pos = as_model(mk.position(addr))
        free = m.withdrawable(pos, self.px, self._funding_now(self.backend.now()).index, self.P)
        amount = free // self.upu * frac_bps // 10_000 + (free // self.upu + 1 if over else 0)
        if amount == 0:
            return
        if amount * self.upu > free:
            self._expect_revert(("exceeds withdrawable",), mk, "withdraw_margin", amount, who=who)
            self.seen["withdraw refused"] += 1
            return
        self._send(mk, "withdraw_margin", amount, who=who)
        after = mk.position(addr)
        assert after.margin == pos.margin - amount * self.upu
        index = self._funding_now(self.backend.view_time()).index
        eq = m.equity(as_model(after), self.px, index)
        assert eq >= m.requirement(after.size, self.px, self.P.initial_margin_bps) - 1  # inv 3
        self.seen["withdrawn"] += 1

    @rule(
        who=trader,
        lev_bps=st.one_of(st.integers(-60_000, 60_000), st.sampled_from([-48_000, 48_000])),
        slip_bps=st.sampled_from([0, 1, 30, 300, 10_000, 10_000, 10_000]),
    )
    def commit_and_execute(self, who, lev_bps, slip_bps):
        """Commit an order of up to ±6x the margin, try to fill it before a newer price (must
        revert), then after one; the outcome — fill or cancellation, and every number of the
        position after — is the model's."""
        mk, addr = self.stack.market, self._addr(who)
        pos = as_model(mk.position(addr))
        size = pos.margin * lev_bps // 10_000 * WAD // self.px // 10**16 * 10**16
        if size == 0:
            size = 10**16
        px = self.px
        bound = (
            px * (10_000 + slip_bps) // 10_000 if size > 0 else px * (10_000 - slip_bps) // 10_000
        )
        if self.status != OPEN:
            self._expect_revert(MARKET_REASONS, mk, "commit_order", size, bound, who=who)
            self.seen["commit refused: market"] += 1
            return
        if pos.margin < self.order_fee:
            self._expect_revert(
                ("margin below keeper fee",), mk, "commit_order", size, bound, who=who
            )
            return
        self._send(mk, "commit_order", size, bound, who=who)
        committed_at = mk.pending_order(addr).committed_at
        assert mk.position(addr).margin == pos.margin - self.order_fee  # escrowed
        self._expect_revert(("no newer price",), mk, "execute_order", addr, who="keeper")  # inv 8
        self._push(self.price, OPEN)
        assert self.pushed_at > committed_at
        self._execute_and_check(who, size, bound)

    def _execute_and_check(self, who: str, size: int, bound: int) -> None:
        mk, addr, upu = self.stack.market, self._addr(who), self.upu
        pos = as_model(mk.position(addr))
        skew, f0 = mk.skew(), tuple(mk.funding_state())
        keeper_before = self._balance("keeper")
        px, now = self.px, self.backend.now()
        fill = m.fill_price(px, skew, size, self.P)
        outcome, near_cap = "filled", False
        if (size > 0 and fill > bound) or (size < 0 and fill < bound):
            outcome = "price"
        else:
            index = m.accrue_funding(m.FundingState(*f0), skew, px, now, self.P).index
            settled = m.pnl(pos, fill) - m.funding_owed(pos.size, index, pos.funding_entry)
            fee = m.order_fee(skew, size, fill, self.P)
            margin = pos.margin + settled - fee
            new_size = pos.size + size
            grows = abs(new_size) > abs(pos.size) or (new_size > 0) != (pos.size > 0)
            if grows and new_size != 0:
                after = m.Position(new_size, fill, margin, index)
                if m.equity(after, px, index) < m.requirement(
                    new_size, px, self.P.initial_margin_bps
                ):
                    outcome = "margin"
                else:
                    caps, near_cap = self._caps_ok(pos.size, new_size, index)
                    if not caps:
                        outcome = "open interest"
            if outcome == "filled":
                margin -= settlement(settled - fee, upu)[1]
                if margin < 0:
                    outcome = "liquidatable"
        self._send(mk, "execute_order", addr, who="keeper")
        assert mk.pending_order(addr).committed_at == 0
        after = as_model(mk.position(addr))
        assert self._balance("keeper") == keeper_before + self.order_fee // upu  # paid always
        filled = after.size != pos.size or after.entry_price != pos.entry_price
        if near_cap and outcome in ("filled", "open interest"):
            outcome = "filled" if filled else "open interest"  # at the cap's rounding edge
        self.seen[f"execute: {outcome}"] += 1
        if outcome != "filled":
            assert after == pos, (outcome, after, pos)
            return
        self.updates += 1
        assert after == m.Position(pos.size + size, fill, margin, index), (after, margin, index)
        self._check_funding_step(f0, skew)
        if after.size != 0 and (
            abs(after.size) > abs(pos.size) or (after.size > 0) != (pos.size > 0)
        ):
            eq = m.equity(after, px, index)
            assert eq >= m.requirement(after.size, px, self.P.initial_margin_bps)  # inv 3

    def _caps_ok(self, old: int, new: int, index: int) -> tuple[bool, bool]:
        """(within the OI caps, so close to the edge that rounding may decide)."""
        mk = self.stack.market
        long_oi, short_oi = mk.open_interest()
        long_oi += max(new, 0) - max(old, 0)
        short_oi += min(old, 0) - min(new, 0)
        positions = self._positions().values()
        pool_pnl = sum(
            -m.pnl(p, self.px) + m.funding_owed(p.size, index, p.funding_entry) for p in positions
        )
        nav = self.stack.collateral.balanceOf(self.stack.pool) * self.upu + pool_pnl
        pool_cap = nav * self.max_skew_bps // 10_000
        use = (long_oi * self.px // WAD, short_oi * self.px // WAD)
        caps = (min(self.max_oi[0], pool_cap), min(self.max_oi[1], pool_cap))
        ok = use[0] <= caps[0] and use[1] <= caps[1]
        near = any(
            abs(u - c) <= self.upu + 10 * len(TRADERS) for u, c in zip(use, caps, strict=True)
        )
        return ok, near

    @rule(who=trader, late=st.sampled_from([1, 60, 3_600]))
    def commit_and_expire(self, who, late):
        """An order nobody fills in time: executing it after `order_max_age` cancels it, or
        anyone removes it with `cancel_order`; the caller gets the escrowed fee."""
        mk, addr = self.stack.market, self._addr(who)
        pos = as_model(mk.position(addr))
        if self.status != OPEN or pos.margin < self.order_fee:
            return
        self._send(mk, "commit_order", 10**17, 2**255, who=who)
        committed_at = mk.pending_order(addr).committed_at
        self._expect_revert(("order live",), mk, "cancel_order", addr, who="keeper")
        self.backend.advance(self.order_max_age + late)
        keeper_before = self._balance("keeper")
        if late == 60:  # a price lands, too late for the order
            self._push(self.price, OPEN)
            self._send(mk, "execute_order", addr, who="keeper")
        else:
            self._send(mk, "cancel_order", addr, who="keeper")
            if self.backend.now() > self.pushed_at + 60:
                self._push(self.price, OPEN)  # keep the price fresh for the next rules
        assert mk.pending_order(addr).committed_at == 0
        assert as_model(mk.position(addr)) == dataclasses.replace(
            pos, margin=pos.margin - self.order_fee
        )
        assert self._balance("keeper") == keeper_before + self.order_fee // self.upu
        assert committed_at < self.backend.now()
        self.seen["expired"] += 1

    @rule(
        who=trader,
        lev_bps=st.integers(40_000, 49_000),
        long=st.booleans(),
        move_bps=st.integers(900, 2_000),
    )
    def squeeze(self, who, lev_bps, long, move_bps):
        """A trader near 5x, then the price runs against them: the keeper's sweep liquidates
        (partially while the equity covers the penalty and the reward, fully beyond)."""
        if self.status != OPEN:
            return
        mk, addr = self.stack.market, self._addr(who)
        pos = as_model(mk.position(addr))
        if pos.size != 0 or pos.margin < 100 * WAD:
            return
        size = pos.margin * lev_bps // 10_000 * WAD // self.px // 10**16 * 10**16
        size = size if long else -size
        self._send(mk, "commit_order", size, 2**255 if long else 0, who=who)
        self._push(self.price, OPEN)
        self._execute_and_check(who, size, 2**255 if long else 0)
        against = 10_000 - move_bps if long else 10_000 + move_bps
        self._push(max(self.price * against // 10_000, 10**6), OPEN)
        self._sweep()

    # ---- prices, hours, time --------------------------------------------------------------
    @rule(move_bps=st.integers(-2_000, 2_000))
    def price_moves(self, move_bps):
        if self.status == OPEN:
            self._push(max(self.price * (10_000 + move_bps) // 10_000, 10**6), OPEN)
            self._sweep()

    @rule(to=st.sampled_from([OPEN, CLOSED, HALTED]), gap_bps=st.integers(-2_000, 2_000))
    def market_hours(self, to, gap_bps):
        if to == self.status:
            return
        price = self.price if to != OPEN else max(self.price * (10_000 + gap_bps) // 10_000, 10**6)
        self._push(price, to)
        if to == OPEN:
            self._sweep()
        else:  # nothing that needs a usable price goes through
            addr = self._addr(TRADERS[0])
            self._expect_revert(
                (*MARKET_REASONS, "not liquidatable"),
                self.stack.market,
                "liquidate",
                addr,
                who="keeper",
            )
            self._expect_revert(
                ("pool: market closed",), self.stack.pool, "deposit", 1, self._addr("lp"), who="lp"
            )

    @rule(seconds=st.sampled_from([1, 60, 3_600, 86_400]))
    def time_passes(self, seconds):
        self.backend.advance(seconds)
        if self.status == OPEN:
            self._push(self.price, OPEN)  # a keeper keeps the price fresh while open
            self._sweep()

    # ---- keeper -------------------------------------------------------------------------
    def _sweep(self) -> None:
        """The liquidation keeper after a price: every account the batch view flags."""
        mk = self.stack.market
        addrs = [self._addr(w) for w in TRADERS]
        flags = mk.liquidatable(addrs)
        index = self._funding_now(self.backend.view_time()).index
        for who, flag in zip(TRADERS, flags, strict=True):
            pos = as_model(mk.position(self._addr(who)))
            assert flag == (self.status == OPEN and m.is_liquidatable(pos, self.px, index, self.P))
            assert mk.is_liquidatable(self._addr(who)) == flag
            if flag:
                self._liquidate(who)

    def _liquidate(self, who: str) -> None:
        mk, addr, upu = self.stack.market, self._addr(who), self.upu
        pos = as_model(mk.position(addr))
        skew, f0 = mk.skew(), tuple(mk.funding_state())
        px = self.px
        index = m.accrue_funding(m.FundingState(*f0), skew, px, self.backend.now(), self.P).index
        if not m.is_liquidatable(pos, px, index, self.P):
            self._expect_revert(("not liquidatable",), mk, "liquidate", addr, who="keeper")
            return
        closed = m.liquidation_size(pos, px, index, self.P)
        reward = m.keeper_reward(pos.size, px, self.P)
        penalty = m.notional(closed, px) * self.P.liquidation_penalty_bps // 10_000
        delta = m.pnl(pos, px) - m.funding_owed(pos.size, index, pos.funding_entry)
        margin = pos.margin + delta
        if delta > 0:
            margin -= settlement(delta, upu)[1]
        available = max(margin, 0)
        reward_paid = min(reward, available)
        penalty_paid = min(penalty, available - reward_paid)
        shortfall_before = mk.pool_shortfall()
        keeper_before = self._balance("keeper")
        self._send(mk, "liquidate", addr, who="keeper")
        self.updates += 1
        self.liquidations += 1
        after = as_model(mk.position(addr))
        want = m.Position(pos.size - closed, px, available - reward_paid - penalty_paid, index)
        assert after == want, (after, want)
        self._check_funding_step(f0, skew)
        # the keeper is paid its reward in full, whoever covers it
        assert self._balance("keeper") - keeper_before >= reward // upu - 2
        healthy = after.size == 0 or not m.is_liquidatable(after, px, index, self.P)
        assert healthy or mk.pool_shortfall() > shortfall_before or margin < 0  # inv 4
        self.seen["liquidated" if after.size == 0 else "liquidated partially"] += 1

    @rule(who=trader)
    def liquidate_unflagged(self, who):
        """Anyone may call `liquidate`; a healthy account (or a shut market) reverts."""
        mk, addr = self.stack.market, self._addr(who)
        if self.status != OPEN:
            self._expect_revert(MARKET_REASONS, mk, "liquidate", addr, who="keeper")
        elif not mk.is_liquidatable(addr):
            self._expect_revert(("not liquidatable",), mk, "liquidate", addr, who="keeper")

    # ---- LP ------------------------------------------------------------------------------
    def _check_nav(self) -> None:
        """The pool's NAV is its tokens plus what it is up on open positions."""
        pool = self.stack.pool
        nav = self.stack.collateral.balanceOf(pool) + self.stack.market.pool_pnl()
        assert pool.totalAssets() == max(nav, 0)

    @rule(dollars=st.integers(1, 1_000_000))
    def lp_deposits(self, dollars):
        pool = self.stack.pool
        self._check_nav()
        if self.status != OPEN:
            self._expect_revert(
                ("pool: market closed",), pool, "deposit", 1, self._addr("lp"), who="lp"
            )
            return
        self._send(pool, "deposit", self._units(dollars), self._addr("lp"), who="lp")
        self.seen["lp deposit"] += 1

    @rule(frac_bps=st.integers(1, 10_000))
    def lp_withdraws(self, frac_bps):
        pool, lp = self.stack.pool, self._addr("lp")
        self._check_nav()
        value = pool.convertToAssets(pool.balanceOf(lp))
        amount = value * frac_bps // 10_000
        if amount == 0:
            return
        if self.status != OPEN:
            self._expect_revert(
                ("pool: market closed",), pool, "withdraw", amount, lp, lp, who="lp"
            )
            return
        free = min(
            pool.totalAssets() - self.stack.market.required_nav(),
            self.stack.collateral.balanceOf(pool),
        )
        try:
            self._send(pool, "withdraw", amount, lp, lp, who="lp")
            assert amount <= free + 1
            self.seen["lp withdraw"] += 1
        except Backend.Reverted as exc:
            assert "needed by open interest" in exc.reason and amount >= free - 1, exc.reason
            self.seen["lp withdraw refused"] += 1

    # ---- a round trip creates nothing (inv 9) --------------------------------------------
    @rule(dollars=st.integers(10, 100_000), lev_bps=st.integers(-40_000, 40_000))
    def round_trip(self, dollars, lev_bps):
        """Deposit, open, close at the same oracle price, withdraw everything: never more
        back than in."""
        if self.status != OPEN:
            return
        mk, addr = self.stack.market, self._addr("tripper")
        start = self._balance("tripper")
        self._send(mk, "deposit_margin", self._units(dollars), who="tripper")
        size = dollars * lev_bps // 10_000 * WAD // self.price * 10**8 // 10**16 * 10**16
        for delta in (size, None):
            delta = delta if delta is not None else -mk.position(addr).size
            if delta == 0:
                continue
            self._send(mk, "commit_order", delta, 2**255 if delta > 0 else 0, who="tripper")
            self._push(self.price, OPEN)
            self._send(mk, "execute_order", addr, who="keeper")
        assert mk.position(addr).size == 0
        margin = mk.position(addr).margin
        if margin // self.upu:
            self._send(mk, "withdraw_margin", margin // self.upu, who="tripper")
        assert self._balance("tripper") <= start
        self.seen["round trip"] += 1

    # ---- invariants ------------------------------------------------------------------------
    @invariant()
    def books_balance(self):
        if not getattr(self, "upu", None):
            return
        type(self).steps += 1
        mk, usdc, upu = self.stack.market, self.stack.collateral, self.upu
        positions = self._positions()
        trip = as_model(mk.position(self._addr("tripper")))
        every = [*positions.values(), trip]
        long_oi = sum(max(p.size, 0) for p in every)
        short_oi = sum(max(-p.size, 0) for p in every)
        assert mk.skew() == long_oi - short_oi  # 7
        assert tuple(mk.open_interest()) == (long_oi, short_oi)
        index = self._funding_now(self.backend.view_time()).index
        expected = sum(
            -m.pnl(p, self.px) + m.funding_owed(p.size, index, p.funding_entry) for p in every
        )
        bound = self._rounding_bound(len(every))
        assert abs(mk.pool_pnl() * upu - expected) <= bound + upu, (mk.pool_pnl(), expected)  # 5, 6
        # 1 (no order outlives the rule that committed it, so nothing is in escrow here)
        assert usdc.balanceOf(mk) >= sum(max(p.margin, 0) for p in every) // upu

    def _rounding_bound(self, n_positions: int) -> int:
        """The aggregates round each term of each position write once (<= 1 wei each, two
        terms, a write adds one and removes one); the recomputation rounds once per position
        and term. Funding is zero-sum within this many wei."""
        return 4 * self.updates + 2 * n_positions

    # ---- end of an example: close everything (inv 10) --------------------------------------
    def _close_everything(self) -> None:
        mk = self.stack.market
        if self.status != OPEN:
            self._push(self.price, OPEN)
        self._sweep()
        for who in TRADERS:
            addr = self._addr(who)
            size = mk.position(addr).size
            if size == 0:
                continue
            self._send(mk, "commit_order", -size, 2**255 if size < 0 else 0, who=who)
            self._push(self.price, OPEN)
            self._send(mk, "execute_order", addr, who="keeper")
            if mk.position(addr).size != 0:  # cancelled: equity below zero after dust
                self._liquidate(who)
            assert mk.position(addr).size == 0, who
        assert mk.skew() == 0 and tuple(mk.open_interest()) == (0, 0)
        assert mk.pool_pnl() == 0  # the aggregates are back to exactly zero
        margins = sum(as_model(mk.position(self._addr(w))).margin for w in (*TRADERS, "tripper"))
        held = self.stack.collateral.balanceOf(mk) * self.upu
        dust = (3 * self.liquidations + 1) * self.upu  # payouts round down: the market keeps it
        assert 0 <= held - margins < dust, (held, margins)  # only the margins
        self.seen["closed out"] += 1
