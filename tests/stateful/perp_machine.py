"""The perp market state machine (SPEC.md §4, §5, §7): traders deposit, commit, get filled or
cancelled, withdraw, get liquidated; a keeper executes, cancels and sweeps; an LP comes and
goes; prices move and gap over closes and halts; time passes; every example ends by closing
everything, through orders or through a delisting. Each transaction is run on the executable
model (`synthequity.model.perp.PerpModel`) first and then on the chain, which must do the same:
the same revert reason, or success with the same event (fill, cancellation and its reason,
liquidation). After every step the chain's books must equal the model's, and these hold:

- 1  the market holds every margin and escrowed keeper fee it owes;
- 3  a fill that grows a position, or a withdrawal, leaves equity >= IMR x notional;
- 4  `liquidatable` / `is_liquidatable` == the model; a liquidation leaves the rest healthy,
     closed or in shortfall;
- 5  funding: the stored rate and index == the model's accrual, and the pool's share plus
     every trader's == 0 (up to `FUNDING_ROUNDING_WEI_PER_POSITION`);
- 6  the aggregates the pool's PnL comes from == their sums over the positions, exactly;
- 7  skew and open interest per side == the positions;
- 8  no order fills at a price older than its commit;
- 9  a deposit -> trade -> withdraw round trip at one price never returns more than was put in;
- 10 closing every position leaves OI = 0, the pool's PnL 0 and the market holding only the
     margins and sub-unit dust (at the end of every example);
- 11 at an unchanged oracle price no sequence of the `attacker`'s actions increases its value
     beyond the stated allowance (`inv_attacker_value_never_grows_at_fixed_price`);
- 12 a fill never leaves a position liquidatable at its price or below the minimum margin
     (`inv_fill_never_liquidatable`); after `liquidate` the rest is healthy, closed or its
     shortfall recorded (`inv_liquidation_leaves_healthy_closed_or_recorded`); no
     liquidation pays its keeper beyond the position's equity unless the price, the funding or
     the parameters moved against it since its last fill
     (`inv_keeper_paid_beyond_equity_only_after_a_move`);
- 15 the guardian's pause never blocks an order that only reduces or closes a position
     (`inv_pause_never_blocks_reducing`);
- 16 conditional orders (`PerpOrders`, issue 20) == `model.orders.OrdersModel`, and: none
     fills on a round observed before its placement or that did not cross its trigger, every
     fill is on the one round the rule names whoever executes (`inv_conditional_fill_round`);
     a take-profit or stop-loss never grows or flips a position
     (`inv_reduce_only_never_grows`); the escrowed fees are accounted to the unit
     (invariants 1 and 10 count them).

Besides three traders with $50,000 each, two small traders (`s0`, `s1`) hold $1-$50 so
that the minimum margin, dust and rounding are reached, and an `attacker` mixes its own
orders, self-execution, self-liquidation and keeper work for others at one price.

The chain's books are read from raw storage where the backend can (titanoboa: ~2 µs a word,
decoded as the contract packs them and checked against the views at the end of every
example), else through the views. The same machine drives titanoboa directly (deep) and Ape
on anvil (short, the real deploy path): see `machine_base.Backend`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from machine_base import CLOSED, HALTED, MAX_AGE, OPEN, Backend, find_slot, hashmap_slot, note

from synthequity.model import orders as om
from synthequity.model import perp as m
from synthequity.model.oracle import dividend_factor_e12, quote_to_base_wad

WAD = m.WAD
TRADERS = ("t0", "t1", "t2")  # $50,000 each at the start
SMALL = ("s0", "s1")  # $1-$50: the minimum margin, dust and rounding
ATTACKER = "attacker"
PLAYERS = (*TRADERS, *SMALL)  # who the trading rules draw
ACCOUNTS = (*PLAYERS, "tripper", ATTACKER)  # everyone who holds a position
HOLDERS = (*ACCOUNTS, "keeper", "lp")  # everyone whose token balance the model follows
BOOKS = (m.MARKET, m.POOL, m.INSURANCE)
ANY_PRICE = (2**255, 0)  # acceptable prices that never cancel a buy / a sell

# ---- the tolerances that remain, each stated once with its reason --------------------------
# Funding is zero-sum between the traders and the pool up to rounding: each trader's
# `funding_owed` rounds up (< 1 wei), each position's Σ size x funding_entry term in the
# aggregates is truncated (< 1 wei), and the pool's skew x index once more (< 1 wei).
FUNDING_ROUNDING_WEI_PER_POSITION = 2
FUNDING_ROUNDING_WEI = 1
# Payouts round down to token units and the market keeps the rest: a liquidation pays out up
# to three amounts that round (the loss to the pool, the keeper's reward, the penalty or the
# insurance fund's cover), a close at the settlement price one (the loss to the pool). Fills
# and keeper fees leave nothing (the margin gives up the sub-unit dust of a settlement).
DUST_UNITS_PER_LIQUIDATION = 3
DUST_UNITS_PER_SETTLEMENT_CLOSE = 1


def machine_params() -> m.MarketParams:
    """A small skew scale (50,000 shares) so that premiums and funding velocity matter at
    the machine's sizes; the rest at SPEC.md defaults."""
    return m.MarketParams(math=dataclasses.replace(m.PerpParams(), skew_scale=50_000 * WAD))


def _i128(w: int) -> int:
    w &= 2**128 - 1
    return w - 2**128 if w >= 2**127 else w


@dataclass(frozen=True)
class Books:
    """The chain's books as the model keeps them."""

    positions: dict[str, m.Position]
    orders: dict[str, m.Order]
    funding: tuple[int, int, int]
    skew: int
    open_interest: tuple[int, int]
    sums: tuple[int, int] | None  # Σ size x entry, Σ size x funding entry (storage only)
    pool_shortfall: int
    insurance_due: int  # the penalties the market holds for the insurance fund, units
    balances: dict[str, int]
    shares: int  # the LP's pool shares
    share_supply: int


def _same_fill(e: dict[str, Any], outcome: m.Filled) -> None:
    """The market's `OrderFilled` event says what the model's fill does."""
    got = (e["size_delta"], e["fill_price"], e["fee"], e["size"])
    assert got == (outcome.size_delta, outcome.fill_price, outcome.fee, outcome.size), (e, outcome)


def _position(p: Any) -> m.Position:
    return m.Position(p.size, p.entry_price, p.margin, p.funding_entry)


def _order(o: Any) -> m.Order:
    return m.Order(o.size_delta, o.acceptable_price, o.committed_at, o.keeper_fee, o.round_id)


class ViewReader:
    """The books through the contracts' views (any backend)."""

    def __init__(self, stack: Any, addr: dict[str, Any]):
        self.s, self.addr = stack, addr

    def _key(self, who: str) -> Any:
        a = self.addr[who]
        return getattr(a, "address", a)

    def read(self) -> Books:
        mk, s = self.s.market, self.s
        return Books(
            positions={w: _position(mk.position(self._key(w))) for w in ACCOUNTS},
            orders={w: _order(mk.pending_order(self._key(w))) for w in ACCOUNTS},
            funding=tuple(mk.funding_state()),
            skew=mk.skew(),
            open_interest=tuple(mk.open_interest()),
            sums=None,
            pool_shortfall=mk.pool_shortfall(),
            insurance_due=mk.insurance_due(),
            balances={w: s.collateral.balanceOf(self._key(w)) for w in (*HOLDERS, *BOOKS)},
            shares=s.pool.balanceOf(self._key("lp")),
            share_supply=s.pool.totalSupply(),
        )


class StorageReader:
    """The books from raw storage words, decoded as `perp_market.vy` packs them (its storage
    comments); `None` from `build` when the backend has no cheap storage or a name moved."""

    MARKET_VARS = ("_pos_a", "_pos_b", "_ord_a", "_ord_b", "_agg_a", "_agg_b", "_fund")

    def __init__(self, words: dict[str, Any], slots: dict[str, int], addr: dict[str, Any]):
        self.words, self.slots, self.addr = words, slots, addr
        self.keys = {w: str(getattr(a, "address", a)) for w, a in addr.items()}
        self.cache = {  # hashmap slots, computed once
            (var, w): hashmap_slot(slots[var], self.keys[w])
            for var in ("_pos_a", "_pos_b", "_ord_a", "_ord_b")
            for w in ACCOUNTS
        }
        self.balance_slots = {
            w: hashmap_slot(slots["token.balanceOf"], self.keys[w]) for w in (*HOLDERS, *BOOKS)
        }
        self.share_slot = hashmap_slot(slots["pool.balanceOf"], self.keys["lp"])

    @classmethod
    def build(cls, backend: Backend, stack: Any, addr: dict[str, Any]) -> StorageReader | None:
        words = {
            "market": backend.storage(stack.market),
            "token": backend.storage(stack.collateral),
            "pool": backend.storage(stack.pool),
        }
        if any(w is None for w in words.values()):
            return None
        slots: dict[str, int | None] = {}
        for contract, names in (
            ("market", (*cls.MARKET_VARS, "pool_shortfall", "_insurance_due")),
            ("token", ("balanceOf",)),
            ("pool", ("balanceOf", "totalSupply")),
        ):
            layout = getattr(stack, contract if contract != "token" else "collateral")
            tree = layout.compiler_data.storage_layout["storage_layout"]
            for name in names:
                key = name if contract == "market" else f"{contract}.{name}"
                slots[key] = find_slot(tree, name)
        if any(v is None for v in slots.values()):
            return None
        return cls(words, {k: v for k, v in slots.items() if v is not None}, addr)

    def read(self) -> Books:
        mk, c = self.words["market"], self.cache
        positions, orders = {}, {}
        for w in ACCOUNTS:
            a, b = mk(c["_pos_a", w]), mk(c["_pos_b", w])
            positions[w] = m.Position(_i128(a), a >> 128, _i128(b), _i128(b >> 128))
            oa, ob = mk(c["_ord_a", w]), mk(c["_ord_b", w])
            live = oa >> 255
            orders[w] = (
                m.Order(
                    _i128(oa),
                    ob & m.ORDER_PRICE_MAX,
                    (oa >> 128) & (2**64 - 1),
                    ((oa >> 192) & (2**63 - 1)) * m.MICRO,
                    ob >> 192,
                )
                if live
                else m.Order()
            )
        agg_a, agg_b, fund = (mk(self.slots[v]) for v in ("_agg_a", "_agg_b", "_fund"))
        rate = fund & (2**64 - 1)
        skew, long_oi = _i128(agg_a), agg_a >> 128
        shortfall = mk(self.slots["pool_shortfall"])
        token, pool = self.words["token"], self.words["pool"]
        return Books(
            positions=positions,
            orders=orders,
            funding=(
                rate - 2**64 if rate >= 2**63 else rate,
                _i128(fund >> 64),
                (fund >> 192) & (2**63 - 1),
            ),
            skew=skew,
            open_interest=(long_oi, long_oi - skew),
            sums=(_i128(agg_b), _i128(agg_b >> 128)),
            pool_shortfall=shortfall - 2**256 if shortfall >= 2**255 else shortfall,
            insurance_due=mk(self.slots["_insurance_due"]) - 2**255,  # DUE_WARM kept set
            balances={w: token(s) for w, s in self.balance_slots.items()},
            shares=pool(self.share_slot),
            share_supply=pool(self.slots["pool.totalSupply"]),
        )


# An order of up to ±6x the margin (±4.8x often) and its slippage bound: both order rules.
ORDER_ARGS = {
    "lev_bps": st.one_of(st.integers(-60_000, 60_000), st.sampled_from([-48_000, 48_000])),
    "slip_bps": st.sampled_from([0, 1, 30, 300, 10_000, 10_000, 10_000]),
}


class PerpMachine(RuleBasedStateMachine):
    backend: Backend
    stack: Any  # oracle, collateral, insurance, market, pool, reporter, admin, risk_admin,
    #             guardian
    actors: dict[str, Any]  # t0..t2, s0, s1, keeper, lp, tripper, attacker
    steps = 0

    # ---- setup --------------------------------------------------------------------------
    @initialize(
        ending=st.sampled_from(["orders", "delisting"]),
        small_cents=st.tuples(st.integers(100, 5_000), st.integers(100, 5_000)),
    )
    def setup(self, ending, small_cents):
        s, b = self.stack, self.backend
        b.begin()
        self.ending = ending
        self.upu = 10 ** (18 - s.collateral.decimals())
        self.addr: dict[str, Any] = {w: self.actors[w] for w in HOLDERS}
        self.addr |= {m.MARKET: s.market, m.POOL: s.pool, m.INSURANCE: s.insurance}
        model = m.PerpModel(
            self.upu,
            m.MarketParams.from_tuple(s.market.params()),
            max_age_open=MAX_AGE,
            funding=m.FundingState(*s.market.funding_state()),
        )
        self.views = ViewReader(s, self.addr)
        self.reader = StorageReader.build(b, s, self.addr) or self.views
        start = self.reader.read()
        model.balances = dict(start.balances)
        model.shares, model.share_supply = {"lp": start.shares}, start.share_supply
        self.model = model
        self.liquidations = self.settlement_closes = 0
        self._cached: tuple[tuple[int, int], Books] | None = None
        self.answer, self.mult_wad = 0, WAD  # the oracle's last quote and shares multiplier
        self._push(200 * 10**8, OPEN)
        for who in TRADERS:
            self._market(who, "deposit_margin", self._units(50_000))
        for who, cents in zip(SMALL, small_cents, strict=True):
            self._market(who, "deposit_margin", self._cents(cents))
        self._lp("lp_deposit", "deposit", self._units(2_000_000))
        # what the adversarial invariants found wrong (each names the step): empty when they hold
        self.bad_fills: list[tuple[Any, ...]] = []
        self.bad_liquidations: list[tuple[Any, ...]] = []
        self.unearned_rewards: list[tuple[Any, ...]] = []
        self.pause_blocks: list[tuple[Any, ...]] = []
        self.attacker_gains: list[tuple[Any, ...]] = []
        # per account: (oracle price, funding index, parameters) when its position was last
        # filled or re-based by a liquidation
        self.last_fill: dict[str, tuple[int, int, m.MarketParams]] = {}
        # the conditional-order book, when the stack has one (invariant 16)
        self.book = getattr(s, "orders", None)
        self.om: om.OrdersModel | None = None
        if self.book is not None:
            self.om = om.OrdersModel(model, self.book.MIN_KEEPER_FEE(), self.book.WINDOW())
        self.bad_conditional_fills: list[tuple[Any, ...]] = []
        self.reduce_only_grew: list[tuple[Any, ...]] = []

    def teardown(self):
        try:
            if getattr(self, "model", None) is not None:
                self._views_agree()
                if self.ending == "delisting":
                    self._close_by_delisting()
                else:
                    self._close_by_orders()
        finally:
            if getattr(self, "ending", None) is not None:
                self.backend.end()

    # ---- helpers ------------------------------------------------------------------------
    @property
    def now(self) -> int:
        return self.backend.now()

    @property
    def status(self) -> int:
        return self.model.oracle.status if self.model.oracle else 0

    @property
    def price(self) -> int:
        """The oracle's answer (8 decimals): the last quote pushed."""
        return self.answer if self.model.oracle else 0

    def _answer_of(self, price_wad: int) -> int:
        """The quote (8 decimals) whose price per base share is about `price_wad`."""
        return price_wad * 10**8 // self.mult_wad

    def _units(self, dollars: int) -> int:
        return dollars * WAD // self.upu

    def _cents(self, cents: int) -> int:
        return cents * WAD // 100 // self.upu

    def _push(self, answer: int, status: int) -> None:
        b = self.backend
        b.advance(1)
        b.send(self.stack.oracle, "push_price", answer, b.now(), status, sender=self.stack.reporter)
        self.answer = answer
        self.model.observe(quote_to_base_wad(answer, 8, self.mult_wad), b.now(), status)

    def _send(self, outcome: m.Outcome, contract: Any, fn: str, *args: Any, sender: Any) -> Any:
        """Send the transaction the model just ran: the chain must revert with the model's
        reason, or go through with the model's event (and return value)."""
        try:
            result = self.backend.send(contract, fn, *args, sender=sender)
        except Backend.Reverted as exc:
            assert isinstance(outcome, m.Reverted), (fn, args, exc.reason, outcome)
            assert exc.reason == outcome.reason, (fn, args, exc.reason, outcome.reason)
            return None
        assert not isinstance(outcome, m.Reverted), (fn, args, outcome)
        if isinstance(outcome, m.Done):
            if fn in ("deposit", "withdraw", "redeem") and result is not None:
                assert result == outcome.value, (fn, result, outcome)
            return result
        names = [name for name, _ in self.backend.events(self.stack.market)]
        got = {name: e for name, e in self.backend.events(self.stack.market)}
        if isinstance(outcome, m.Filled):
            _same_fill(got["OrderFilled"], outcome)
        elif isinstance(outcome, m.Cancelled):
            assert got["OrderCancelled"]["reason"] == outcome.reason, (names, outcome)
        elif isinstance(outcome, m.Liquidated):
            e = got["PositionLiquidated"]
            assert (e["closed"], e["price"], e["penalty"], e["reward"], e["shortfall"]) == (
                outcome.closed,
                outcome.price,
                outcome.penalty,
                outcome.reward,
                outcome.shortfall,
            ), (e, outcome)
        elif isinstance(outcome, m.Closed):
            e = got["PositionSettled"]
            assert (e["size"], e["margin"], e["shortfall"]) == (
                outcome.size,
                outcome.margin,
                outcome.shortfall,
            ), (e, outcome)
        return result

    def _market(self, who: str, fn: str, *args: Any, by: str | None = None) -> m.Outcome:
        """`fn` on the model and the market: `who` is the trader (the model's first argument
        and the sender), or the account acted on when a keeper (`by`) sends."""
        model_fn = getattr(self.model, fn)
        before, order = self.model.position(who), self.model.pending_order(who)
        equity_before = self._equity_now(who) if fn == "liquidate" else 0
        if by is None:
            outcome = model_fn(who, *args, self.now)
            sender, chain_args = self.actors[who], args
        else:
            outcome = model_fn(by, who, *args, self.now)
            sender, chain_args = self.actors[by], (self._addr(who), *args)
        self._send(outcome, self.stack.market, fn, *chain_args, sender=sender)
        if isinstance(outcome, m.Liquidated):
            self.liquidations += 1
            self._check_liquidation(who, before, equity_before, outcome)
        elif isinstance(outcome, m.Closed):
            self.settlement_closes += 1
        elif isinstance(outcome, m.Filled):
            self._check_fill(who, outcome, order)
        # invariant 15: what the pause refused only ever grew or flipped a position
        paused = m.Reverted("pausable: contract is paused")
        if (
            fn == "commit_order"
            and outcome == paused
            and not m.grows(before.size, before.size + args[0])
        ):
            self.pause_blocks.append(("commit", who, before.size, args[0]))
        if outcome == m.Cancelled("paused") and not m.grows(
            before.size, before.size + order.size_delta
        ):
            self.pause_blocks.append(("execute", who, before.size, order.size_delta))
        return outcome

    def _equity_now(self, who: str) -> int:
        """`who`'s equity at the oracle price, funding accrued to now (USD wad)."""
        if self.model.oracle is None or self.model.settled:
            return self.model.position(who).margin
        price = self.model.oracle.price_wad
        return m.equity(self.model.position(who), price, self.model.index_at(price, self.now))

    def _check_fill(self, who: str, outcome: m.Filled, order: m.Order) -> None:
        """Invariant 12 (fills): the position a fill leaves open is outside the liquidation
        threshold and at the minimum margin, at the oracle price of the fill: its fill
        round's, which is not the latest when later rounds were pushed before the execution
        (the nightly run found the check using the latest price after a 20% move)."""
        pos, p = self.model.position(who), self.model.math
        price, index = self.model.fill_round(order).price_wad, self.model.funding.index
        if pos.size:
            floor = m.min_equity(pos.size, price, p.maintenance_margin_bps, p)
            if m.is_liquidatable(pos, price, index, p) or m.equity(pos, price, index) < floor:
                self.bad_fills.append((who, pos, price, index, outcome))
            self.last_fill[who] = (price, index, self.model.params)

    def _check_liquidation(
        self, who: str, before: m.Position, equity: int, outcome: m.Liquidated
    ) -> None:
        """Invariant 12 (liquidations): the rest is healthy (outside the threshold and at the
        minimum margin), closed, or the shortfall recorded; and a keeper is paid beyond the
        position's equity only after the price, the funding or the parameters moved against
        it since its last fill."""
        after, p = self.model.position(who), self.model.math
        px, index = outcome.price, self.model.funding.index
        healthy = after.size == 0 or (
            not m.is_liquidatable(after, px, index, p) and after.margin >= p.min_margin_usd
        )
        if not (healthy or outcome.shortfall > 0):
            self.bad_liquidations.append((who, after, outcome))
        if outcome.reward > max(equity, 0):
            fill_px, fill_index, fill_params = self.last_fill.get(who, (px, index, None))
            moved = (
                (before.size > 0 and px < fill_px)
                or (before.size < 0 and px > fill_px)
                or m.funding_owed(before.size, index, fill_index) > 0
                or fill_params != self.model.params
            )
            if not moved:
                self.unearned_rewards.append((who, before, equity, outcome))
        if after.size:
            self.last_fill[who] = (px, index, self.model.params)

    def _lp(self, model_fn: str, fn: str, amount: int) -> m.Outcome:
        outcome: m.Outcome = getattr(self.model, model_fn)("lp", amount, self.now)
        lp = self.actors["lp"]
        args = (amount, self._addr("lp")) if fn == "deposit" else (amount, *[self._addr("lp")] * 2)
        self._send(outcome, self.stack.pool, fn, *args, sender=lp)
        return outcome

    def _addr(self, who: str) -> Any:
        a = self.addr[who]
        return getattr(a, "address", a)

    def _books(self) -> Books:
        """The chain's books, read once per step."""
        key = (self.backend.sent, self.now)
        if self._cached is None or self._cached[0] != key:
            self._cached = (key, self.reader.read())
        return self._cached[1]

    def _index(self) -> int:
        return self.model.index_at(self.model.mark(), self.now)

    def _order_size(self, who: str, lev_bps: int) -> int:
        margin = self.model.position(who).margin
        size = margin * lev_bps // 10_000 * WAD // self.model.oracle.price_wad
        return size // 10**16 * 10**16 or 10**16

    def _bound(self, size: int, slip_bps: int) -> int:
        return m.slippage_bound(self.model.oracle.price_wad, size, slip_bps)

    def _growth_is_covered(self, who: str, before: m.Position, px: int | None = None) -> None:
        """Invariant 3: a fill that grows a position leaves equity >= IMR x notional at the
        price it filled at (its fill round's oracle price; default the latest)."""
        after = self.model.position(who)
        grows = abs(after.size) > abs(before.size) or (after.size > 0) != (before.size > 0)
        if grows and after.size != 0:
            px, index = px or self.model.oracle.price_wad, self._index()
            need = m.requirement(after.size, px, self.model.math.initial_margin_bps)
            assert m.equity(after, px, index) >= need, (after, need)

    def _squeezable(self) -> list[str]:
        """Flat traders with no order and at least $100 of margin."""
        return [
            w
            for w in PLAYERS
            if self.model.position(w).size == 0
            and w not in self.model.orders
            and self.model.position(w).margin >= 100 * WAD
        ]

    # ---- traders ------------------------------------------------------------------------
    trader = st.sampled_from(PLAYERS)

    @precondition(lambda self: any(w not in self.model.orders for w in PLAYERS))
    @rule(data=st.data(), **ORDER_ARGS)
    def commit_and_execute(self, data, lev_bps, slip_bps):
        """An order of up to ±6x the margin, refused while the market does not trade; the
        keeper's execution is refused until a price newer than the commit lands (invariant
        8), then fills or cancels (slippage, margin, caps) as the model says."""
        who = data.draw(st.sampled_from([w for w in PLAYERS if w not in self.model.orders]))
        size = self._order_size(who, lev_bps)
        outcome = self._market(who, "commit_order", size, self._bound(size, slip_bps))
        note(self, f"commit: {outcome.label}")
        if isinstance(outcome, m.Reverted):
            return
        note(self, f"execute: {self._market(who, 'execute_order', by='keeper').label}")
        self._push(self.price, OPEN)
        self._execute(who)

    def _execute(self, who: str) -> None:
        order, before = self.model.orders[who], self.model.position(who)
        outcome = self._market(who, "execute_order", by="keeper")
        note(self, f"execute: {outcome.label}")
        if isinstance(outcome, m.Filled):
            assert self.model.oracle.updated_at > order.committed_at  # invariant 8
            self._growth_is_covered(who, before, self.model.fill_round(order).price_wad)

    @rule(who=trader, dollars=st.integers(0, 200_000))
    def deposit_margin(self, who, dollars):
        if who in SMALL:  # small money stays small: $0-$50
            dollars %= 51
        outcome = self._market(who, "deposit_margin", self._units(dollars))
        note(self, f"deposit: {outcome.label}")

    @rule(who=trader, frac_bps=st.integers(0, 10_000), over=st.booleans())
    def withdraw_margin(self, who, frac_bps, over):
        """Up to what the model says is withdrawable (unrealized profit never is), or one
        unit more: refused exactly there."""
        try:
            free = self.model.withdrawable_units(who, self.now)
        except m.PerpRevert:
            free = 0  # no usable price: the market refuses with the oracle's reason
        amount = free * frac_bps // 10_000 + (free + 1 if over else 0)
        outcome = self._market(who, "withdraw_margin", amount)
        note(self, f"withdraw: {outcome.label}")
        pos = self.model.position(who)
        if isinstance(outcome, m.Done) and pos.size:  # invariant 3
            px = self.model.oracle.price_wad
            need = m.requirement(pos.size, px, self.model.math.initial_margin_bps)
            assert m.equity(pos, px, self._index()) >= need

    @precondition(lambda self: any(w not in self.model.orders for w in PLAYERS))
    @rule(data=st.data(), **ORDER_ARGS)
    def commit_order(self, data, lev_bps, slip_bps):
        """An order that waits: a keeper executes or cancels it in a later step, after the
        price moved or the order expired."""
        who = data.draw(st.sampled_from([w for w in PLAYERS if w not in self.model.orders]))
        size = self._order_size(who, lev_bps)
        outcome = self._market(who, "commit_order", size, self._bound(size, slip_bps))
        note(self, f"commit: {outcome.label}")

    @precondition(lambda self: bool(self.model.orders))
    @rule(data=st.data())
    def execute_order(self, data):
        """The keeper executes a waiting order: refused until a price newer than the commit
        (invariant 8), then filled or cancelled (slippage, margin, caps, expiry) as the model
        says, the keeper paid either way."""
        self._execute(data.draw(st.sampled_from(sorted(self.model.orders))))

    @precondition(
        lambda self: (
            self.status == OPEN
            and any(w not in self.model.orders for w in PLAYERS)
            and not self.model.paused
        )
    )
    @rule(data=st.data(), by_cancel=st.booleans())
    def order_expires(self, data, by_cancel):
        """An order nobody executes within `order_max_age`: after it only `cancel_order` or a
        cancelling `execute_order` removes it ("expired"), the caller paid the fee."""
        who = data.draw(st.sampled_from([w for w in PLAYERS if w not in self.model.orders]))
        size = self._order_size(who, 10_000)
        if not isinstance(self._market(who, "commit_order", size, ANY_PRICE[0]), m.Done):
            return
        self.backend.advance(self.model.params.order_max_age + 1)
        self._push(self.price, OPEN)
        if by_cancel:
            note(self, f"cancel: {self._market(who, 'cancel_order', by='keeper').label}")
        else:
            note(self, f"execute: {self._market(who, 'execute_order', by='keeper').label}")

    @precondition(lambda self: bool(self.model.orders))
    @rule(data=st.data())
    def cancel_order(self, data):
        """Anyone removes an expired order and gets its keeper fee; a live one stays."""
        who = data.draw(st.sampled_from(sorted(self.model.orders)))
        outcome = self._market(who, "cancel_order", by="keeper")
        note(self, f"cancel: {outcome.label}")

    @precondition(
        lambda self: self.status == OPEN and not self.model.paused and bool(self._squeezable())
    )
    @rule(
        data=st.data(),
        lev_bps=st.integers(40_000, 49_000),
        long=st.booleans(),
        move_bps=st.integers(900, 2_000),
    )
    def squeeze(self, data, lev_bps, long, move_bps):
        """A trader near 5x, then the price runs against them: the keeper's sweep liquidates
        (partially while the equity covers the penalty and the reward, fully beyond)."""
        who = data.draw(st.sampled_from(self._squeezable()))
        size = self._order_size(who, lev_bps) * (1 if long else -1)
        self._market(who, "commit_order", size, ANY_PRICE[0] if long else ANY_PRICE[1])
        self._push(self.price, OPEN)
        before = self.model.position(who)
        outcome = self._market(who, "execute_order", by="keeper")
        note(self, f"squeeze: {outcome.label}")
        self._growth_is_covered(who, before)
        against = 10_000 - move_bps if long else 10_000 + move_bps
        self._push(max(self.price * against // 10_000, 10**6), OPEN)
        self._sweep()

    # ---- prices, hours, time --------------------------------------------------------------
    @precondition(lambda self: self.status == OPEN)
    @rule(move_bps=st.integers(-2_000, 2_000))
    def price_moves(self, move_bps):
        self._push(max(self.price * (10_000 + move_bps) // 10_000, 10**6), OPEN)
        self._sweep()

    @rule(data=st.data(), gap_bps=st.integers(-2_000, 2_000))
    def market_hours(self, data, gap_bps):
        """The market closes or halts (nothing that needs a usable price goes through: the
        other rules see it), or reopens with a gap."""
        to = data.draw(st.sampled_from([s for s in (OPEN, CLOSED, HALTED) if s != self.status]))
        gap = gap_bps if to == OPEN else 0
        self._push(max(self.price * (10_000 + gap) // 10_000, 10**6), to)
        if to == OPEN:
            self._sweep()

    @precondition(lambda self: self.status == OPEN)
    @rule(bps=st.sampled_from([1, 30, 250, 1_200]), move_bps=st.sampled_from([0, 0, -300, 200]))
    def dividend(self, bps, move_bps):
        """Issue 21: a dividend of `bps` of the price (a special one above 10%: the admin
        stages it, confirmed), the close, and the ex-date's first print at the reference
        price (the close minus the dividend) moved by `move_bps`. At the reference price no
        equity moves but for a second of funding: the long is paid, the short pays, the
        pool takes the skew's side (invariants 1, 5 and the model check each)."""
        b, cum = self.backend, self.price
        amount = max(1, cum * bps // 10_000)
        b.send(self.stack.oracle, "stage_dividend", amount, b.now() + 2, sender=self.stack.admin)
        self._push(cum, CLOSED)
        holders = [w for w in (*TRADERS, *SMALL, ATTACKER) if self.model.position(w).size]
        before = {w: self.model.equity(w, self.now) for w in holders}
        # the oracle's rule, independently: x cum / (cum - amount) in 1e-12, rounded down
        self.mult_wad = dividend_factor_e12(self.mult_wad // 10**6, cum, amount) * 10**6
        self._push(max((cum - amount) * (10_000 + move_bps) // 10_000, 10**6), OPEN)
        if move_bps == 0 and not self.model.settled:
            for w in holders:
                after = self.model.equity(w, self.now)
                size = abs(self.model.position(w).size)
                # a second of funding and the factor's 1e-12 rounding, at most
                slack = size * self.model.oracle.price_wad // WAD // 10**6 + 10**12
                assert abs(after - before[w]) <= slack, (w, before[w], after)
        note(self, f"dividend: {'special' if bps > 1_000 else 'ordinary'}")
        self._sweep()

    @rule(seconds=st.sampled_from([1, 60, 3_600, 86_400]))
    def time_passes(self, seconds):
        """Time passes (funding accrues); while open the keeper keeps the price fresh, sweeps,
        and executes what waited past its age (each is cancelled, "expired")."""
        self.backend.advance(seconds)
        if self.status == OPEN:
            self._push(self.price, OPEN)  # a keeper keeps the price fresh while open
            self._sweep()
            stale = self.model.oracle.updated_at - self.model.params.order_max_age
            for who in [w for w, o in sorted(self.model.orders.items()) if o.committed_at < stale]:
                note(self, f"execute: {self._market(who, 'execute_order', by='keeper').label}")

    # ---- risk admin ---------------------------------------------------------------------
    @precondition(lambda self: self.status != OPEN)  # between sessions, as the gap policy does
    @rule(
        mmr_bps=st.sampled_from([500, 1_000, 1_500, 2_000]),  # 2,000 = the IMR: refused
        taker_bps=st.sampled_from([0, 10, 50]),
        velocity_pct=st.sampled_from([3, 30]),
        max_age=st.sampled_from([10, 120, 600]),
        skew_bps=st.sampled_from([1_000, 5_000]),
    )
    def risk_admin_sets_params(self, mmr_bps, taker_bps, velocity_pct, max_age, skew_bps):
        """New parameters while the market is shut, orders and positions open (no funding
        accrual first: the next accrual integrates the new velocity over the whole gap), or a
        refusal with the codec's reason."""
        cur = self.model.params
        math = dataclasses.replace(
            cur.math,
            maintenance_margin_bps=mmr_bps,
            taker_fee_bps=taker_bps,
            maker_fee_bps=min(cur.math.maker_fee_bps, taker_bps),
            max_funding_velocity=velocity_pct * WAD // 100,
        )
        new = dataclasses.replace(
            cur, math=math, order_max_age=max_age, max_skew_to_pool_bps=skew_bps
        )
        outcome = self.model.set_params(new)
        market = self.stack.market
        self._send(outcome, market, "set_params", new.as_tuple(), sender=self.stack.risk_admin)
        assert m.MarketParams.from_tuple(market.params()) == self.model.params
        note(self, f"set params: {outcome.label}")

    # ---- keeper -------------------------------------------------------------------------
    def _sweep(self) -> None:
        """The liquidation keeper after a price: every account the model flags (the chain
        must agree: a liquidation, not a "not liquidatable" revert)."""
        for who in ACCOUNTS:
            if self.model.is_liquidatable(who, self.now):
                self._liquidate(who)

    def _liquidate(self, who: str, by: str = "keeper") -> m.Outcome:
        """A liquidation; invariant 4/12 on its result is `_check_liquidation`'s."""
        outcome = self._market(who, "liquidate", by=by)
        if isinstance(outcome, m.Liquidated):
            after = self.model.position(who)
            note(self, "liquidated" if after.size == 0 else "liquidated partially")
        else:
            note(self, f"liquidate: {outcome.label}")
        return outcome

    @rule()
    def keeper_scans(self):
        """The keepers' batch view == the model (invariant 4); the keeper then liquidates
        what it flags."""
        mk, t = self.stack.market, self.backend.view_time()
        # the open positions (a flat one reads false before any math; all are read at the end
        # of the example), or one account when none is open
        names = [w for w in ACCOUNTS if self.model.position(w).size] or list(ACCOUNTS[:1])
        flags = list(mk.liquidatable([self._addr(w) for w in names]))
        assert flags == self.model.liquidatable(names, t), flags
        for who, flag in zip(names, flags, strict=True):
            if flag:
                self._liquidate(who)

    @precondition(lambda self: self.model.insurance_due > 0)  # the empty sweep: unit-tested
    @rule()
    def anyone_sweeps_insurance(self):
        """Anyone sends the penalties the market holds to the insurance fund: the fund gains
        exactly them (`InsuranceSwept` with the units when there were any), the sender
        nothing."""
        due, fund = self.model.insurance_due, self.model.balance_of(m.INSURANCE)
        outcome = self.model.sweep_insurance()
        assert outcome == m.Done(due)
        self._send(outcome, self.stack.market, "sweep_insurance", sender=self.actors[ATTACKER])
        swept = [
            e["units"] for n, e in self.backend.events(self.stack.market) if n == "InsuranceSwept"
        ]
        assert swept == ([due] if due else []), swept
        assert self.model.balance_of(m.INSURANCE) == fund + due
        note(self, f"sweep insurance: {due} units")

    @rule(who=trader)
    def liquidate(self, who):
        """Anyone may call `liquidate`: a healthy account or a shut market reverts."""
        self._liquidate(who)

    # ---- LP ------------------------------------------------------------------------------
    @rule(dollars=st.integers(0, 1_000_000))
    def lp_deposits(self, dollars):
        """Shares at the NAV: the shares minted == the model's (so the NAV behind them)."""
        note(self, f"lp deposit: {self._lp('lp_deposit', 'deposit', self._units(dollars)).label}")

    @rule(frac_bps=st.integers(1, 10_000))
    def lp_withdraws(self, frac_bps):
        """Up to the LP's share of the NAV: refused where open interest needs it; the shares
        burned == the model's."""
        try:
            value = self.model.convert_to_assets(self.model.shares.get("lp", 0), self.now)
        except m.PerpRevert:
            value = 0
        outcome = self._lp("lp_withdraw", "withdraw", value * frac_bps // 10_000)
        note(self, f"lp withdraw: {outcome.label}")

    # ---- a round trip creates nothing (invariant 9) --------------------------------------
    @precondition(
        lambda self: (
            self.status == OPEN and "tripper" not in self.model.orders and not self.model.paused
        )
    )
    @rule(dollars=st.integers(25, 100_000), lev_bps=st.integers(-40_000, 40_000))
    def round_trip(self, dollars, lev_bps):
        """Deposit, open, close at the same oracle price, withdraw everything: never more
        back than in."""
        start = self._tripper_value()
        self._market("tripper", "deposit_margin", self._units(dollars))
        size = dollars * lev_bps // 10_000 * WAD // self.price * 10**8 // 10**16 * 10**16
        for delta in (size, None):
            delta = delta if delta is not None else -self.model.position("tripper").size
            if delta == 0:
                continue
            self._market("tripper", "commit_order", delta, ANY_PRICE[0 if delta > 0 else 1])
            self._push(self.price, OPEN)
            self._market("tripper", "execute_order", by="keeper")
        assert self.model.position("tripper").size == 0
        units = self.model.position("tripper").margin // self.upu
        if units:
            self._market("tripper", "withdraw_margin", units)
        assert self._tripper_value() <= start
        note(self, "round trip")

    def _tripper_value(self) -> int:
        """USD wad: the tripper's tokens and its margin (a round trip whose withdrawal the
        market refused, e.g. while closed, leaves margin that a later one takes back: the
        nightly run counted that as a gain when the measure was the balance alone)."""
        return self.model.balance_of("tripper") * self.upu + self.model.position("tripper").margin

    # ---- finding 7 (issue 15): the fill price is a function of the commit -----------------
    # An order fills at the first round after its commit that was usable when pushed, whoever
    # executes whenever within its window; after the window only `cancel_order` removes it.
    # The rule below commits, pushes several rounds (some unusable, prices moving), waits,
    # then executes; the invariant re-derives each of its fills from the chain's own round
    # history (`getRoundData`, `round_state`), not from the model.
    finding7_fills: tuple[tuple[m.Order, int, int], ...] = ()  # (order, skew before, fill)

    @precondition(
        lambda self: self.status == OPEN and any(w not in self.model.orders for w in TRADERS)
    )
    @rule(
        data=st.data(),
        lev_bps=st.integers(-40_000, 40_000),
        rounds=st.lists(
            st.tuples(st.sampled_from([OPEN, OPEN, HALTED, CLOSED]), st.integers(-500, 500)),
            min_size=1,
            max_size=10,
        ),
        wait=st.sampled_from([0, 5, 60, 130, 700]),
    )
    def finding7_commit_rounds_then_execute(self, data, lev_bps, rounds, wait):
        who = data.draw(st.sampled_from([w for w in TRADERS if w not in self.model.orders]))
        size = self._order_size(who, lev_bps)
        outcome = self._market(who, "commit_order", size, ANY_PRICE[0 if size > 0 else 1])
        if isinstance(outcome, m.Reverted):
            note(self, f"finding7 commit: {outcome.label}")
            return
        order = self.model.orders[who]
        for status, move_bps in rounds:
            self._push(max(self.price * (10_000 + move_bps) // 10_000, 10**6), status)
        self.backend.advance(wait)
        skew_before = self.model.skew
        outcome = self._market(who, "execute_order", by="keeper")
        note(self, f"finding7 execute: {outcome.label}")
        if isinstance(outcome, m.Filled):
            self.finding7_fills = (*self.finding7_fills, (order, skew_before, outcome.fill_price))
        expired = self.now > order.committed_at + self.model.params.order_max_age
        if expired:  # after the window only cancel works, and it does
            assert outcome == m.Reverted("perp: order expired"), outcome
            cancelled = self._market(who, "cancel_order", by="keeper")
            assert cancelled == m.Cancelled("expired"), cancelled
        elif isinstance(outcome, m.Reverted):  # no usable round yet: cancel refuses too
            assert self._market(who, "cancel_order", by="keeper") == m.Reverted("perp: order live")

    @invariant()
    def inv_fill_price_is_first_round_after_commit(self):
        """SPEC.md §4 / §7 invariant 8 (issue 15, finding 7): each fill of the rule above is
        at the skew-priced fill of the first round after the commit's round that was observed
        after the commit and usable when pushed, among the next 8 rounds, read from the
        oracle, and that round lies within the order's window."""
        fills, self.finding7_fills = self.finding7_fills, ()
        oracle, math = self.stack.oracle, self.model.math
        decimals = oracle.decimals()
        for order, skew, fill in fills:
            first, latest = None, oracle.latestRound()
            for rid in range(order.round_id + 1, order.round_id + m.FILL_SCAN_ROUNDS + 1):
                if rid > latest:
                    break
                _, answer, _, updated_at, _ = oracle.getRoundData(rid)
                status, mult = oracle.round_state(rid)
                if updated_at > order.committed_at and status == OPEN:
                    first = (quote_to_base_wad(answer, decimals, mult), updated_at)
                    break
            assert first is not None, order
            assert first[1] <= order.committed_at + self.model.params.order_max_age
            assert fill == m.fill_price(first[0], skew, order.size_delta, math), (order, fill)

    # ---- the guardian (docs/spec.md §8) ------------------------------------------------------
    def _reducible(self) -> list[str]:
        return [w for w in ACCOUNTS if self.model.position(w).size and w not in self.model.orders]

    @precondition(lambda self: self.status == OPEN and not self.model.paused)
    @rule(part_bps=st.sampled_from([2_500, 5_000, 10_000]), move_bps=st.integers(-1_500, 1_500))
    def guardian_pauses(self, part_bps, move_bps):
        """The guardian pauses: waiting orders that grow a position are cancelled ("paused",
        the keeper paid), everyone with a position reduces or closes it (`part_bps` of it; a
        rest under the minimum is cancelled, "margin"), a growing order is refused, the price
        moves and liquidations go on (invariant 15); then the risk admin unpauses."""
        mk = self.stack.market
        if not self._reducible() and "t0" not in self.model.orders:
            # a position to reduce while paused (CI found examples with none: invariant 15
            # then tested nothing): t0 opens 2x first
            size = self._order_size("t0", 20_000)
            if isinstance(self._market("t0", "commit_order", size, ANY_PRICE[0]), m.Done):
                self._push(self.price, OPEN)
                self._market("t0", "execute_order", by="keeper")
        self._send(self.model.pause(), mk, "pause", sender=self.stack.guardian)
        self._push(self.price, OPEN)  # newer than every waiting order
        for who in sorted(self.model.orders):
            note(self, f"paused: execute {self._market(who, 'execute_order', by='keeper').label}")
        for who in self._reducible():
            size = self.model.position(who).size
            if self.model.position(who).margin < self.model.params.order_keeper_fee:
                self._market(who, "deposit_margin", self._units(2))
            delta = -(size * part_bps // 10_000) or -size
            outcome = self._market(who, "commit_order", delta, ANY_PRICE[0 if delta > 0 else 1])
            if isinstance(outcome, m.Done):
                self._push(self.price, OPEN)
                outcome = self._market(who, "execute_order", by="keeper")
            note(self, f"paused: reduce {outcome.label}")
        grow_by = WAD if self.model.position("t0").size >= 0 else -WAD  # more of the same side
        grow = self._market("t0", "commit_order", grow_by, ANY_PRICE[0 if grow_by > 0 else 1])
        note(self, f"paused: grow {grow.label}")
        self._push(max(self.price * (10_000 + move_bps) // 10_000, 10**6), OPEN)
        self._sweep()
        self._send(self.model.unpause(), mk, "unpause", sender=self.stack.risk_admin)

    # ---- the attacker (invariant 11) ----------------------------------------------------------
    def _attacker_value(self) -> int:
        """Tokens + the position's equity at the oracle price (its own loss beyond the margin
        is not the attacker's to pay: floored at 0) + its escrowed order fee + its LP shares at
        the NAV, in USD wad."""
        a = ATTACKER
        value = self.model.balance_of(a) * self.upu + max(self._equity_now(a), 0)
        value += self.model.pending_order(a).keeper_fee
        if self.om is not None:
            value += sum(o.keeper_fee for o in self.om.orders(a))
        if shares := self.model.shares.get(a, 0):
            value += self.model.convert_to_assets(shares, self.now) * self.upu
        return value

    @precondition(lambda self: self.status == OPEN and not self.model.settled)
    @rule(
        plan=st.lists(
            st.sampled_from(
                ["deposit", "withdraw", "order", "dust", "execute", "liquidate_self", "work"]
                + ["book"]  # a conditional order it places and executes itself
                + ["cycle"] * 3  # the review's attack, whole: weighted
            ),
            min_size=1,
            max_size=6,
        ),
        cents=st.one_of(st.integers(1, 500), st.integers(1, 6_000)),
        lev_bps=st.integers(-60_000, 60_000),
    )
    def attacker_acts(self, plan, cents, lev_bps):
        """A sequence of the attacker's actions at one oracle price (prices pushed in between
        repeat it): margin in and out, orders of any size (dust included) that it executes
        itself, liquidating itself, and keeper work for others. Its value after minus before
        must not exceed the allowance of invariant 11 (`inv_attacker_value_...`). A "cycle"
        is the review's attack whole: deposit, a $2 order, execute it, liquidate itself."""
        a, price = ATTACKER, self.model.oracle.price_wad
        if self.model.position(a).margin < 50 * WAD and a not in self.model.orders:
            # enough margin that its own orders can fill (CI found runs where no sequence
            # did: the property then never saw a self-executed fill); value-neutral
            self._market(a, "deposit_margin", self._units(50))
        start = self._attacker_value()
        liquidatable_at_start = self.model.is_liquidatable(a, self.now)
        allowance = 0
        steps = [x for step in plan for x in (self._CYCLE if step == "cycle" else (step,))]
        for step in steps:
            pos = self.model.position(a)
            if step == "deposit":
                self._market(a, "deposit_margin", self._cents(cents))
            elif step == "withdraw":
                try:
                    units = self.model.withdrawable_units(a, self.now)
                except m.PerpRevert:  # no usable price (nightly finding: a stale OPEN one)
                    units = 1  # the market refuses with the oracle's reason, as the model
                if units:
                    self._market(a, "withdraw_margin", units)
            elif step in ("order", "dust") and a not in self.model.orders:
                size = self._order_size(a, lev_bps) if step == "order" else -pos.size or 10**16
                self._market(a, "commit_order", size, ANY_PRICE[0 if size > 0 else 1])
            elif step == "execute" and a in self.model.orders:
                order = self.model.orders[a]
                if self.model.oracle.updated_at <= order.committed_at:
                    allowance += self._push_same_price()
                outcome, credit = self._accrual_credit(
                    lambda: self._market(a, "execute_order", by=a)  # its own keeper
                )
                allowance += credit
                note(self, f"attacker execute: {outcome.label}")
                if isinstance(outcome, m.Filled):
                    # the skew premium the market pays for a fill better than the oracle's
                    # price (+ 2 wei: PnL truncated at the old and the new entry)
                    allowance += max(0, m.mul_down(order.size_delta, price - outcome.fill_price))
                    allowance += 2
            elif step == "liquidate_self" and pos.size:
                equity = self._equity_now(a)
                outcome = self._liquidate(a, by=a)
                if isinstance(outcome, m.Liquidated) and liquidatable_at_start:
                    # made liquidatable before this sequence (a move, funding, parameters):
                    # the reward beyond its equity is owed for the liquidation
                    allowance += max(0, outcome.reward - max(equity, 0))
                note(self, f"attacker self-liquidation: {outcome.label}")
            elif step == "work":
                allowance += self._attacker_works()
            elif step == "book" and self.om is not None and a not in self.model.orders:
                allowance += self._attacker_books(lev_bps, price)
        gain = self._attacker_value() - start
        if gain > allowance:
            self.attacker_gains.append((plan, cents, lev_bps, gain, allowance))
        note(self, "attacker: gained" if gain > 0 else "attacker: no gain")

    _CYCLE = ("deposit", "dust", "execute", "liquidate_self")

    def _accrual_credit(self, run: Any) -> tuple[Any, int]:
        """`run()` (an execution, its own or another's), and the funding it credits the
        attacker's position by accruing the market to now at the order's fill-round price,
        not the latest one (docs/design/perp-orders.md; nightly finding, usd18): the
        attacker's funding owed on its position before, at the view's index now, less at the
        index the execution stored."""
        a = ATTACKER
        size, entry = self.model.position(a).size, self.model.position(a).funding_entry
        price = self.model.oracle.price_wad
        before = m.funding_owed(size, self.model.index_at(price, self.now), entry)
        out = run()
        after = m.funding_owed(size, self.model.index_at(price, self.now), entry)
        return out, max(0, before - after)

    def _push_same_price(self) -> int:
        """A new round at the same price (one second later); returns the funding the
        attacker's position was credited over that second (part of the allowance)."""
        before = self._equity_now(ATTACKER)
        self._push(self.price, OPEN)
        return max(0, self._equity_now(ATTACKER) - before)

    def _attacker_works(self) -> int:
        """Keeper work others need: executing a waiting order with a newer price, cancelling
        an expired one, or liquidating a liquidatable account. Returns what it was paid."""
        start = self.model.balance_of(ATTACKER)
        others = [w for w in self.model.orders if w != ATTACKER]
        due = [w for w in ACCOUNTS if w != ATTACKER and self.model.is_liquidatable(w, self.now)]
        if due:
            self._liquidate(due[0], by=ATTACKER)
        elif others:
            who = others[0]
            if self.model.oracle.updated_at > self.model.orders[who].committed_at:
                outcome, credit = self._accrual_credit(
                    lambda: self._market(who, "execute_order", by=ATTACKER)
                )
                note(self, f"execute: {outcome.label}")
                return (self.model.balance_of(ATTACKER) - start) * self.upu + credit
            note(self, f"cancel: {self._market(who, 'cancel_order', by=ATTACKER).label}")
        return (self.model.balance_of(ATTACKER) - start) * self.upu

    # ---- conditional orders (invariant 16) ----------------------------------------------------
    def _send_book(self, outcome: Any, fn: str, *args: Any, sender: Any) -> None:
        """Send the book's transaction the model just ran: the same revert reason, or the
        same events (the book's, and the market's for an execution)."""
        try:
            self.backend.send(self.book, fn, *args, sender=sender)
        except Backend.Reverted as exc:
            assert isinstance(outcome, m.Reverted), (fn, args, exc.reason, outcome)
            assert exc.reason == outcome.reason, (fn, args, exc.reason, outcome.reason)
            return
        assert not isinstance(outcome, m.Reverted), (fn, args, outcome)
        book = dict(self.backend.events(self.book))
        market = dict(self.backend.events(self.stack.market))
        if isinstance(outcome, om.Rearmed):
            assert book["OrderRearmed"]["round_id"] == outcome.round_id, book
        elif isinstance(outcome, m.Cancelled) and "OrderExecuted" not in book:
            assert book["OrderCancelled"]["reason"] == outcome.reason, (book, outcome)
        elif isinstance(outcome, m.Cancelled):
            assert market["OrderCancelled"]["reason"] == outcome.reason, (market, outcome)
        elif isinstance(outcome, m.Filled):
            _same_fill(market["OrderFilled"], outcome)
        else:
            assert ("OrderPlaced" if fn == "place" else "OrderUpdated") in book, book

    def _book_agrees(self, who: str) -> None:
        assert self.book is not None and self.om is not None
        got = [om.ConditionalOrder(*o) for o in self.book.orders(self._addr(who))]
        assert got == self.om.orders(who), (who, got, self.om.orders(who))

    def _live_conditional(self) -> list[tuple[str, int]]:
        assert self.om is not None
        return sorted((w, i) for w, b in self.om.books.items() for i in b)

    def _place(
        self,
        who: str,
        oid: int,
        kind: int,
        size: int,
        trigger: int,
        acceptable: int,
        expiry: int,
        fee: int,
    ) -> Any:
        assert self.om is not None
        outcome = self.om.place(who, oid, kind, size, trigger, acceptable, expiry, fee, self.now)
        self._send_book(
            outcome,
            "place",
            oid,
            kind,
            size,
            trigger,
            acceptable,
            expiry,
            fee,
            sender=self.actors[who],
        )
        self._book_agrees(who)
        return outcome

    @precondition(lambda self: self.om is not None and self.model.oracle is not None)
    @rule(
        data=st.data(),
        kind=st.sampled_from([om.LIMIT, om.STOP, om.TAKE_PROFIT, om.STOP_LOSS]),
        lev_bps=st.integers(-50_000, 50_000),
        trigger_bps=st.integers(-1_500, 1_500),
        slip_bps=st.sampled_from([None, None, 0, 50, 500]),
        expiry_s=st.sampled_from([30, 3_600, 86_400]),
        oid=st.integers(0, 8),
        extra_micro=st.sampled_from([0, 0, 0, 1, -1]),
        part=st.sampled_from([None, 5_000, 20_000]),
    )
    def place_conditional(
        self, data, kind, lev_bps, trigger_bps, slip_bps, expiry_s, oid, extra_micro, part
    ):
        """A limit or stop of up to ±5x the margin, or a take-profit or stop-loss of part or
        all of the position (or of none: cancelled when it fills), around the price; any
        slot (a taken one and id 8 are refused), any expiry, a fee at, above or below the
        least."""
        assert self.om is not None
        who = data.draw(st.sampled_from(PLAYERS))
        held = self.model.position(who).size
        if kind in (om.TAKE_PROFIT, om.STOP_LOSS) and held:
            amount = None if part is None else abs(held) * part // 10_000
            size = om.reduce_delta(held, amount) if amount != 0 else 0
        else:
            size = self._order_size(who, lev_bps)
        trigger = max(self.model.oracle.price_wad * (10_000 + trigger_bps) // 10_000, 1)
        fee = self.om.min_keeper_fee + extra_micro * m.MICRO
        acceptable = om.acceptable_price(size, trigger, slip_bps)
        outcome = self._place(who, oid, kind, size, trigger, acceptable, self.now + expiry_s, fee)
        note(self, f"place {om.KIND_NAMES[kind]}: {outcome.label}")

    @precondition(lambda self: self.om is not None and any(self.om.books.values()))
    @rule(
        data=st.data(),
        by=st.sampled_from(["keeper", "keeper", ATTACKER, "owner"]),
        pick=st.sampled_from(["fill", "fill", "fill", "first", "latest", "any"]),
        late=st.sampled_from([0, 0, 60, 121]),  # a keeper outage (`miss_a_conditional_window`)
        cross=st.booleans(),
    )
    def execute_conditional(self, data, by, pick, late, cross):
        """Anyone executes a live order on the round the rule names (`fill_round`, or the
        first crossing to re-arm a missed one), or tries another, on time or `late` seconds
        after (a keeper outage: a missed window re-arms), often right after an OPEN price
        that crosses its trigger: the chain and the model agree, and a fill is on the rule's
        round (invariant 16)."""
        assert self.om is not None
        who, oid = data.draw(st.sampled_from(self._live_conditional()))
        if cross:
            self._cross_trigger(self.om.order(who, oid))
        self.backend.advance(late)
        o, latest = self.om.order(who, oid), self.model._latest().round_id
        rounds = self.model.rounds
        fill = self.om.fill_round(who, oid, self.now)
        first = om.first_crossing(o, rounds, latest)
        rid = {"fill": fill or first or latest, "first": first or latest, "latest": latest}.get(
            pick
        ) or data.draw(st.integers(max(1, latest - 4), latest))
        self._execute_conditional(who, oid, rid, who if by == "owner" else by, fill)

    @precondition(lambda self: self.om is not None and self.model.oracle is not None)
    @rule(data=st.data(), lev_bps=st.integers(5_000, 20_000))
    def conditional_lifecycle(self, data, lev_bps):
        """A limit buy 0.1% under the price, its whole path in one step whatever the random
        rules reached: its owner cancels it (the fee back to its margin), places it again,
        a print crosses it, and the keeper executes it on the fill round in its window."""
        assert self.om is not None
        free = [
            w
            for w in PLAYERS
            if w not in self.model.orders
            and self.model.position(w).margin > self.om.min_keeper_fee
            and om.free_slot(o.kind for o in self.om.orders(w)) is not None
        ]
        if not free:
            return
        who = data.draw(st.sampled_from(free))
        oid = om.free_slot(o.kind for o in self.om.orders(who))
        assert oid is not None
        trigger = self.model.oracle.price_wad * 9_990 // 10_000
        size, fee = self._order_size(who, lev_bps), self.om.min_keeper_fee

        def place() -> bool:
            out = self._place(
                who, oid, om.LIMIT, size, trigger, om.PRICE_MAX, self.now + 3_600, fee
            )
            note(self, f"lifecycle place: {out.label}")
            return isinstance(out, m.Done)

        if not place():
            return
        outcome = self.om.cancel(who, who, oid, self.now)
        self._send_book(outcome, "cancel", self._addr(who), oid, sender=self.actors[who])
        note(self, f"conditional cancel: {outcome.label}")
        self._book_agrees(who)
        if self.om.order(who, oid).kind or not place():
            return
        answer = self._answer_of(trigger)
        self._push(answer - answer // 1_000, OPEN)
        fill = self.om.fill_round(who, oid, self.now)
        if fill:
            self._execute_conditional(who, oid, fill, "keeper", fill)

    @precondition(lambda self: self.om is not None and any(self.om.books.values()))
    @rule(data=st.data(), by=st.sampled_from(["keeper", ATTACKER]))
    def miss_a_conditional_window(self, data, by):
        """A keeper outage: a live order's trigger is crossed, no one executes it in the
        window, then someone names that round: the order re-arms (no fill on a round past
        its window; its fee stays escrowed), or the rule's later fill round goes first; the
        chain and the model agree."""
        assert self.om is not None
        who, oid = data.draw(st.sampled_from(self._live_conditional()))
        o = self.om.order(who, oid)
        self._cross_trigger(o)
        self.backend.advance(self.om.window + 1)
        first = om.first_crossing(o, self.model.rounds, self.model._latest().round_id)
        if first:
            fill = self.om.fill_round(who, oid, self.now)
            self._execute_conditional(who, oid, first, by, fill)

    def _cross_trigger(self, o: om.ConditionalOrder) -> None:
        """An OPEN price 0.1% past `o`'s trigger, on the side that triggers it (when the
        oracle's jump guard lets it through)."""
        below = om.crosses(o.kind, o.size_delta, o.trigger_price, o.trigger_price - 1)
        answer = self._answer_of(o.trigger_price)
        answer += (-1 if below else 1) * (answer // 1_000)
        if answer > 0 and abs(answer - self.price) * 4 < self.price:  # within the guard
            self._push(answer, OPEN)

    def _execute_conditional(self, who: str, oid: int, rid: int, by: str, fill: int) -> Any:
        assert self.om is not None
        o, before = self.om.order(who, oid), self.model.position(who)
        outcome = self.om.execute(by, who, oid, rid, self.now)
        self._send_book(outcome, "execute", self._addr(who), oid, rid, sender=self.actors[by])
        note(self, f"conditional execute: {outcome.label}")
        if isinstance(outcome, m.Filled):
            r = self.model.rounds[rid]
            if not (
                rid == fill
                and rid > o.placed_round
                and r.updated_at > o.placed_at
                and r.status == OPEN
                and om.crosses(o.kind, o.size_delta, o.trigger_price, r.price_wad)
            ):
                self.bad_conditional_fills.append((who, oid, rid, fill, o, r))
            after = self.model.position(who)
            if o.reduce_only and (
                abs(after.size) > abs(before.size)
                or (after.size != 0 and (after.size > 0) != (before.size > 0))
            ):
                self.reduce_only_grew.append((who, oid, before, after))
            armed = m.Order(outcome.size_delta, 0, r.updated_at - 1, 0, rid - 1)
            self._check_fill(who, outcome, armed)
            self._growth_is_covered(who, before, r.price_wad)
        self._book_agrees(who)
        return outcome

    @precondition(lambda self: self.om is not None and any(self.om.books.values()))
    @rule(
        data=st.data(),
        by_owner=st.sampled_from([True, True, False]),
        wait=st.sampled_from([0, 0, 121, 86_401]),
    )
    def cancel_conditional(self, data, by_owner, wait):
        """Its owner cancels (refused while triggered in its window); anyone else only once
        it expired; the fee back to the owner's margin."""
        assert self.om is not None
        who, oid = data.draw(st.sampled_from(self._live_conditional()))
        self.backend.advance(wait)
        by = who if by_owner else "keeper"
        outcome = self.om.cancel(by, who, oid, self.now)
        self._send_book(outcome, "cancel", self._addr(who), oid, sender=self.actors[by])
        note(self, f"conditional cancel: {outcome.label}")
        self._book_agrees(who)

    @precondition(lambda self: self.om is not None and any(self.om.books.values()))
    @rule(
        data=st.data(),
        trigger_bps=st.integers(-1_500, 1_500),
        slip_bps=st.sampled_from([None, 100]),
    )
    def update_conditional(self, data, trigger_bps, slip_bps):
        assert self.om is not None
        who, oid = data.draw(st.sampled_from(self._live_conditional()))
        o = self.om.order(who, oid)
        trigger = max(self.model.oracle.price_wad * (10_000 + trigger_bps) // 10_000, 1)
        acceptable = om.acceptable_price(o.size_delta, trigger, slip_bps)
        outcome = self.om.update(who, oid, trigger, acceptable, self.now + 3_600, self.now)
        self._send_book(
            outcome, "update", oid, trigger, acceptable, self.now + 3_600, sender=self.actors[who]
        )
        note(self, f"conditional update: {outcome.label}")
        self._book_agrees(who)

    def _attacker_books(self, lev_bps: int, price: int) -> int:
        """The attacker places a limit order at the price, pushes the same price and executes
        it itself (the fee back to itself). Returns the allowance: the funding credited and
        the skew premium of a fill better than the oracle's price, as for a market order."""
        assert self.om is not None
        a = ATTACKER
        slot = om.free_slot(o.kind for o in self.om.orders(a))
        if slot is None:
            return 0
        size = self._order_size(a, lev_bps)
        placed = self._place(
            a,
            slot,
            om.LIMIT,
            size,
            price,
            ANY_PRICE[0 if size > 0 else 1],
            self.now + 3_600,
            self.om.min_keeper_fee,
        )
        if isinstance(placed, m.Reverted):
            return 0
        allowance = self._push_same_price()
        fill = self.om.fill_round(a, slot, self.now)
        if not fill:
            return allowance
        outcome, credit = self._accrual_credit(
            lambda: self._execute_conditional(a, slot, fill, a, fill)
        )
        note(self, f"attacker conditional: {outcome.label}")
        allowance += credit
        if isinstance(outcome, m.Filled):
            allowance += max(0, m.mul_down(outcome.size_delta, price - outcome.fill_price)) + 2
        return allowance

    @invariant()
    def inv_conditional_fill_round(self):
        assert not self.bad_conditional_fills, self.bad_conditional_fills

    @invariant()
    def inv_reduce_only_never_grows(self):
        assert not self.reduce_only_grew, self.reduce_only_grew

    # ---- invariants: the chain == the model, after every step ------------------------------
    @invariant()
    def counts_the_step(self):
        """Not a property: runs once after every executed rule (preconditions skip the rest),
        so it is the depth the test reports and asserts."""
        type(self).steps += 1

    @invariant()
    def positions_match_model(self):
        books = self._books()
        for w in ACCOUNTS:
            assert books.positions[w] == self.model.position(w), w

    @invariant()
    def orders_match_model(self):
        books = self._books()
        for w in ACCOUNTS:
            assert books.orders[w] == self.model.pending_order(w), w

    @invariant()
    def token_balances_match_model(self):
        """Every token unit where the model says: the market, the pool, the insurance fund,
        every trader, the keeper and the LP."""
        assert self._books().balances == {w: self.model.balance_of(w) for w in (*HOLDERS, *BOOKS)}

    @invariant()
    def pool_shares_match_model(self):
        books = self._books()
        assert (books.shares, books.share_supply) == (
            self.model.shares.get("lp", 0),
            self.model.share_supply,
        )

    @invariant()
    def funding_state_matches_model(self):
        """Invariant 5: the stored rate, index and time == the model's accruals."""
        assert self._books().funding == self.model.funding_state()

    @invariant()
    def pool_shortfall_matches_model(self):
        assert self._books().pool_shortfall == self.model.pool_shortfall

    @invariant()
    def insurance_due_matches_model(self):
        """The penalties the market holds for the insurance fund == the model's."""
        assert self._books().insurance_due == self.model.insurance_due

    @invariant()
    def skew_and_open_interest_match_positions(self):
        """Invariant 7."""
        books = self._books()
        sizes = [p.size for p in books.positions.values()]
        long_oi, short_oi = sum(max(s, 0) for s in sizes), sum(max(-s, 0) for s in sizes)
        assert books.skew == long_oi - short_oi
        assert books.open_interest == (long_oi, short_oi)

    @invariant()
    def aggregates_equal_their_positions(self):
        """Invariant 6: Σ size x entry and Σ size x funding entry, kept in O(1) by the one
        function that writes positions, == the sums over the positions, to the wei (each term
        leaves exactly as it entered). With views only, the pool's PnL stands in for them."""
        books = self._books()
        pos = books.positions.values()
        sums = (
            sum(m.tdiv(p.size * p.entry_price, WAD) for p in pos),
            sum(m.tdiv(p.size * p.funding_entry, WAD) for p in pos),
        )
        if books.sums is not None:
            assert books.sums == sums
        assert (self.model.sum_entry, self.model.sum_funding) == sums

    @invariant()
    def funding_is_zero_sum(self):
        """Invariant 5: what the traders owe in funding == what the pool's aggregates say it
        is owed, up to the stated rounding."""
        model, index = self.model, self._index()
        owed = sum(m.funding_owed(p.size, index, p.funding_entry) for p in model.positions.values())
        pool_share = m.tdiv(model.skew * index, WAD) - model.sum_funding
        bound = FUNDING_ROUNDING_WEI_PER_POSITION * len(model.positions) + FUNDING_ROUNDING_WEI
        assert abs(owed - pool_share) <= bound, (owed, pool_share)

    @invariant()
    def inv_fill_never_liquidatable(self):
        """Invariant 12 / finding 1: every fill left its position outside the liquidation
        threshold (equity >= MMR x notional + keeper reward) and at the minimum margin, at the
        oracle price it filled at (checked at each fill, `_check_fill`)."""
        assert not self.bad_fills, self.bad_fills

    @invariant()
    def inv_liquidation_leaves_healthy_closed_or_recorded(self):
        """Invariant 4 / finding 3: after every `liquidate` the rest was healthy (outside the
        threshold, at the minimum margin), closed, or its shortfall recorded."""
        assert not self.bad_liquidations, self.bad_liquidations

    @invariant()
    def inv_keeper_paid_beyond_equity_only_after_a_move(self):
        """Invariant 12 / finding 1: a liquidation paid its keeper more than the position's
        equity only if, since the position's last fill (or partial liquidation), the oracle
        price moved against it, funding was charged to it, or the parameters changed. What the
        allowance covers: those three, nothing else (not the order fee a commit escrows, not a
        withdrawal, not time at a fixed price without funding)."""
        assert not self.unearned_rewards, self.unearned_rewards

    @invariant()
    def inv_pause_never_blocks_reducing(self):
        """Invariant 15 / finding 4: while paused, no order that only reduces or closes a
        position was refused at commit or cancelled at execution for the pause."""
        assert not self.pause_blocks, self.pause_blocks

    @invariant()
    def inv_attacker_value_never_grows_at_fixed_price(self):
        """Invariant 11 / finding 1: over each `attacker_acts` sequence (one oracle price; the
        rounds pushed in between repeat it), the attacker's value — tokens + position equity at
        the oracle price (floored at 0) + escrowed order fee + LP shares at the NAV — grew by
        no more than this allowance, exactly:
        - keeper fees and liquidation rewards paid to it for others' orders and positions;
        - on a self-liquidation of a position that was already liquidatable when the sequence
          began (a price move, funding or a parameter change made it so), the reward beyond
          the position's equity;
        - on each of its own fills, the skew premium (oracle price - fill price) x size when
          positive (the market pays whoever reduces a skew others made), + 2 wei of PnL
          truncation;
        - funding credited to its position over the seconds the sequence's pushes take, and
          by an execution's accrual at its fill round's price rather than the latest
          (`_accrual_credit`: second order, rate x price difference x seconds since the
          market's last touch).
        Its own order fees, its own executions and its own liquidation of a position it made
        liquidatable at this price earn nothing."""
        assert not self.attacker_gains, self.attacker_gains

    @invariant()
    def market_holds_every_margin(self):
        """Invariant 1: the market's tokens back every margin and escrowed keeper fee."""
        books = self._books()
        owed = sum(max(p.margin, 0) for p in books.positions.values())
        owed += sum(o.keeper_fee for o in books.orders.values())
        owed += books.insurance_due * self.upu
        owed += self.om.escrowed() if self.om is not None else 0
        assert books.balances[m.MARKET] * self.upu >= owed

    # ---- the end of an example ---------------------------------------------------------------
    def _views_agree(self) -> None:
        """The storage decoding == the views, and the views the machine does not read every
        step (PnL, NAV, liquidation flags, equity) == the model."""
        if self.reader is not self.views:
            storage, views = self.reader.read(), self.views.read()
            assert dataclasses.replace(storage, sums=None) == views
        t, mk = self.backend.view_time(), self.stack.market
        assert self.stack.pool.totalAssets() == self.model.pool_nav(t)  # tokens + what it is up
        assert mk.pool_pnl() == self.model.pool_pnl(t)
        flags = list(mk.liquidatable([self._addr(w) for w in ACCOUNTS]))
        assert flags == self.model.liquidatable(ACCOUNTS, t)
        assert mk.is_liquidatable(self._addr("t0")) == flags[0]
        assert mk.equity(self._addr("t0")) == self.model.equity("t0", t)

    def _dust_bound(self) -> int:
        return (
            DUST_UNITS_PER_LIQUIDATION * self.liquidations
            + DUST_UNITS_PER_SETTLEMENT_CLOSE * self.settlement_closes
            + 1
        ) * self.upu

    def _closed_out(self) -> None:
        """Invariant 10: no open interest, the aggregates at zero, the pool's PnL zero, the
        market holding the margins, the penalties due to the insurance fund and dust only."""
        books = self.reader.read()
        assert books.skew == 0 and books.open_interest == (0, 0)
        assert self.stack.market.pool_pnl() == 0 == self.model.pool_pnl(self.now)
        margins = sum(p.margin for p in books.positions.values())
        margins += self.om.escrowed() if self.om is not None else 0  # conditional orders' fees
        held = (books.balances[m.MARKET] - books.insurance_due) * self.upu
        assert 0 <= held - margins < self._dust_bound(), (held, margins)
        note(self, "closed out")

    def _close_by_orders(self) -> None:
        if self.status != OPEN:
            self._push(self.price, OPEN)
        self._push(self.price, OPEN)  # newer than every pending order
        for who in sorted(self.model.orders):
            self._market(who, "execute_order", by="keeper")
        if self.model.orders:  # past their window, or no usable round in reach: cancel them
            self.backend.advance(self.model.params.order_max_age + 1)
            for who in sorted(self.model.orders):
                self._market(who, "cancel_order", by="keeper")
            self._push(self.price, OPEN)
        self._sweep()
        for who in ACCOUNTS:
            size = self.model.position(who).size
            if size == 0:
                continue
            if self.model.position(who).margin < self.model.params.order_keeper_fee:
                self._market(who, "deposit_margin", self._units(10))
            self._market(who, "commit_order", -size, ANY_PRICE[0 if size < 0 else 1])
            self._push(self.price, OPEN)
            self._market(who, "execute_order", by="keeper")
            if self.model.position(who).size != 0:  # cancelled: equity below zero after dust
                self._liquidate(who)
            assert self.model.position(who).size == 0, who
        self._closed_out()

    def _close_by_delisting(self) -> None:
        """DEFAULT_ADMIN settles at the last price; pending orders are cancelled, every
        position closes at the frozen price, every margin leaves, then the LP."""
        outcome = self.model.settle(self.now)
        self._send(outcome, self.stack.market, "settle", sender=self.stack.admin)
        for who in sorted(self.model.orders):
            self._market(who, "execute_order", by="keeper")
        for who in ACCOUNTS:
            if self.model.position(who).size:
                self._market(who, "settle_position", by="keeper")
        self._closed_out()
        for who in ACCOUNTS:
            if units := self.model.position(who).margin // self.upu:
                self._market(who, "withdraw_margin", units)
        shares = self.model.shares.get("lp", 0)
        self.backend.advance(max(self.model.unlocks.get("lp", 0) - self.now, 0))  # the lock
        assert isinstance(self._lp("lp_redeem", "redeem", shares), m.Done)  # LPs leave last
        note(self, "delisted")
