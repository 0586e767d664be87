# pragma version 0.4.3
"""
@title perp_market
@custom:contract-name perp_market
@notice A perpetual futures market on one equity (docs/spec.md §4, §5): isolated margin in the
        collateral token, two-step orders filled at the first price published after the
        commit, fill price from skew, maker/taker fees, funding velocity, liquidation back to
        the initial margin, and an LP pool as the counterparty of the skew.

        Realization: every fill or liquidation realizes the position's PnL and funding into its
        margin at once and re-bases it at the fill price; what the trader gains the pool pays
        (`pool.pay`), what the trader loses (and every fee) goes to the pool. The pool's NAV
        then only needs the *unrealized* part, which `pool_pnl()` computes in O(1) from three
        aggregates that one internal function, `_set_position`, keeps (GMX v1 lesson).

        Delisting ("settle" in the public interface, `_delist` here): the market freezes at
        the oracle's last price and every position closes at it (`_close_delisted`).

        Units: sizes signed shares (1e18), prices and USD amounts 1e18 (`int256` for signed
        math), margins in USD wad; token transfers in collateral units (`_units_and_dust`:
        paid out rounds down, owed rounds up).

        Two deployables run this module in one storage: `PerpMarket` (the hot paths and the
        keepers' batch view) and `PerpMarketExt` (everything else, run by delegatecall from
        the market): docs/architecture.md.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from interfaces import IEquityOracle
from interfaces import IInsuranceFund
from interfaces import ILiquidityPool
from snekmate.utils import pausable
from contracts.lib import constants
from contracts.oracle import oracle_guard
from contracts.perp import perp_math
from contracts.perp import perp_packing
from contracts.perp import perp_params

uses: pausable
initializes: oracle_guard


interface ParamsCodec:
    def pack(params: perp_params.MarketParams) -> uint256[4]: pure
    def fill_round_price(
        oracle: IEquityOracle, scale: uint256, round_id: uint256, committed_at: uint256
    ) -> uint256: view


# @dev Set in `_insurance_due` from initialization on (the word never returns to zero).
DUE_WARM: constant(uint256) = constants.TOP_BIT

# @dev The collateral token.
COLLATERAL: public(immutable(IERC20))
# @dev The counterparty pool.
POOL: public(immutable(ILiquidityPool))
# @dev Receives liquidation penalties; covers shortfalls first.
INSURANCE: public(immutable(IInsuranceFund))
# @dev Checks and packs parameters (`PerpParamsCodec`).
PARAMS_CODEC: public(immutable(ParamsCodec))
# @dev 10 ** (18 - collateral decimals).
_USD_PER_UNIT: immutable(int256)
# @dev The oracle guard's configuration word (`oracle_guard._config`: feed, freshness bound,
#      scale), fixed at deployment: the hot paths read prices without a storage read (the
#      same word is in `oracle_guard._cfg` for the guard's views).
_ORACLE_CFG: immutable(uint256)

# Storage is packed for gas (docs/spec.md §10); the bit layouts are in `perp_packing`.
# @dev Per trader: position word a (size | entry price).
_pos_a: HashMap[address, uint256]
# @dev Per trader: position word b (margin | funding entry).
_pos_b: HashMap[address, uint256]
# @dev Per trader: order word a (size delta | committed_at | keeper fee | ORDER_LIVE).
_ord_a: HashMap[address, uint256]
# @dev Per trader: the order's acceptable price.
_ord_b: HashMap[address, uint256]
# @dev skew | long open interest.
_agg_a: uint256
# @dev Σ size x entry | Σ size x funding entry.
_agg_b: uint256
# @dev rate | index | updated_at | MARKET_DELISTED (read with funding on every risk path).
_fund: uint256
# @dev The parameters in four words (`perp_params._pack`): the math in words 0 and 1 (a
#      liquidation reads only them), the orders' and the pool cap in word 2, the OI caps in 3.
_par_a: uint256
_par_b: uint256
_par_c: uint256
# @dev max long OI (USD) [0,128) | max short OI (USD) [128,256).
_par_d: uint256
# @dev Shortfalls the insurance fund could not cover, paid by the pool (USD wad).
pool_shortfall: public(int256)
# @dev The frozen price per base share once in settlement (delisting), 0 while live.
settlement_price_wad: public(uint256)
# @dev The liquidation penalties owed to the insurance fund (collateral units), held here
#      until anyone sweeps them to it (`_sweep_insurance`; a cover sweeps first), so that a
#      liquidation writes one word instead of making a transfer. `DUE_WARM` is set from
#      initialization on: accruing is always a non-zero to non-zero write.
_insurance_due: uint256


# @dev Margin moved in or out.
event MarginDeposited:
    account: indexed(address)
    amount: uint256


event MarginWithdrawn:
    account: indexed(address)
    amount: uint256


# @dev An order was committed; it fills at the first usable price after `committed_at`.
event OrderCommitted:
    account: indexed(address)
    size_delta: int256
    acceptable_price: uint256
    committed_at: uint256


# @dev Parameters changed (the whole set; see `params()`).
event MarketParamsSet:
    by: indexed(address)


# @dev An order was filled by `keeper`.
event OrderFilled:
    account: indexed(address)
    keeper: indexed(address)
    size_delta: int256
    fill_price: int256
    fee: int256
    size: int256


# @dev An order was removed without a fill (slippage, margin, cap, expiry).
event OrderCancelled:
    account: indexed(address)
    by: indexed(address)
    reason: String[16]


# @dev A liquidation closed `closed` shares; `penalty` to the insurance fund, `reward` to
#      the keeper; `shortfall` is what the margin could not pay.
event PositionLiquidated:
    account: indexed(address)
    keeper: indexed(address)
    closed: int256
    price: int256
    penalty: int256
    reward: int256
    shortfall: int256


# @dev The liquidation penalties held for the insurance fund went to it.
event InsuranceSwept:
    by: indexed(address)
    units: uint256


# @dev The market went into settlement at `price_wad` (frozen; funding stops).
event Settled:
    by: indexed(address)
    price_wad: uint256


# @dev A position was closed at the frozen price; `margin` is what the trader keeps (to
#      withdraw), `shortfall` what its margin could not pay the pool.
event PositionSettled:
    account: indexed(address)
    by: indexed(address)
    size: int256
    margin: int256
    shortfall: int256


@deploy
def __init__(
    collateral: IERC20,
    pool: ILiquidityPool,
    insurance: IInsuranceFund,
    codec: ParamsCodec,
    oracle_cfg: uint256,
):
    """
    @dev The immutables only: `PerpMarket` and its `PerpMarketExt` set the same ones, and the
         storage is written once, by `_initialize`, run in the market's storage.
         `oracle_cfg` is `oracle_guard._config(oracle, max_age_open)`, checked and made by
         the deployer (the factory), which passes the same word to both.
    """
    _ORACLE_CFG = oracle_cfg
    decimals_: uint8 = staticcall IERC20Detailed(collateral.address).decimals()
    assert decimals_ <= 18, "perp: decimals > 18"
    COLLATERAL = collateral
    POOL = pool
    INSURANCE = insurance
    PARAMS_CODEC = codec
    _USD_PER_UNIT = convert(10**convert(18 - decimals_, uint256), int256)


@internal
def _initialize(params: perp_params.MarketParams):
    """
    @dev The market's first storage: the oracle guard, the parameters, the funding clock.
    """
    assert self._fund == 0, "perp: initialized"
    oracle_guard._initialize_with(_ORACLE_CFG)
    self._set_params(params)
    self._put_funding(0, 0, block.timestamp)
    self._insurance_due = DUE_WARM


# ---- packed storage (bit layout in `perp_packing`) --------------------------------------------


@internal
@view
def _get_pos(account: address) -> perp_packing.Position:
    return perp_packing._position(self._pos_a[account], self._pos_b[account])


@internal
def _put_pos(account: address, pos: perp_packing.Position):
    a: uint256 = 0
    b: uint256 = 0
    a, b = perp_packing._position_words(pos)
    self._pos_a[account] = a
    self._pos_b[account] = b


@internal
@view
def _get_order(account: address) -> perp_packing.Order:
    return perp_packing._order(self._ord_a[account], self._ord_b[account])


@internal
def _put_order(account: address, order: perp_packing.Order):
    self._ord_a[account] = perp_packing._order_word(order)
    self._ord_b[account] = perp_packing._order_b_word(order)


@internal
def _clear_order(account: address):
    # stays non-zero: the next commit rewrites a warm word
    self._ord_a[account] = self._ord_a[account] & ~perp_packing.ORDER_LIVE


@internal
@view
def _skew() -> int256:
    return perp_packing._i128(self._agg_a)


@internal
@view
def _oi() -> (int256, int256):
    a: uint256 = self._agg_a
    long_oi: int256 = convert(a >> 128, int256)
    return long_oi, long_oi - perp_packing._i128(a)


@internal
@view
def _funding() -> (int256, int256, uint256):
    return perp_packing._funding(self._fund)


@internal
def _put_funding(rate: int256, index: int256, updated_at: uint256):
    self._fund = perp_packing._funding_word(rate, index, updated_at)


@internal
@view
def _math() -> perp_math.MathParams:
    return perp_params._unpack_math(self._par_a, self._par_b)


@internal
@view
def _market_params() -> perp_params.MarketParams:
    return perp_params._unpack([self._par_a, self._par_b, self._par_c, self._par_d])


# ---- views ------------------------------------------------------------------------------


@internal
@view
def _latest() -> oracle_guard.Price:
    """
    @dev The oracle's latest price (`oracle_guard._latest` on the immutable configuration).
    """
    return oracle_guard._latest_of(_ORACLE_CFG)


@internal
@view
def _price_for_risk() -> int256:
    """
    @dev The price for risk, or a revert with the reason it is not usable.
    """
    p: oracle_guard.Price = self._latest()
    oracle_guard._check_usable(p)
    return convert(p.wad, int256)


@internal
@view
def _delisted() -> bool:
    return self._fund & perp_packing.MARKET_DELISTED != 0


@internal
@view
def _require_listed():
    assert not self._delisted(), "perp: settled"


@internal
@view
def _price() -> int256:
    """
    @dev The price views value positions at: the frozen one once settled.
    """
    if self._delisted():
        return convert(self.settlement_price_wad, int256)
    return convert(self._latest().wad, int256)


@internal
@view
def _index_at(price: int256) -> int256:
    """
    @dev The funding index accrued to now (without writing).
    """
    rate: int256 = 0
    index: int256 = 0
    updated: uint256 = 0
    rate, index, updated = self._funding()
    if self._delisted():
        return index  # funding stopped at the freeze
    rate, index = perp_math._accrue_funding(
        rate, index, convert(block.timestamp - updated, int256), self._skew(), price, self._math()
    )
    return index


@internal
@view
def _equity(pos: perp_packing.Position, price: int256, index: int256) -> int256:
    return (
        pos.margin
        + perp_math._pnl(pos.size, pos.entry_price, price)
        - perp_math._funding_owed(pos.size, index, pos.funding_entry)
    )


@internal
@view
def _liquidatable(pos: perp_packing.Position, price: int256, index: int256) -> bool:
    if pos.size == 0:
        return False
    p: perp_math.MathParams = self._math()
    n: int256 = perp_math._notional(pos.size, price)
    return self._equity(pos, price, index) < self._liquidation_threshold(
        n, perp_math._keeper_reward_of(n, p), p
    )


@internal
@pure
def _liquidation_threshold(notional: int256, reward: int256, p: perp_math.MathParams) -> int256:
    """
    @dev The equity below which a position of `notional` (keeper reward `reward`) is
         liquidatable: maintenance margin + reward.
    """
    return perp_math._ceil_div(notional * p.maintenance_margin_bps, constants.BPS_I) + reward


@internal
@view
def _pool_pnl(price: int256, index: int256) -> int256:
    """
    @dev What the pool is up on open positions, in collateral units: −(traders' PnL) +
         funding the traders owe, from the aggregates.
    """
    return self._pool_pnl_at(self._skew(), price, index)


@internal
@view
def _pool_pnl_at(skew: int256, price: int256, index: int256) -> int256:
    """
    @dev `_pool_pnl` with the skew already read.
    """
    b: uint256 = self._agg_b
    trader_pnl: int256 = skew * price // constants.WAD_I - perp_packing._i128(b)
    funding_owed: int256 = skew * index // constants.WAD_I - perp_packing._i128(b >> 128)
    return (funding_owed - trader_pnl) // _USD_PER_UNIT


@internal
@view
def _required_nav(price: int256) -> uint256:
    """
    @dev The NAV the larger side of open interest needs under `max_skew_to_pool_bps`.
    """
    long_oi: int256 = 0
    short_oi: int256 = 0
    long_oi, short_oi = self._oi()
    oi: int256 = max(long_oi, short_oi) * price // constants.WAD_I
    need: int256 = oi * constants.BPS_I // perp_params._max_skew_to_pool_bps(self._par_c)
    return convert(need // _USD_PER_UNIT, uint256)


@internal
def _accrue(price: int256, p: perp_math.MathParams) -> int256:
    """
    @dev Brings the funding rate and index to now (before any change to the skew).
    """
    rate: int256 = 0
    index: int256 = 0
    updated: uint256 = 0
    rate, index, updated = self._funding()
    if updated == block.timestamp:
        return index
    rate, index = perp_math._accrue_funding(
        rate, index, convert(block.timestamp - updated, int256), self._skew(), price, p
    )
    self._put_funding(rate, index, block.timestamp)
    return index


@internal
def _set_position(account: address, new: perp_packing.Position):
    """
    @dev The only writer of positions: every aggregate the pool's NAV depends on changes here.
    """
    self._replace_position(account, self._get_pos(account), new)


@internal
def _replace_position(account: address, old: perp_packing.Position, new: perp_packing.Position):
    """
    @dev `_set_position` where the caller holds `old`, the position stored for `account`.
    """
    a: uint256 = self._agg_a
    skew: int256 = perp_packing._i128(a) + new.size - old.size
    long_oi: int256 = convert(a >> 128, int256) + max(new.size, 0) - max(old.size, 0)
    self._agg_a = perp_packing._u128(skew) | (convert(long_oi, uint256) << 128)
    b: uint256 = self._agg_b
    sum_entry: int256 = (
        perp_packing._i128(b)
        + new.size * new.entry_price // constants.WAD_I
        - old.size * old.entry_price // constants.WAD_I
    )
    sum_funding: int256 = (
        perp_packing._i128(b >> 128)
        + new.size * new.funding_entry // constants.WAD_I
        - old.size * old.funding_entry // constants.WAD_I
    )
    self._agg_b = perp_packing._u128(sum_entry) | (perp_packing._u128(sum_funding) << 128)
    self._put_pos(account, new)


@internal
@view
def _units_and_dust(trader_delta_wad: int256) -> (int256, int256):
    """
    @dev The token units a realized trader gain (> 0, rounded down) or loss (< 0, rounded
         up) moves, and the sub-unit dust the trader's margin must give up so that every
         margin stays backed by tokens the market holds.
    """
    if trader_delta_wad >= 0:
        units: int256 = trader_delta_wad // _USD_PER_UNIT
        return units, trader_delta_wad - units * _USD_PER_UNIT
    loss_units: int256 = (-trader_delta_wad + _USD_PER_UNIT - 1) // _USD_PER_UNIT
    return -loss_units, loss_units * _USD_PER_UNIT + trader_delta_wad


@internal
def _move_with_pool(units: int256):
    """
    @dev Moves `units` of collateral from the pool (> 0) or to it (< 0).
    """
    if units > 0:
        extcall POOL.pay(self, convert(units, uint256))
    elif units < 0:
        self._send_units(POOL.address, convert(-units, uint256))


@internal
def _realize(
    pos: perp_packing.Position, price: int256, index: int256
) -> (perp_packing.Position, int256):
    """
    @dev Realizes PnL (at `price`) and funding into the margin and re-bases the position at
         `price`; returns it and the margin change (what the pool pays, or receives if < 0).
    """
    delta: int256 = perp_math._pnl(pos.size, pos.entry_price, price) - perp_math._funding_owed(
        pos.size, index, pos.funding_entry
    )
    return perp_packing.Position(
        size=pos.size, entry_price=price, margin=pos.margin + delta, funding_entry=index
    ), delta


@internal
def _deposit_margin(amount: uint256):
    assert amount != 0, "perp: zero amount"
    self._require_listed()
    before: uint256 = staticcall COLLATERAL.balanceOf(self)
    assert extcall COLLATERAL.transferFrom(
        msg.sender, self, amount, default_return_value=True
    ), "perp: transfer in"
    assert staticcall COLLATERAL.balanceOf(self) >= before + amount, "perp: fee on transfer"
    pos: perp_packing.Position = self._get_pos(msg.sender)
    pos.margin += convert(amount, int256) * _USD_PER_UNIT
    self._put_pos(msg.sender, pos)  # margin only: no aggregate changes
    log MarginDeposited(account=msg.sender, amount=amount)


@internal
def _withdraw_margin(amount: uint256):
    """
    @dev Never pays out unrealized profit: withdrawable = margin + min(0, PnL - funding)
         - the equity an open position keeps (`perp_math._min_equity` at the IMR: outside
         the liquidation threshold, at least the minimum margin). Needs a usable price.
    """
    assert amount != 0, "perp: zero amount"
    pos: perp_packing.Position = self._get_pos(msg.sender)
    free: int256 = pos.margin
    if self._delisted():
        assert pos.size == 0, "perp: close first"  # no price needed: nothing moves any more
    else:
        price: int256 = self._price_for_risk()
        index: int256 = self._index_at(price)
        upnl: int256 = perp_math._pnl(pos.size, pos.entry_price, price) - perp_math._funding_owed(
            pos.size, index, pos.funding_entry
        )
        p: perp_math.MathParams = self._math()
        free += min(0, upnl) - perp_math._min_equity(pos.size, price, p.initial_margin_bps, p)
    # amount x unit <= free, in a form that cannot overflow (any uint256 gets the reason)
    assert amount <= convert(max(free, 0) // _USD_PER_UNIT, uint256), "perp: exceeds withdrawable"
    pos.margin -= convert(amount, int256) * _USD_PER_UNIT
    self._put_pos(msg.sender, pos)
    self._send_units(msg.sender, amount)
    log MarginWithdrawn(account=msg.sender, amount=amount)


@internal
def _commit(size_delta: int256, acceptable_price: uint256):
    """
    @dev While the guardian has paused, only an order that reduces or closes the position
         (docs/spec.md §8).
    """
    assert size_delta != 0, "perp: zero size"
    self._require_listed()
    latest: oracle_guard.Price = self._latest()
    oracle_guard._check_usable(latest)  # orders only while the market trades
    assert self._ord_a[msg.sender] & perp_packing.ORDER_LIVE == 0, "perp: order pending"
    fee: int256 = perp_params._order_keeper_fee(self._par_c)  # one word, not all four
    pos: perp_packing.Position = self._get_pos(msg.sender)
    if pausable.paused:
        assert not self._grows(pos.size, pos.size + size_delta), "pausable: contract is paused"
    assert pos.margin >= fee, "perp: margin below keeper fee"
    pos.margin -= fee
    self._put_pos(msg.sender, pos)
    self._put_order(
        msg.sender,
        perp_packing.Order(
            size_delta=size_delta,
            acceptable_price=acceptable_price,
            committed_at=block.timestamp,
            keeper_fee=fee,
            round_id=convert(latest.round_id, uint256),  # the fill is the first round after it
        ),
    )
    log OrderCommitted(
        account=msg.sender,
        size_delta=size_delta,
        acceptable_price=acceptable_price,
        committed_at=block.timestamp,
    )


@internal
@pure
def _grows(old_size: int256, new_size: int256) -> bool:
    """
    @dev A trade from `old_size` to `new_size` adds risk: it grows |size| or opens or flips a
         position (a close or a reduction does not).
    """
    return new_size != 0 and (abs(new_size) > abs(old_size) or (new_size > 0) != (old_size > 0))


@internal
def _pay_keeper(order: perp_packing.Order):
    self._push_wad(msg.sender, order.keeper_fee)


@internal
def _cancel(account: address, order: perp_packing.Order, reason: String[16]):
    self._clear_order(account)
    self._pay_keeper(order)
    log OrderCancelled(account=account, by=msg.sender, reason=reason)


@internal
def _execute(account: address):
    """
    @dev Fills the pending order at its fill round's price (`_fill_round_price`: a function
         of the commit, whoever executes whenever), within `order_max_age` of the commit
         (after it only `cancel_order` removes the order: no free look); a fill the trader
         would not accept, a cap or the margin cancels instead (the keeper is paid either
         way). A position left open by a fill keeps `perp_math._min_equity` at the oracle
         price (the IMR if it grew, else the MMR): never liquidatable at its fill, never
         below the minimum margin; a reduction that would leave less is cancelled ("margin":
         close it whole instead). While paused, an order that grows or flips the position is
         cancelled ("paused").
    """
    order: perp_packing.Order = self._get_order(account)
    assert order.committed_at != 0, "perp: no order"
    if self._delisted():
        self._cancel(account, order, "settled")
        return
    par_c: uint256 = self._par_c
    assert (
        block.timestamp <= order.committed_at + perp_params._order_max_age(par_c)
    ), "perp: order expired"
    price: int256 = self._fill_round_price(order)
    p: perp_math.MathParams = self._math()
    skew: int256 = self._skew()
    fill: int256 = perp_math._fill_price(price, skew, order.size_delta, p)
    fill_u: uint256 = convert(max(fill, 0), uint256)  # any uint256 bound is a valid input
    if (order.size_delta > 0 and fill_u > order.acceptable_price) or (
        order.size_delta < 0 and fill_u < order.acceptable_price
    ):
        self._cancel(account, order, "price")
        return

    index: int256 = self._accrue(price, p)
    old: perp_packing.Position = self._get_pos(account)
    pos: perp_packing.Position = empty(perp_packing.Position)
    realized: int256 = 0
    pos, realized = self._realize(old, fill, index)
    fee: int256 = perp_math._order_fee(skew, order.size_delta, fill, p)
    units: int256 = 0
    dust: int256 = 0
    units, dust = self._units_and_dust(realized - fee)
    pos.margin -= fee + dust
    new_size: int256 = pos.size + order.size_delta
    if new_size != 0:
        grows: bool = self._grows(pos.size, new_size)
        if grows and pausable.paused:
            self._cancel(account, order, "paused")
            return
        bps: int256 = p.maintenance_margin_bps
        if grows:
            bps = p.initial_margin_bps
        if self._equity(
            perp_packing.Position(
                size=new_size, entry_price=fill, margin=pos.margin, funding_entry=index
            ),
            price,
            index,
        ) < perp_math._min_equity(new_size, price, bps, p):
            self._cancel(account, order, "margin")
            return
        if grows and not self._within_caps(pos.size, new_size, price, index, par_c):
            self._cancel(account, order, "open interest")
            return
    if pos.margin < 0:
        self._cancel(account, order, "liquidatable")
        return
    pos.size = new_size
    self._clear_order(account)
    self._replace_position(account, old, pos)
    self._move_with_pool(units)
    self._pay_keeper(order)
    log OrderFilled(
        account=account,
        keeper=msg.sender,
        size_delta=order.size_delta,
        fill_price=fill,
        fee=fee,
        size=new_size,
    )


@internal
@view
def _fill_round_price(order: perp_packing.Order) -> int256:
    """
    @dev The price `order` fills at: its fill round's (the first after its commit round
         observed after its commit that was usable when pushed). Read here when that round
         is the latest (a keeper that executes on the next price); otherwise the codec scans
         the rounds (`PerpParamsCodec.fill_round_price`, with the reasons it refuses).
    """
    latest: oracle_guard.Price = self._latest()
    if (
        convert(latest.round_id, uint256) == order.round_id + 1
        and latest.updated_at > order.committed_at
        and latest.status == constants.OPEN
    ):
        return convert(latest.wad, int256)
    feed: IEquityOracle = empty(IEquityOracle)
    scale: uint256 = 0
    feed, scale = oracle_guard._feed_of(_ORACLE_CFG)
    return convert(
        staticcall PARAMS_CODEC.fill_round_price(feed, scale, order.round_id, order.committed_at),
        int256,
    )


@internal
@view
def _within_caps(
    old_size: int256, new_size: int256, price: int256, index: int256, par_c: uint256
) -> bool:
    """
    @dev The caps of parameter words 2 (`par_c`, the pool cap) and 3 (the OI caps), read
         without unpacking the others.
    """
    a: uint256 = self._agg_a
    skew: int256 = perp_packing._i128(a)
    long_oi: int256 = convert(a >> 128, int256)
    short_oi: int256 = long_oi - skew
    long_oi += max(new_size, 0) - max(old_size, 0)
    short_oi += min(old_size, 0) - min(new_size, 0)
    # the pool's NAV computed here: asking the pool would call back into this market
    nav: int256 = (
        convert(staticcall COLLATERAL.balanceOf(POOL.address), int256)
        + self._pool_pnl_at(skew, price, index)  # funding already accrued to now by the caller
    ) * _USD_PER_UNIT
    pool_cap: int256 = nav * perp_params._max_skew_to_pool_bps(par_c) // constants.BPS_I
    d: uint256 = self._par_d
    long_usd: int256 = long_oi * price // constants.WAD_I
    short_usd: int256 = short_oi * price // constants.WAD_I
    return (
        long_usd <= min(convert(d & constants.MASK128, int256), pool_cap)
        and short_usd <= min(convert(d >> 128, int256), pool_cap)
    )


@internal
def _hold_order_fee(account: address, fee_wad: int256, to: address):
    """
    @dev The conditional-order book's escrow: a positive `fee_wad` leaves `account`'s margin
         (placement: the book records it); a negative one returns to that margin (a cancel)
         or, when `to` is set, is paid to `to` (the order's executor).
    """
    if to != empty(address):
        self._push_wad(to, -fee_wad)
        return
    pos: perp_packing.Position = self._get_pos(account)
    assert pos.margin >= fee_wad  # the book checks it first, with its reason (room)
    pos.margin -= fee_wad
    self._put_pos(account, pos)


@internal
def _arm(account: address, order_a: uint256, order_b: uint256):
    """
    @dev A triggered conditional order becomes `account`'s pending order (its words packed
         by the book with `perp_packing`, its fee already escrowed, its round and time those
         just before its fill round): the next `_execute` fills it at that round's price, or
         cancels it with its reason.
    """
    assert self._ord_a[account] & perp_packing.ORDER_LIVE == 0, "perp: order pending"
    self._ord_a[account] = order_a | perp_packing.ORDER_LIVE
    self._ord_b[account] = order_b


@internal
def _cancel_order(account: address):
    order: perp_packing.Order = self._get_order(account)
    assert order.committed_at != 0, "perp: no order"
    assert (
        block.timestamp > order.committed_at + perp_params._order_max_age(self._par_c)
    ), "perp: order live"
    self._cancel(account, order, "expired")


@internal
def _liquidate(account: address):
    """
    @dev Closes what `perp_math._liquidation_size` says at the oracle price (all of it when
         the rest would not be healthy: docs/spec.md §7.4). The margin pays,
         in order: the trader's loss to the pool, the keeper's reward, the penalty. A keeper
         reward the margin cannot pay, and a loss beyond the margin (bad debt), are covered by
         the insurance fund first and the pool after (recorded in `pool_shortfall`).
    """
    self._require_listed()
    price: int256 = self._price_for_risk()
    p: perp_math.MathParams = self._math()
    index: int256 = self._accrue(price, p)
    old: perp_packing.Position = self._get_pos(account)
    notional: int256 = perp_math._notional(old.size, price)
    reward: int256 = perp_math._keeper_reward_of(notional, p)  # of the size before
    assert old.size != 0 and self._equity(old, price, index) < self._liquidation_threshold(
        notional, reward, p
    ), "perp: not liquidatable"
    pos: perp_packing.Position = empty(perp_packing.Position)
    bad_debt: int256 = 0
    pos, bad_debt = self._realize_against_pool(old, price, index)
    # realized at `price`: the equity is the margin (sub-unit dust of a gain already off it)
    closed: int256 = perp_math._liquidation_size_with(pos.size, pos.margin, price, reward, p)
    # paid out: rounds down
    penalty: int256 = (
        perp_math._notional(closed, price) * p.liquidation_penalty_bps // constants.BPS_I
    )
    available: int256 = max(pos.margin, 0)
    reward_paid: int256 = min(reward, available)
    penalty_paid: int256 = min(penalty, available - reward_paid)
    pos.margin = available - reward_paid - penalty_paid
    pos.size -= closed
    self._replace_position(account, old, pos)

    self._push_wad(msg.sender, reward_paid)
    # held for the insurance fund (whole units, as a transfer would round)
    self._insurance_due += convert(penalty_paid // _USD_PER_UNIT, uint256)
    shortfall: int256 = bad_debt + (reward - reward_paid)
    if shortfall > 0:
        self._cover(reward - reward_paid, bad_debt)
    log PositionLiquidated(
        account=account,
        keeper=msg.sender,
        closed=closed,
        price=price,
        penalty=penalty_paid,
        reward=reward,
        shortfall=shortfall,
    )


@internal
def _realize_against_pool(
    pos: perp_packing.Position, price: int256, index: int256
) -> (perp_packing.Position, int256):
    """
    @dev Realizes `pos` at `price` and moves the money: a gain from the pool, a loss to it
         out of the margin; returns the position and the loss the margin could not pay.
    """
    margin_before: int256 = pos.margin
    delta: int256 = 0
    out: perp_packing.Position = empty(perp_packing.Position)
    out, delta = self._realize(pos, price, index)
    if delta > 0:
        units: int256 = 0
        dust: int256 = 0
        units, dust = self._units_and_dust(delta)
        out.margin -= dust
        self._move_with_pool(units)
    elif delta < 0:
        to_pool: int256 = min(-delta, margin_before)
        self._push_wad(POOL.address, to_pool)
        return out, -delta - to_pool
    return out, 0


@internal
def _delist():
    """
    @dev Freezes the market at the oracle's last price per base share (whatever the status: a
         delisted stock's last print): funding accrues to now and stops, nothing opens, fills
         or is liquidated after it, and every position closes at that price. The caller
         checks the role.
    """
    self._require_listed()
    price: uint256 = self._latest().wad
    index: int256 = self._accrue(convert(price, int256), self._math())
    self._put_funding(0, index, block.timestamp)
    self._fund |= perp_packing.MARKET_DELISTED
    self.settlement_price_wad = price
    log Settled(by=msg.sender, price_wad=price)


@internal
def _close_delisted(account: address):
    """
    @dev Anyone, for any account: closes the whole position at the frozen price without a
         penalty or a reward (nobody gains from the freeze). A loss beyond the margin is
         covered by the insurance fund, then the pool (as in a liquidation).
    """
    assert self._delisted(), "perp: not settled"
    pos: perp_packing.Position = self._get_pos(account)
    assert pos.size != 0, "perp: no position"
    size: int256 = pos.size
    bad_debt: int256 = 0
    pos, bad_debt = self._realize_against_pool(
        pos, convert(self.settlement_price_wad, int256), perp_packing._i128(self._fund >> 64)
    )
    pos.margin = max(pos.margin, 0)
    pos.size = 0
    self._set_position(account, pos)
    if bad_debt > 0:
        self._cover(0, bad_debt)
    log PositionSettled(
        account=account, by=msg.sender, size=size, margin=pos.margin, shortfall=bad_debt
    )


@internal
def _cover(reward_gap: int256, bad_debt: int256):
    """
    @dev The insurance fund pays first: the keeper's unpaid reward, then the pool's loss the
         margin could not pay; the pool absorbs what the fund cannot (recorded).
    """
    self._sweep_insurance()  # the penalties it is owed first
    need: int256 = reward_gap + bad_debt
    units: uint256 = convert((need + _USD_PER_UNIT - 1) // _USD_PER_UNIT, uint256)
    got: int256 = convert(extcall INSURANCE.cover(units), int256) * _USD_PER_UNIT
    to_keeper: int256 = min(got, reward_gap)
    self._push_wad(msg.sender, to_keeper)
    self._push_wad(POOL.address, got - to_keeper)
    if got < need:
        self.pool_shortfall += need - got
        if to_keeper < reward_gap:  # the keeper is paid whatever happens
            extcall POOL.pay(
                msg.sender, convert((reward_gap - to_keeper) // _USD_PER_UNIT, uint256)
            )


@internal
def _sweep_insurance():
    """
    @dev Anyone: sends the penalties held for the insurance fund to it.
    """
    due: uint256 = self._insurance_due - DUE_WARM
    if due > 0:
        self._insurance_due = DUE_WARM
        self._send_units(INSURANCE.address, due)
        log InsuranceSwept(by=msg.sender, units=due)


@internal
def _send_units(to: address, units: uint256):
    """
    @dev Every collateral payment out of the market goes through here.
    """
    assert extcall COLLATERAL.transfer(to, units, default_return_value=True), "perp: transfer"


@internal
def _push_wad(to: address, amount_wad: int256):
    units: int256 = amount_wad // _USD_PER_UNIT
    if units > 0:
        self._send_units(to, convert(units, uint256))


@internal
def _set_params(params: perp_params.MarketParams):
    words: uint256[4] = staticcall PARAMS_CODEC.pack(params)
    self._par_a = words[0]
    self._par_b = words[1]
    self._par_c = words[2]
    self._par_d = words[3]
    log MarketParamsSet(by=msg.sender)
