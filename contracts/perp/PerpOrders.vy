# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title PerpOrders
@custom:contract-name PerpOrders
@notice The conditional-order book of one `PerpMarket` (docs/design/conditional-orders.md):
        limit, stop, take-profit and stop-loss orders, up to 8 per account, each with a
        trigger price, a size, an acceptable fill price, an expiry and a keeper fee
        escrowed from the trader's margin at placement. Anyone may execute a triggered
        order and is paid its fee.
        Which price fills an order: the first round pushed after its placement, usable when
        pushed (OPEN, not suspect) and crossing its trigger — a round `r` with no such round
        in the `order_max_age` before it (since the placement), executed within
        `order_max_age` of `r` (its window: the market's own expiry of a market order). No
        one chooses the price: at any time at most one round is in its window. A window
        that passed unexecuted re-arms the order (`execute` on that round): its next fill
        is the first qualifying round after the re-arm. A trigger crossed while the market
        was closed fills at the first usable round after the open (the gap fill at the
        open's price) unless the acceptable price forbids it.
        The fill itself is the market's: the market pays the executor the escrowed fee and
        the order becomes the account's pending market order, fixed to that round
        (`hold_order`); `execute_order` then fills it or cancels it with its reason (price,
        margin, open interest, paused). A take-profit or stop-loss with nothing left to
        reduce is cancelled ("reduce only"), its executor paid.
@dev Holds no funds between calls: the fees stay in the market, out of the traders' margin.
     Needs ORDERS_ROLE on its market.
"""

from interfaces import IEquityOracle
from contracts.lib import constants
from contracts.oracle import oracle_guard
from contracts.perp import perp_packing
from contracts.perp import perp_params


interface Market:
    def hold_order(
        account: address, fee_wad: int256, to: address, order_a: uint256, order_b: uint256
    ): nonpayable
    def execute_order(account: address): nonpayable
    def position(account: address) -> perp_packing.Position: view
    def params() -> perp_params.MarketParams: view
    def oracle() -> IEquityOracle: view


# @dev Order kinds. LIMIT: open or increase at or better than the trigger (a buy at or below
#      it, a sell at or above); STOP: when the price crosses it (a buy at or above, a sell at
#      or below); TAKE_PROFIT and STOP_LOSS: reduce-only, triggered as LIMIT and STOP.
LIMIT: public(constant(uint8)) = 1
STOP: public(constant(uint8)) = 2
TAKE_PROFIT: public(constant(uint8)) = 3
STOP_LOSS: public(constant(uint8)) = 4

# @dev Orders per account (ids 0 .. 7).
MAX_ORDERS: public(constant(uint256)) = 8
# @dev A reduce-only order of this |size| (the int128 bound) closes the whole position.
SIZE_ALL: public(constant(int256)) = 2**127 - 1
# @dev Trigger and acceptable prices are kept in 96 bits (~7.9e10 USD per share); an
#      acceptable price at or above it reads as no bound.
PRICE_MAX: public(constant(uint256)) = 2**96 - 1
# @dev Expiries are kept in 40 bits.
EXPIRY_MAX: constant(uint256) = 2**40 - 1
# @dev The largest keeper fee: 2**24 - 1 micro-USD (~16.78 USD).
FEE_MAX_MICRO: constant(uint256) = 2**24 - 1
# @dev Rounds a fill-round check reads back (the rounds pushed in one `order_max_age`).
SCAN_ROUNDS: constant(uint256) = 32

# @dev word a: size delta int128 [0,128) | placed round [128,192) | expiry [192,232) |
#      kind [232,235); word b: trigger [0,96) | acceptable [96,192) | placed_at [192,232) |
#      keeper fee in micro-USD [232,256). A dead order keeps its words with kind 0 (the next
#      placement rewrites non-zero words).
KIND_SHIFT: constant(uint256) = 232
KIND_MASK: constant(uint256) = 7 << KIND_SHIFT


struct Order:
    kind: uint8
    size_delta: int256
    trigger_price: uint256
    acceptable_price: uint256
    expiry: uint256
    keeper_fee: int256
    placed_round: uint256
    placed_at: uint256


MARKET: public(immutable(Market))
ORACLE: public(immutable(IEquityOracle))
# @dev The least keeper fee an order escrows (1e18 USD).
MIN_KEEPER_FEE: public(immutable(int256))
# @dev A fill round's window, seconds: the market's `order_max_age` at deployment (read
#      once: reading the market's parameters costs ~12k gas a call). A market whose
#      `order_max_age` is later set below it refuses executions late in the window
#      ("perp: order expired"); the order then re-arms after the window. Deploy a new book
#      after such a change.
WINDOW: public(immutable(uint256))
_SCALE: immutable(uint256)

_words: HashMap[address, uint256[16]]


event OrderPlaced:
    account: indexed(address)
    id: uint256
    kind: uint8
    size_delta: int256
    trigger_price: uint256
    acceptable_price: uint256
    expiry: uint256
    keeper_fee: int256


event OrderUpdated:
    account: indexed(address)
    id: uint256
    trigger_price: uint256
    acceptable_price: uint256
    expiry: uint256


# @dev A triggered order was handed to the market at `round_id`, its executor paid (the
#      market's `OrderFilled`, or `OrderCancelled` with its reason, in the same transaction
#      says which).
event OrderExecuted:
    account: indexed(address)
    id: uint256
    executor: indexed(address)
    round_id: uint256
    size_delta: int256


# @dev The fill round's window passed unexecuted: the order waits for a round after now.
event OrderRearmed:
    account: indexed(address)
    id: uint256
    by: indexed(address)
    round_id: uint256


event OrderCancelled:
    account: indexed(address)
    id: uint256
    by: indexed(address)
    reason: String[16]


@deploy
def __init__(market: Market, min_keeper_fee_wad: int256):
    """
    @param market The `PerpMarket` (grant this contract ORDERS_ROLE on it).
    @param min_keeper_fee_wad The least fee an order escrows (1e18 USD, whole micro-USD),
           e.g. the market's `order_keeper_fee`.
    """
    assert min_keeper_fee_wad > 0, "orders: bad fee"
    MARKET = market
    ORACLE = staticcall market.oracle()
    MIN_KEEPER_FEE = min_keeper_fee_wad
    WINDOW = (staticcall market.params()).order_max_age
    _SCALE = 10**convert(staticcall ORACLE.decimals(), uint256)


# ---- orders -----------------------------------------------------------------------------


@external
def place(
    id: uint256,
    kind: uint8,
    size_delta: int256,
    trigger_price: uint256,
    acceptable_price: uint256,
    expiry: uint256,
    keeper_fee_wad: int256,
):
    """
    @notice Places a conditional order in the caller's slot `id`, escrowing `keeper_fee_wad`
            from the caller's margin. Allowed at any hour (a stop waits for the open); margin
            is checked when it fills. A take-profit or stop-loss is signed as the trade that
            reduces the position (a long's: negative); `SIZE_ALL` in size closes it whole.
    @param id Slot 0 .. 7, free.
    @param kind LIMIT, STOP, TAKE_PROFIT or STOP_LOSS.
    @param size_delta Signed shares (+ buy, - sell).
    @param trigger_price Trigger (1e18 USD per share), below `PRICE_MAX`.
    @param acceptable_price Worst fill price accepted (1e18 USD); at or above `PRICE_MAX`
           for no bound on a buy.
    @param expiry Timestamp after which it cannot fill.
    @param keeper_fee_wad Fee paid to its executor, at least `MIN_KEEPER_FEE`, whole
           micro-USD, at most ~16.78 USD.
    """
    assert id < MAX_ORDERS, "orders: bad id"
    assert self._words[msg.sender][2 * id] & KIND_MASK == 0, "orders: slot taken"
    assert kind >= LIMIT and kind <= STOP_LOSS, "orders: bad kind"
    assert size_delta != 0 and abs(size_delta) <= SIZE_ALL, "orders: bad size"
    self._check_prices(trigger_price, expiry)
    assert (
        keeper_fee_wad >= MIN_KEEPER_FEE
        and keeper_fee_wad % constants.MICRO_I == 0
        and convert(keeper_fee_wad // constants.MICRO_I, uint256) <= FEE_MAX_MICRO
    ), "orders: bad fee"
    order: Order = Order(
        kind=kind,
        size_delta=size_delta,
        trigger_price=trigger_price,
        acceptable_price=min(acceptable_price, PRICE_MAX),
        expiry=expiry,
        keeper_fee=keeper_fee_wad,
        placed_round=staticcall ORACLE.latestRound(),
        placed_at=block.timestamp,
    )
    assert (
        staticcall MARKET.position(msg.sender)
    ).margin >= keeper_fee_wad, "orders: margin below fee"
    self._put(msg.sender, id, order)
    extcall MARKET.hold_order(msg.sender, keeper_fee_wad, empty(address), 0, 0)
    log OrderPlaced(
        account=msg.sender,
        id=id,
        kind=kind,
        size_delta=size_delta,
        trigger_price=trigger_price,
        acceptable_price=order.acceptable_price,
        expiry=expiry,
        keeper_fee=keeper_fee_wad,
    )


@external
def update(id: uint256, trigger_price: uint256, acceptable_price: uint256, expiry: uint256):
    """
    @notice Moves an order's trigger, acceptable price and expiry; it then waits for a round
            pushed after now, as a new order. Refused while it has a round in its window
            ("orders: triggered").
    @param id The caller's order.
    @param trigger_price New trigger (1e18 USD).
    @param acceptable_price New acceptable price (1e18 USD).
    @param expiry New expiry.
    """
    order: Order = self._live(msg.sender, id)
    self._check_prices(trigger_price, expiry)
    assert self._fill_round(order) == 0, "orders: triggered"
    order.trigger_price = trigger_price
    order.acceptable_price = min(acceptable_price, PRICE_MAX)
    order.expiry = expiry
    order.placed_round = staticcall ORACLE.latestRound()
    order.placed_at = block.timestamp
    self._put(msg.sender, id, order)
    log OrderUpdated(
        account=msg.sender,
        id=id,
        trigger_price=trigger_price,
        acceptable_price=order.acceptable_price,
        expiry=expiry,
    )


@external
def cancel(account: address, id: uint256):
    """
    @notice Cancels an order, its fee back to the trader's margin: by its owner, except
            while it has a round in its window ("orders: triggered": no free look at the
            next price); by anyone once expired.
    @param account The trader.
    @param id The order.
    """
    order: Order = self._live(account, id)
    reason: String[16] = "expired"
    if block.timestamp <= order.expiry:
        assert msg.sender == account, "orders: not owner"
        assert self._fill_round(order) == 0, "orders: triggered"
        reason = "cancelled"
    self._drop(account, id, order, reason)


@external
def execute(account: address, id: uint256, round_id: uint256):
    """
    @notice Executes `account`'s order `id` at oracle round `round_id`, its fill round (see
            the contract's notice; `fill_round` names it), within that round's window: the
            market fills it at that round's price or cancels it with its reason, and the
            caller gets the fee either way. A fill round whose window passed re-arms the
            order instead (no fee; refused while a later fill round is in its window:
            "orders: triggered"). An expired order is dropped, its fee back to the trader.
            Refused while the account has a market order pending ("perp: order pending").
    @param account The trader.
    @param id The order.
    @param round_id The fill round.
    """
    order: Order = self._live(account, id)
    if block.timestamp > order.expiry:
        self._drop(account, id, order, "expired")
        return
    max_age: uint256 = WINDOW
    assert round_id > order.placed_round, "orders: not triggered"
    p: oracle_guard.Price = oracle_guard._round_of(ORACLE, _SCALE, round_id)
    assert self._qualifies(order, p) and self._starts_run(
        order, round_id, p.updated_at, max_age
    ), "orders: not triggered"
    if block.timestamp > p.updated_at - 1 + max_age:
        # not while a later fill round is in its window: that one is executed instead
        assert self._fill_round(order) == 0, "orders: triggered"
        order.placed_round = staticcall ORACLE.latestRound()
        order.placed_at = block.timestamp
        self._put(account, id, order)
        log OrderRearmed(account=account, id=id, by=msg.sender, round_id=round_id)
        return

    self._words[account][2 * id] &= ~KIND_MASK
    size: int256 = order.size_delta
    if order.kind >= TAKE_PROFIT:
        held: int256 = (staticcall MARKET.position(account)).size
        if held == 0 or (held > 0) == (size > 0):
            # nothing left to reduce (closed, liquidated, or the other side): cancelled, its
            # executor paid
            extcall MARKET.hold_order(account, -order.keeper_fee, msg.sender, 0, 0)
            log OrderCancelled(account=account, id=id, by=msg.sender, reason="reduce only")
            return
        if abs(size) > abs(held):
            size = -held  # never past zero: it closes, never flips
    acceptable: uint256 = order.acceptable_price
    if acceptable == PRICE_MAX:
        acceptable = perp_packing.ORDER_PRICE_MAX
    market_order: perp_packing.Order = perp_packing.Order(
        size_delta=size,
        acceptable_price=acceptable,
        committed_at=p.updated_at - 1,  # the market fills at the first round after it: this
        keeper_fee=0,  # paid here, to the executor, fill or cancel
        round_id=round_id - 1,
    )
    extcall MARKET.hold_order(
        account, -order.keeper_fee,
        msg.sender,
        perp_packing._order_word(market_order),
        perp_packing._order_b_word(market_order),
    )
    extcall MARKET.execute_order(account)
    log OrderExecuted(
        account=account, id=id, executor=msg.sender, round_id=round_id, size_delta=size
    )


# ---- views ------------------------------------------------------------------------------


@external
@view
def order(account: address, id: uint256) -> Order:
    """
    @notice One order (`kind` 0: the slot is free).
    @param account The trader.
    @param id Slot 0 .. 7.
    @return Order The order.
    """
    assert id < MAX_ORDERS, "orders: bad id"
    return self._get(account, id)


@external
@view
def orders(account: address) -> Order[MAX_ORDERS]:
    """
    @notice Every slot of `account` (`kind` 0: free).
    @param account The trader.
    @return Order[8] The orders by id.
    """
    out: Order[MAX_ORDERS] = empty(Order[MAX_ORDERS])
    for i: uint256 in range(MAX_ORDERS):
        out[i] = self._get(account, i)
    return out


@external
@view
def fill_round(account: address, id: uint256) -> uint256:
    """
    @notice The round `execute` fills order `id` at now, or 0 (not triggered, or its window
            passed: `execute` on the round its first crossing then re-arms it).
    @param account The trader.
    @param id The order.
    @return uint256 The round id, or 0.
    """
    order: Order = self._get(account, id)
    if order.kind == 0 or block.timestamp > order.expiry:
        return 0
    return self._fill_round(order)


@external
@view
def triggered(accounts: DynArray[address, 100]) -> DynArray[uint256, 100]:
    """
    @notice For keepers: per account, a bit mask of the orders the latest round triggers
            (bit `id`), whatever their window; `fill_round` then names the round to execute.
    @param accounts Traders.
    @return DynArray[uint256, 100] Masks.
    """
    p: oracle_guard.Price = oracle_guard._round_of(ORACLE, _SCALE, staticcall ORACLE.latestRound())
    out: DynArray[uint256, 100] = []
    for a: address in accounts:
        mask: uint256 = 0
        for i: uint256 in range(MAX_ORDERS):
            order: Order = self._get(a, i)
            if (
                order.kind != 0
                and convert(p.round_id, uint256) > order.placed_round
                and block.timestamp <= order.expiry
                and self._qualifies(order, p)
            ):
                mask |= 1 << i
        out.append(mask)
    return out


# ---- internals --------------------------------------------------------------------------


@internal
@view
def _check_prices(trigger_price: uint256, expiry: uint256):
    assert trigger_price != 0 and trigger_price < PRICE_MAX, "orders: bad trigger"
    assert expiry > block.timestamp and expiry <= EXPIRY_MAX, "orders: bad expiry"


@internal
@view
def _get(account: address, id: uint256) -> Order:
    a: uint256 = self._words[account][2 * id]
    kind: uint8 = convert((a >> KIND_SHIFT) & 7, uint8)
    if kind == 0:
        return empty(Order)
    b: uint256 = self._words[account][2 * id + 1]
    return Order(
        kind=kind,
        size_delta=perp_packing._i128(a),
        trigger_price=b & constants.MASK96,
        acceptable_price=(b >> 96) & constants.MASK96,
        expiry=(a >> 192) & (2**40 - 1),
        keeper_fee=convert(b >> 232, int256) * constants.MICRO_I,
        placed_round=(a >> 128) & constants.MASK64,
        placed_at=(b >> 192) & (2**40 - 1),
    )


@internal
@view
def _live(account: address, id: uint256) -> Order:
    assert id < MAX_ORDERS, "orders: bad id"
    order: Order = self._get(account, id)
    assert order.kind != 0, "orders: no order"
    return order


@internal
def _put(account: address, id: uint256, order: Order):
    assert order.placed_round <= constants.MASK64, "orders: overflow"
    self._words[account][2 * id] = (
        perp_packing._u128(order.size_delta)
        | (order.placed_round << 128)
        | (order.expiry << 192)
        | (convert(order.kind, uint256) << KIND_SHIFT)
    )
    self._words[account][2 * id + 1] = (
        order.trigger_price
        | (order.acceptable_price << 96)
        | (order.placed_at << 192)
        | (convert(order.keeper_fee // constants.MICRO_I, uint256) << 232)
    )


@internal
def _drop(account: address, id: uint256, order: Order, reason: String[16]):
    self._words[account][2 * id] &= ~KIND_MASK
    extcall MARKET.hold_order(account, -order.keeper_fee, empty(address), 0, 0)
    log OrderCancelled(account=account, id=id, by=msg.sender, reason=reason)


@internal
@pure
def _crosses(order: Order, price: uint256) -> bool:
    """
    @dev LIMIT and TAKE_PROFIT: a buy at or below the trigger, a sell at or above; STOP and
         STOP_LOSS: a buy at or above, a sell at or below.
    """
    at_or_below: bool = price <= order.trigger_price
    if price == order.trigger_price:
        return True
    if order.kind == LIMIT or order.kind == TAKE_PROFIT:
        return at_or_below == (order.size_delta > 0)
    return at_or_below != (order.size_delta > 0)


@internal
@pure
def _qualifies(order: Order, p: oracle_guard.Price) -> bool:
    """
    @dev `p` (a round after the placement round) was pushed after the placement, usable
         when pushed, and crosses the trigger.
    """
    return (
        p.updated_at > order.placed_at
        and p.status == constants.OPEN
        and self._crosses(order, p.wad)
    )


@internal
@view
def _starts_run(order: Order, round_id: uint256, updated_at: uint256, max_age: uint256) -> bool:
    """
    @dev No round after the placement round qualified in the `max_age` before `round_id`
         (pushed at `updated_at`): `round_id` is a fill round, and fill rounds are more than
         `max_age` apart, so their windows never overlap.
    """
    rid: uint256 = round_id
    for i: uint256 in range(SCAN_ROUNDS):
        rid -= 1
        if rid <= order.placed_round:
            return True
        p: oracle_guard.Price = oracle_guard._round_of(ORACLE, _SCALE, rid)
        if p.updated_at + max_age <= updated_at:
            return True
        if self._qualifies(order, p):
            return False
    raise "orders: scan"


@internal
@view
def _fill_round(order: Order) -> uint256:
    """
    @dev The fill round in its window now, or 0: the earliest qualifying round of the
         window (no later one can start a run), if it starts one.
    """
    max_age: uint256 = WINDOW
    rid: uint256 = staticcall ORACLE.latestRound()
    found: uint256 = 0
    found_at: uint256 = 0
    for i: uint256 in range(SCAN_ROUNDS):
        if rid <= order.placed_round:
            break
        p: oracle_guard.Price = oracle_guard._round_of(ORACLE, _SCALE, rid)
        if block.timestamp > p.updated_at - 1 + max_age:
            break
        if self._qualifies(order, p):
            found = rid
            found_at = p.updated_at
        rid -= 1
    if found == 0 or not self._starts_run(order, found, found_at, max_age):
        return 0
    return found
