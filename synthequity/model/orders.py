"""Reference model of a perp market's conditional-order book, `PerpOrders`
(docs/design/conditional-orders.md): limit, stop, take-profit and stop-loss orders.

Pure rules first — when a price crosses a trigger, which oracle round an order fills at
(`fill_round`), whether a round starts a run — then `OrdersModel`, the book as an executable
model on top of `PerpModel`: placing escrows the keeper fee out of the trader's margin, a
triggered order becomes the trader's pending market order fixed to its fill round and the
market fills it (`PerpModel.execute_order`) or cancels it with its reason; the fee reaches
whoever executed.

Which round fills an order: the first pushed after its placement that was usable when pushed
(OPEN) and crosses its trigger — precisely, a round `r` after the placement round with no
such round in the `order_max_age` before it (a run's start), executed within its window
(`now <= updated_at(r) - 1 + order_max_age`). Run starts are more than `order_max_age`
apart, so at any time at most one round is in its window: the executor never chooses the
price. A window that passed re-arms the order (`execute` on that round): its next fill is
the first qualifying round pushed after the re-arm.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from synthequity.model.perp import (
    MICRO,
    OPEN,
    ORDER_PRICE_MAX,
    Cancelled,
    Done,
    OracleReading,
    Order,
    Outcome,
    PerpModel,
    PerpRevert,
    Reverted,
)

LIMIT, STOP, TAKE_PROFIT, STOP_LOSS = 1, 2, 3, 4
KIND_NAMES = {LIMIT: "limit", STOP: "stop", TAKE_PROFIT: "take-profit", STOP_LOSS: "stop-loss"}
MAX_ORDERS = 8
SIZE_ALL = 2**127 - 1  # a reduce-only order of this |size| closes the whole position
PRICE_MAX = 2**96 - 1  # triggers below it; an acceptable price at or above: no bound
EXPIRY_MAX = 2**40 - 1
FEE_MAX_MICRO = 2**24 - 1
SCAN_ROUNDS = 32
BPS = 10_000
ORDERS = "orders"  # the book's own token balance in `PerpModel.balances`


@dataclass(frozen=True)
class ConditionalOrder:
    """One slot of `PerpOrders.orders(account)`; `kind` 0 when free."""

    kind: int = 0
    size_delta: int = 0
    trigger_price: int = 0
    acceptable_price: int = 0  # saturated at PRICE_MAX
    expiry: int = 0
    keeper_fee: int = 0  # USD wad, whole micro-USD
    placed_round: int = 0  # the oracle's latest round at placement (or the last re-arm)
    placed_at: int = 0

    @property
    def reduce_only(self) -> bool:
        return self.kind in (TAKE_PROFIT, STOP_LOSS)


def crosses(kind: int, size_delta: int, trigger: int, price: int) -> bool:
    """LIMIT and TAKE_PROFIT: a buy at or below the trigger, a sell at or above; STOP and
    STOP_LOSS: a buy at or above, a sell at or below."""
    if price == trigger:
        return True
    at_or_below = price < trigger
    if kind in (LIMIT, TAKE_PROFIT):
        return at_or_below == (size_delta > 0)
    return at_or_below != (size_delta > 0)


def qualifies(order: ConditionalOrder, r: OracleReading) -> bool:
    """Round `r` (after the placement round) was pushed after the placement, usable when
    pushed, and crosses the trigger."""
    return (
        r.updated_at > order.placed_at
        and r.status == OPEN
        and crosses(order.kind, order.size_delta, order.trigger_price, r.price_wad)
    )


def starts_run(
    order: ConditionalOrder, rounds: Mapping[int, OracleReading], round_id: int, max_age: int
) -> bool:
    """No round after the placement round qualified in the `max_age` before `round_id`
    (which the caller checked qualifies). Raises "orders: scan" past `SCAN_ROUNDS` reads."""
    at = rounds[round_id].updated_at
    rid = round_id
    for _ in range(SCAN_ROUNDS):
        rid -= 1
        if rid <= order.placed_round:
            return True
        r = rounds.get(rid)
        if r is None:
            raise PerpRevert("oracle: round evicted")
        if r.updated_at + max_age <= at:
            return True
        if qualifies(order, r):
            return False
    raise PerpRevert("orders: scan")


def in_window(r: OracleReading, now: int, max_age: int) -> bool:
    """A fill round executes until `updated_at - 1 + max_age` (the market's own expiry of
    the market order it becomes)."""
    return now <= r.updated_at - 1 + max_age


def fill_round(
    order: ConditionalOrder,
    rounds: Mapping[int, OracleReading],
    latest_round: int,
    now: int,
    max_age: int,
) -> int:
    """The round `execute` fills `order` at now (`PerpOrders.fill_round`), or 0: the
    earliest qualifying round still in its window, if it starts a run."""
    found = 0
    rid = latest_round
    for _ in range(SCAN_ROUNDS):
        if rid <= order.placed_round:
            break
        r = rounds[rid]
        if not in_window(r, now, max_age):
            break
        if qualifies(order, r):
            found = rid
        rid -= 1
    if found == 0 or not starts_run(order, rounds, found, max_age):
        return 0
    return found


def first_crossing(
    order: ConditionalOrder, rounds: Mapping[int, OracleReading], latest_round: int
) -> int:
    """The first qualifying round after the placement (0 if none): the round a prompt keeper
    fills at, and the one to name to re-arm an order whose window passed."""
    for rid in range(order.placed_round + 1, latest_round + 1):
        r = rounds.get(rid)
        if r is not None and qualifies(order, r):
            return rid
    return 0


def acceptable_price(size_delta: int, trigger: int, slippage_bps: int | None) -> int:
    """The worst fill an order accepts: `slippage_bps` beyond its trigger (a buy above, a
    sell below), or no bound (`None`: a stop-loss that must fill through a gap, at the open's
    price — PRICE_MAX for a buy, 0 for a sell)."""
    if slippage_bps is None:
        return PRICE_MAX if size_delta > 0 else 0
    if size_delta > 0:
        return min(trigger * (BPS + slippage_bps) // BPS, PRICE_MAX)
    return trigger * (BPS - slippage_bps) // BPS


def free_slot(kinds: Iterable[int]) -> int | None:
    """The lowest free id among an account's slots (their kinds, 0 when free), or None (all
    8 in use)."""
    return next((i for i, kind in enumerate(kinds) if kind == 0), None)


def trigger_above(kind: int, position_size: int) -> bool:
    """Whether a take-profit or stop-loss for a position of `position_size` triggers above
    the price (a long's take-profit, a short's stop-loss) rather than below."""
    return (kind == TAKE_PROFIT) == (position_size > 0)


def reduce_delta(position_size: int, size: int | None) -> int:
    """A take-profit's or stop-loss's signed size: the trade that reduces the position by
    `size` shares (all of it, whatever it is at execution, when None)."""
    whole = size is None or size >= abs(position_size)
    magnitude = SIZE_ALL if whole else size
    assert magnitude is not None
    return -magnitude if position_size > 0 else magnitude


@dataclass(frozen=True)
class Rearmed:
    """The fill round's window had passed: the order waits for a later round."""

    round_id: int

    @property
    def label(self) -> str:
        return "rearmed"


OrdersOutcome = Outcome | Rearmed


@dataclass
class OrdersModel:
    """`PerpOrders` on top of a `PerpModel` (`perp`): every entry point validates and moves
    state as the contract does, in its order, and returns its outcome; a revert leaves both
    models unchanged. `Cancelled` with the book's reason ("cancelled", "expired", "reduce
    only") for a cancel by the book; an executed order returns the market's outcome
    (`Filled`, or `Cancelled` with the market's reason)."""

    perp: PerpModel
    min_keeper_fee: int
    window: int  # `PerpOrders.WINDOW`: the market's order_max_age when the book was deployed
    books: dict[str, dict[int, ConditionalOrder]] = field(default_factory=dict)

    # ---- views ------------------------------------------------------------------------------
    def order(self, who: str, oid: int) -> ConditionalOrder:
        return self.books.get(who, {}).get(oid, ConditionalOrder())

    def orders(self, who: str) -> list[ConditionalOrder]:
        return [self.order(who, i) for i in range(MAX_ORDERS)]

    def escrowed(self) -> int:
        """Σ the live orders' fees (USD wad): held by the market out of the margins."""
        return sum(o.keeper_fee for book in self.books.values() for o in book.values())

    @property
    def max_age(self) -> int:
        return self.window

    def fill_round(self, who: str, oid: int, now: int) -> int:
        o = self.order(who, oid)
        if o.kind == 0 or now > o.expiry:
            return 0
        return fill_round(o, self.perp.rounds, self._latest_round(), now, self.max_age)

    def triggered(self, accounts: list[str], now: int) -> list[int]:
        latest = self.perp._latest()
        out = []
        for a in accounts:
            mask = 0
            for i, o in enumerate(self.orders(a)):
                if (
                    o.kind
                    and latest.round_id > o.placed_round
                    and now <= o.expiry
                    and qualifies(o, latest)
                ):
                    mask |= 1 << i
            out.append(mask)
        return out

    # ---- entry points -------------------------------------------------------------------
    def place(
        self,
        who: str,
        oid: int,
        kind: int,
        size_delta: int,
        trigger: int,
        acceptable: int,
        expiry: int,
        fee: int,
        now: int,
    ) -> OrdersOutcome:
        def tx() -> OrdersOutcome:
            if oid >= MAX_ORDERS:
                raise PerpRevert("orders: bad id")
            if self.order(who, oid).kind:
                raise PerpRevert("orders: slot taken")
            if not LIMIT <= kind <= STOP_LOSS:
                raise PerpRevert("orders: bad kind")
            if size_delta == 0 or abs(size_delta) > SIZE_ALL:
                raise PerpRevert("orders: bad size")
            self._check_prices(trigger, expiry, now)
            if fee < self.min_keeper_fee or fee % MICRO or fee // MICRO > FEE_MAX_MICRO:
                raise PerpRevert("orders: bad fee")
            if self.perp.position(who).margin < fee:
                raise PerpRevert("orders: margin below fee")
            self._put(
                who,
                oid,
                ConditionalOrder(
                    kind,
                    size_delta,
                    trigger,
                    min(acceptable, PRICE_MAX),
                    expiry,
                    fee,
                    self._latest_round(),
                    now,
                ),
            )
            self._hold(who, fee)
            return Done()

        return self._atomic(tx)

    def update(
        self, who: str, oid: int, trigger: int, acceptable: int, expiry: int, now: int
    ) -> OrdersOutcome:
        def tx() -> OrdersOutcome:
            o = self._live(who, oid)
            self._check_prices(trigger, expiry, now)
            if fill_round(o, self.perp.rounds, self._latest_round(), now, self.max_age):
                raise PerpRevert("orders: triggered")
            self._put(
                who,
                oid,
                dataclasses.replace(
                    o,
                    trigger_price=trigger,
                    acceptable_price=min(acceptable, PRICE_MAX),
                    expiry=expiry,
                    placed_round=self._latest_round(),
                    placed_at=now,
                ),
            )
            return Done()

        return self._atomic(tx)

    def cancel(self, caller: str, who: str, oid: int, now: int) -> OrdersOutcome:
        def tx() -> OrdersOutcome:
            o = self._live(who, oid)
            reason = "expired"
            if now <= o.expiry:
                if caller != who:
                    raise PerpRevert("orders: not owner")
                if fill_round(o, self.perp.rounds, self._latest_round(), now, self.max_age):
                    raise PerpRevert("orders: triggered")
                reason = "cancelled"
            return self._drop(who, oid, o, reason)

        return self._atomic(tx)

    def execute(self, caller: str, who: str, oid: int, round_id: int, now: int) -> OrdersOutcome:
        def tx() -> OrdersOutcome:
            o = self._live(who, oid)
            if now > o.expiry:
                return self._drop(who, oid, o, "expired")
            max_age = self.max_age
            if round_id <= o.placed_round:
                raise PerpRevert("orders: not triggered")
            if round_id > self._latest_round():
                raise PerpRevert("oracle: no data")
            r = self.perp.rounds.get(round_id)
            if r is None:
                raise PerpRevert("oracle: round evicted")
            if not (qualifies(o, r) and starts_run(o, self.perp.rounds, round_id, max_age)):
                raise PerpRevert("orders: not triggered")
            if not in_window(r, now, max_age):
                if fill_round(o, self.perp.rounds, self._latest_round(), now, max_age):
                    raise PerpRevert("orders: triggered")  # the later fill round goes first
                latest = self._latest_round()
                self._put(who, oid, dataclasses.replace(o, placed_round=latest, placed_at=now))
                return Rearmed(round_id)
            del self.books[who][oid]
            size = o.size_delta
            if o.reduce_only:
                held = self.perp.position(who).size
                if held == 0 or (held > 0) == (size > 0):
                    self.perp._push_wad(caller, o.keeper_fee)
                    return Cancelled("reduce only")
                if abs(size) > abs(held):
                    size = -held
            acceptable = ORDER_PRICE_MAX if o.acceptable_price == PRICE_MAX else o.acceptable_price
            self.perp._push_wad(caller, o.keeper_fee)  # the market pays the executor
            if who in self.perp.orders:
                raise PerpRevert("perp: order pending")
            if r.updated_at - 1 | round_id - 1 >= 2**64:
                raise PerpRevert("perp: overflow")
            self.perp.orders[who] = Order(size, acceptable, r.updated_at - 1, 0, round_id - 1)
            out = self.perp.execute_order(ORDERS, who, now)
            if isinstance(out, Reverted):
                raise PerpRevert(out.reason)
            return out

        return self._atomic(tx)

    # ---- internals ----------------------------------------------------------------------
    def _latest_round(self) -> int:
        return self.perp._latest().round_id

    @staticmethod
    def _check_prices(trigger: int, expiry: int, now: int) -> None:
        if trigger == 0 or trigger >= PRICE_MAX:
            raise PerpRevert("orders: bad trigger")
        if expiry <= now or expiry > EXPIRY_MAX:
            raise PerpRevert("orders: bad expiry")

    def _live(self, who: str, oid: int) -> ConditionalOrder:
        if oid >= MAX_ORDERS:
            raise PerpRevert("orders: bad id")
        o = self.order(who, oid)
        if o.kind == 0:
            raise PerpRevert("orders: no order")
        return o

    def _put(self, who: str, oid: int, o: ConditionalOrder) -> None:
        if o.placed_round >= 2**64:
            raise PerpRevert("orders: overflow")
        self.books.setdefault(who, {})[oid] = o

    def _hold(self, who: str, fee: int) -> None:
        """`PerpMarket.hold_order`'s escrow: out of (positive) or back to (negative) margin."""
        pos = self.perp.position(who)
        if pos.margin < fee:
            raise PerpRevert("perp: margin below keeper fee")
        self.perp._put_pos(who, dataclasses.replace(pos, margin=pos.margin - fee))

    def _drop(self, who: str, oid: int, o: ConditionalOrder, reason: str) -> Outcome:
        del self.books[who][oid]
        self._hold(who, -o.keeper_fee)
        return Cancelled(reason)

    def _atomic(self, tx: Callable[[], OrdersOutcome]) -> OrdersOutcome:
        saved_books = {k: dict(v) for k, v in self.books.items()}
        saved_perp = {
            k: dict(v) if isinstance(v, dict) else v for k, v in self.perp.__dict__.items()
        }
        try:
            return tx()
        except PerpRevert as exc:
            self.books = saved_books
            self.perp.__dict__.update(saved_perp)
            return Reverted(exc.reason)


__all__ = [
    "LIMIT",
    "STOP",
    "STOP_LOSS",
    "TAKE_PROFIT",
    "ConditionalOrder",
    "OrdersModel",
    "Rearmed",
    "crosses",
    "fill_round",
    "first_crossing",
    "qualifies",
    "starts_run",
]
