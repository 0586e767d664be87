# pragma version 0.4.3
"""
@title perp_market
@custom:contract-name perp_market
@notice A perpetual futures market on one equity (SPEC.md §4, §5): isolated margin in the
        collateral token, two-step orders filled at the first price published after the
        commit, fill price from skew, maker/taker fees, funding velocity, liquidation back to
        the initial margin, and an LP pool as the counterparty of the skew.

        Settlement: every fill or liquidation realizes the position's PnL and funding into its
        margin at once and re-bases it at the fill price; what the trader gains the pool pays
        (`pool.pay`), what the trader loses (and every fee) goes to the pool. The pool's NAV
        then only needs the *unrealized* part, which `pool_pnl()` computes in O(1) from three
        aggregates that one internal function, `_set_position`, keeps (GMX v1 lesson).

        Units: sizes signed shares (1e18), prices and USD amounts 1e18 (`int256` for signed
        math), margins in USD wad; token transfers in collateral units (paid out rounds down).
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from interfaces import IEquityOracle
from interfaces import IInsuranceFund
from interfaces import ILiquidityPool
from snekmate.utils import pausable
from contracts.oracle import oracle_guard
from contracts.perp import perp_math

uses: pausable
initializes: oracle_guard

WAD: constant(int256) = 10**18
BPS: constant(int256) = 10_000


struct Position:
    size: int256
    entry_price: int256
    margin: int256
    funding_entry: int256


struct Order:
    size_delta: int256
    acceptable_price: uint256
    committed_at: uint256
    keeper_fee: int256


struct MarketParams:
    math: perp_math.MathParams
    order_max_age: uint256
    order_keeper_fee: int256
    max_oi_long_usd: int256
    max_oi_short_usd: int256
    max_skew_to_pool_bps: int256


# @dev The collateral token.
COLLATERAL: public(immutable(IERC20))
# @dev The counterparty pool.
POOL: public(immutable(ILiquidityPool))
# @dev Receives liquidation penalties; covers shortfalls first.
INSURANCE: public(immutable(IInsuranceFund))
# @dev 10 ** (18 - collateral decimals).
_USD_PER_UNIT: immutable(int256)

# @dev Each trader's position.
_positions: HashMap[address, Position]
# @dev Each trader's pending order (one at a time).
_orders: HashMap[address, Order]
# @dev Σ size (the skew), Σ |long|, Σ |short|, Σ size x entry, Σ size x funding entry.
skew: public(int256)
oi_long: public(int256)
oi_short: public(int256)
_sum_size_entry: int256
_sum_size_funding: int256
# @dev Funding: rate per day, cumulative index per share, last update.
funding_rate: public(int256)
funding_index: public(int256)
funding_updated_at: public(uint256)
# @dev Shortfalls the insurance fund could not cover, paid by the pool (USD wad).
pool_shortfall: public(int256)
# @dev Parameters.
_params: MarketParams


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


@deploy
def __init__(
    collateral: IERC20,
    pool: ILiquidityPool,
    insurance: IInsuranceFund,
    oracle: IEquityOracle,
    max_age_open: uint256,
    params: MarketParams,
):
    decimals_: uint8 = staticcall IERC20Detailed(collateral.address).decimals()
    assert decimals_ <= 18, "perp: decimals > 18"
    COLLATERAL = collateral
    POOL = pool
    INSURANCE = insurance
    _USD_PER_UNIT = convert(10**convert(18 - decimals_, uint256), int256)
    oracle_guard.__init__(oracle, max_age_open)
    self._set_params(params)
    self.funding_updated_at = block.timestamp


# ---- views ------------------------------------------------------------------------------


@internal
@view
def _price() -> int256:
    return convert(oracle_guard._mark_wad(), int256)


@internal
@view
def _index_at(price: int256) -> int256:
    """
    @dev The funding index accrued to now (without writing).
    """
    rate: int256 = 0
    index: int256 = 0
    rate, index = perp_math._accrue_funding(
        self.funding_rate,
        self.funding_index,
        convert(block.timestamp - self.funding_updated_at, int256),
        self.skew,
        price,
        self._params.math,
    )
    return index


@internal
@view
def _equity(pos: Position, price: int256, index: int256) -> int256:
    return (
        pos.margin
        + perp_math._pnl(pos.size, pos.entry_price, price)
        - perp_math._funding_owed(pos.size, index, pos.funding_entry)
    )


@internal
@view
def _liquidatable(pos: Position, price: int256, index: int256) -> bool:
    if pos.size == 0:
        return False
    p: perp_math.MathParams = self._params.math
    return self._equity(pos, price, index) < perp_math._requirement(
        pos.size, price, p.maintenance_margin_bps
    ) + perp_math._keeper_reward(pos.size, price, p)


@internal
@view
def _pool_pnl(price: int256, index: int256) -> int256:
    """
    @dev What the pool is up on open positions, in collateral units: −(traders' PnL) +
         funding the traders owe, from the aggregates; minus shortfalls it absorbed.
    """
    trader_pnl: int256 = self.skew * price // WAD - self._sum_size_entry
    funding_owed: int256 = self.skew * index // WAD - self._sum_size_funding
    return (funding_owed - trader_pnl) // _USD_PER_UNIT


@internal
@view
def _required_nav(price: int256) -> uint256:
    """
    @dev The NAV the larger side of open interest needs under `max_skew_to_pool_bps`.
    """
    oi: int256 = max(self.oi_long, self.oi_short) * price // WAD
    need: int256 = oi * BPS // self._params.max_skew_to_pool_bps
    return convert(need // _USD_PER_UNIT, uint256)


# ---- state changes ------------------------------------------------------------------------


@internal
def _accrue(price: int256) -> int256:
    """
    @dev Brings the funding rate and index to now (before any change to the skew).
    """
    rate: int256 = 0
    index: int256 = 0
    rate, index = perp_math._accrue_funding(
        self.funding_rate,
        self.funding_index,
        convert(block.timestamp - self.funding_updated_at, int256),
        self.skew,
        price,
        self._params.math,
    )
    self.funding_rate = rate
    self.funding_index = index
    self.funding_updated_at = block.timestamp
    return index


@internal
def _set_position(account: address, new: Position):
    """
    @dev The only writer of positions: every aggregate the pool's NAV depends on changes here.
    """
    old: Position = self._positions[account]
    self.skew += new.size - old.size
    if old.size > 0:
        self.oi_long -= old.size
    elif old.size < 0:
        self.oi_short += old.size
    if new.size > 0:
        self.oi_long += new.size
    elif new.size < 0:
        self.oi_short -= new.size
    self._sum_size_entry += new.size * new.entry_price // WAD - old.size * old.entry_price // WAD
    self._sum_size_funding += (
        new.size * new.funding_entry // WAD - old.size * old.funding_entry // WAD
    )
    self._positions[account] = new


@internal
def _settle_with_pool(trader_delta_wad: int256):
    """
    @dev Moves a realized trader gain out of the pool (rounded down) or a loss into it
         (rounded up).
    """
    if trader_delta_wad > 0:
        extcall POOL.pay(self, convert(trader_delta_wad // _USD_PER_UNIT, uint256))
    elif trader_delta_wad < 0:
        units: int256 = (-trader_delta_wad + _USD_PER_UNIT - 1) // _USD_PER_UNIT
        assert extcall COLLATERAL.transfer(
            POOL.address, convert(units, uint256), default_return_value=True
        ), "perp: transfer"


@internal
def _realize(pos: Position, price: int256, index: int256) -> (Position, int256):
    """
    @dev Realizes PnL (at `price`) and funding into the margin and re-bases the position at
         `price`; returns it and the margin change (what the pool pays, or receives if < 0).
    """
    delta: int256 = perp_math._pnl(pos.size, pos.entry_price, price) - perp_math._funding_owed(
        pos.size, index, pos.funding_entry
    )
    return Position(
        size=pos.size, entry_price=price, margin=pos.margin + delta, funding_entry=index
    ), delta


@internal
def _deposit_margin(amount: uint256):
    assert amount != 0, "perp: zero amount"
    assert extcall COLLATERAL.transferFrom(
        msg.sender, self, amount, default_return_value=True
    ), "perp: transfer in"
    pos: Position = self._positions[msg.sender]
    pos.margin += convert(amount, int256) * _USD_PER_UNIT
    self._positions[msg.sender] = pos  # margin only: no aggregate changes
    log MarginDeposited(account=msg.sender, amount=amount)


@internal
def _withdraw_margin(amount: uint256):
    """
    @dev Never pays out unrealized profit: withdrawable = margin + min(0, PnL - funding)
         - IMR x notional. Needs a usable price.
    """
    assert amount != 0, "perp: zero amount"
    price: int256 = convert(oracle_guard._price_for_risk(), int256)
    pos: Position = self._positions[msg.sender]
    index: int256 = self._index_at(price)
    upnl: int256 = perp_math._pnl(pos.size, pos.entry_price, price) - perp_math._funding_owed(
        pos.size, index, pos.funding_entry
    )
    free: int256 = (
        pos.margin
        + min(0, upnl)
        - perp_math._requirement(pos.size, price, self._params.math.initial_margin_bps)
    )
    assert convert(amount, int256) * _USD_PER_UNIT <= free, "perp: exceeds withdrawable"
    pos.margin -= convert(amount, int256) * _USD_PER_UNIT
    self._positions[msg.sender] = pos
    assert extcall COLLATERAL.transfer(
        msg.sender, amount, default_return_value=True
    ), "perp: transfer out"
    log MarginWithdrawn(account=msg.sender, amount=amount)


@internal
def _commit(size_delta: int256, acceptable_price: uint256):
    pausable._require_not_paused()
    assert size_delta != 0, "perp: zero size"
    oracle_guard._price_for_risk()  # orders only while the market trades
    assert self._orders[msg.sender].committed_at == 0, "perp: order pending"
    fee: int256 = self._params.order_keeper_fee
    pos: Position = self._positions[msg.sender]
    assert pos.margin >= fee, "perp: margin below keeper fee"
    pos.margin -= fee
    self._positions[msg.sender] = pos
    self._orders[msg.sender] = Order(
        size_delta=size_delta,
        acceptable_price=acceptable_price,
        committed_at=block.timestamp,
        keeper_fee=fee,
    )
    log OrderCommitted(
        account=msg.sender,
        size_delta=size_delta,
        acceptable_price=acceptable_price,
        committed_at=block.timestamp,
    )


@internal
def _pay_keeper(order: Order):
    units: int256 = order.keeper_fee // _USD_PER_UNIT
    if units > 0:
        assert extcall COLLATERAL.transfer(
            msg.sender, convert(units, uint256), default_return_value=True
        ), "perp: transfer out"


@internal
def _cancel(account: address, order: Order, reason: String[16]):
    self._orders[account] = empty(Order)
    self._pay_keeper(order)
    log OrderCancelled(account=account, by=msg.sender, reason=reason)


@internal
def _execute(account: address):
    """
    @dev Fills the pending order at the latest price if it was observed after the commit and
         within `order_max_age`; a fill the trader would not accept, a cap or the margin
         cancels instead (the keeper is paid either way).
    """
    order: Order = self._orders[account]
    assert order.committed_at != 0, "perp: no order"
    latest: oracle_guard.Price = oracle_guard._latest()
    oracle_guard._check_usable(latest)
    assert latest.updated_at > order.committed_at, "perp: no newer price"
    if latest.updated_at > order.committed_at + self._params.order_max_age:
        self._cancel(account, order, "expired")
        return
    price: int256 = convert(latest.wad, int256)
    p: perp_math.MathParams = self._params.math
    fill: int256 = perp_math._fill_price(price, self.skew, order.size_delta, p)
    fill_u: uint256 = convert(max(fill, 0), uint256)  # any uint256 bound is a valid input
    if (order.size_delta > 0 and fill_u > order.acceptable_price) or (
        order.size_delta < 0 and fill_u < order.acceptable_price
    ):
        self._cancel(account, order, "price")
        return

    index: int256 = self._accrue(price)
    pos: Position = self._positions[account]
    settled: int256 = 0
    pos, settled = self._realize(pos, fill, index)
    fee: int256 = perp_math._order_fee(self.skew, order.size_delta, fill, p)
    pos.margin -= fee
    new_size: int256 = pos.size + order.size_delta
    grows: bool = abs(new_size) > abs(pos.size) or (new_size > 0) != (pos.size > 0)
    if grows and new_size != 0:
        if self._equity(
            Position(size=new_size, entry_price=fill, margin=pos.margin, funding_entry=index),
            price,
            index,
        ) < perp_math._requirement(new_size, price, p.initial_margin_bps):
            self._cancel(account, order, "margin")
            return
        if not self._within_caps(new_size - pos.size + self.skew, pos.size, new_size, price):
            self._cancel(account, order, "open interest")
            return
    if pos.margin < 0:
        self._cancel(account, order, "liquidatable")
        return
    pos.size = new_size
    self._orders[account] = empty(Order)
    self._set_position(account, pos)
    self._settle_with_pool(settled - fee)
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
def _within_caps(new_skew: int256, old_size: int256, new_size: int256, price: int256) -> bool:
    long_oi: int256 = self.oi_long - max(old_size, 0) + max(new_size, 0)
    short_oi: int256 = self.oi_short + min(old_size, 0) - min(new_size, 0)
    params: MarketParams = self._params
    # the pool's NAV computed here: asking the pool would call back into this market
    nav: int256 = (
        convert(staticcall COLLATERAL.balanceOf(POOL.address), int256)
        + self._pool_pnl(price, self._index_at(price))
    ) * _USD_PER_UNIT
    pool_cap: int256 = nav * params.max_skew_to_pool_bps // BPS
    long_usd: int256 = long_oi * price // WAD
    short_usd: int256 = short_oi * price // WAD
    return (
        long_usd <= min(params.max_oi_long_usd, pool_cap)
        and short_usd <= min(params.max_oi_short_usd, pool_cap)
    )


@internal
def _cancel_order(account: address):
    order: Order = self._orders[account]
    assert order.committed_at != 0, "perp: no order"
    assert block.timestamp > order.committed_at + self._params.order_max_age, "perp: order live"
    self._cancel(account, order, "expired")


@internal
def _liquidate(account: address):
    """
    @dev Closes what `perp_math._liquidation_size` says at the oracle price. The margin pays,
         in order: the trader's loss to the pool, the keeper's reward, the penalty. A keeper
         reward the margin cannot pay, and a loss beyond the margin (bad debt), are covered by
         the insurance fund first and the pool after (recorded in `pool_shortfall`).
    """
    price: int256 = convert(oracle_guard._price_for_risk(), int256)
    index: int256 = self._accrue(price)
    pos: Position = self._positions[account]
    assert self._liquidatable(pos, price, index), "perp: not liquidatable"
    p: perp_math.MathParams = self._params.math
    closed: int256 = perp_math._liquidation_size(
        pos.size, self._equity(pos, price, index), price, p
    )
    reward: int256 = perp_math._keeper_reward(pos.size, price, p)
    penalty: int256 = perp_math._notional(closed, price) * p.liquidation_penalty_bps // BPS
    margin_before: int256 = pos.margin
    delta: int256 = 0
    pos, delta = self._realize(pos, price, index)

    bad_debt: int256 = 0
    if delta > 0:
        extcall POOL.pay(self, convert(delta // _USD_PER_UNIT, uint256))
    elif delta < 0:
        to_pool: int256 = min(-delta, margin_before)
        bad_debt = -delta - to_pool
        self._push_wad(POOL.address, to_pool)
    available: int256 = max(pos.margin, 0)
    reward_paid: int256 = min(reward, available)
    penalty_paid: int256 = min(penalty, available - reward_paid)
    pos.margin = available - reward_paid - penalty_paid
    pos.size -= closed
    if pos.size == 0:
        pos.entry_price = 0
        pos.funding_entry = 0
    self._set_position(account, pos)

    self._push_wad(msg.sender, reward_paid)
    self._push_wad(INSURANCE.address, penalty_paid)
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
def _cover(reward_gap: int256, bad_debt: int256):
    """
    @dev The insurance fund pays first: the keeper's unpaid reward, then the pool's loss the
         margin could not pay; the pool absorbs what the fund cannot (recorded).
    """
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
def _push_wad(to: address, amount_wad: int256):
    units: int256 = amount_wad // _USD_PER_UNIT
    if units > 0:
        assert extcall COLLATERAL.transfer(
            to, convert(units, uint256), default_return_value=True
        ), "perp: transfer out"


@internal
def _set_params(params: MarketParams):
    m: perp_math.MathParams = params.math
    assert m.skew_scale > 0, "perp: skew scale"
    assert (
        m.maintenance_margin_bps > 0 and m.maintenance_margin_bps < m.initial_margin_bps
    ), "perp: margin bounds"
    assert m.initial_margin_bps <= BPS, "perp: margin bounds"
    assert m.liquidation_penalty_bps < m.maintenance_margin_bps, "perp: penalty bounds"
    assert m.taker_fee_bps < 1_000 and m.maker_fee_bps <= m.taker_fee_bps, "perp: fee bounds"
    assert m.max_funding_rate > 0 and m.max_funding_velocity > 0, "perp: funding bounds"
    assert m.min_keeper_fee <= m.max_keeper_fee, "perp: keeper bounds"
    assert params.order_max_age >= 10 and params.order_max_age <= 3_600, "perp: order age"
    assert params.max_skew_to_pool_bps > 0 and params.max_skew_to_pool_bps <= BPS, "perp: pool cap"
    assert params.order_keeper_fee >= 0 and params.order_keeper_fee <= 10 * WAD, "perp: keeper fee"
    self._params = params
    log MarketParamsSet(by=msg.sender)
