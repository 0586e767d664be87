# pragma version 0.4.3
# pragma nonreentrancy on
# pragma optimize codesize
"""
@title PerpMarketExt
@custom:contract-name PerpMarketExt
@notice The cold paths of one `PerpMarket`: margin withdrawal, cancelling an expired order,
        delisting, parameters, the pause and role changes. They run only by delegatecall
        from the market that created this contract, in the market's storage; a direct call
        refuses ("perp: delegate only").
@dev Initializes the same modules in the same order as `PerpMarket` (one storage layout,
     checked by `make lint`) and has the same immutables (the market passes its own to the
     constructor). Holds no tokens and no state of its own (docs/architecture.md).
"""

from ethereum.ercs import IERC20
from interfaces import IEquityOracle
from interfaces import IInsuranceFund
from interfaces import ILiquidityPool
from snekmate.auth import access_control
from snekmate.utils import pausable
from contracts.auth import roles
from contracts.perp import perp_market
from contracts.perp import perp_packing
from contracts.perp import perp_params

initializes: access_control
initializes: roles[access_control := access_control]
initializes: pausable
initializes: perp_market[pausable := pausable]

exports: (
    access_control.supportsInterface,
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.hasRole,
    access_control.getRoleAdmin,
    roles.pending_admin,
    roles.admin_proposer,
    roles.RISK_ADMIN_ROLE,
    roles.GUARDIAN_ROLE,
    pausable.paused,
    perp_market.COLLATERAL,
    perp_market.POOL,
    perp_market.INSURANCE,
    perp_market.PARAMS_CODEC,
    perp_market.pool_shortfall,
    perp_market.settlement_price_wad,
    perp_market.oracle_guard.oracle,
    perp_market.oracle_guard.max_age_open,
)

# @dev This contract's own address: a call whose `self` is this address is not delegated.
_SELF: immutable(address)


@deploy
def __init__(
    collateral: IERC20,
    pool: ILiquidityPool,
    insurance: IInsuranceFund,
    codec: perp_market.ParamsCodec,
    oracle_cfg: uint256,
):
    """
    @param collateral The market's collateral.
    @param pool The market's pool.
    @param insurance The market's insurance fund.
    @param codec The market's `PerpParamsCodec`.
    @param oracle_cfg The market's oracle configuration word.
    """
    access_control.__init__()
    pausable.__init__()
    perp_market.__init__(collateral, pool, insurance, codec, oracle_cfg)
    _SELF = self


@internal
@view
def _only_delegated():
    assert self != _SELF, "perp: delegate only"


@external
def initialize(admin: address, params: perp_params.MarketParams):
    """
    @notice The market's first storage, written once by its deployer (the factory, which
            holds DEFAULT_ADMIN from the market's constructor) in the transaction that
            deploys it; DEFAULT_ADMIN then moves to `admin`. (The oracle and its freshness
            bound are the constructor's.)
    @param admin DEFAULT_ADMIN, in place of the deployer.
    @param params Market parameters, within hard bounds.
    """
    self._only_delegated()
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    perp_market._initialize(params)
    roles._hand_admin_to(admin)


@external
def withdraw_margin(amount: uint256):
    """
    @notice Takes margin out, never unrealized profit, keeping the initial margin (and the
            minimum: outside the liquidation threshold, at least `min_margin_usd`).
    @param amount Collateral units.
    """
    self._only_delegated()
    perp_market._withdraw_margin(amount)


@external
def cancel_order(account: address):
    """
    @notice Removes an expired order; the caller gets the keeper fee.
    @param account The trader.
    """
    self._only_delegated()
    perp_market._cancel_order(account)


@external
def hold_order(account: address, fee_wad: int256, to: address, order_a: uint256, order_b: uint256):
    """
    @notice The conditional-order book's hook (ORDERS only; docs/design/conditional-orders.md).
            A non-zero `fee_wad` leaves `account`'s margin (positive: escrowed at placement;
            the book checks the margin first) or returns to it (negative: a cancel), or, with
            `to` set, the escrowed fee is paid to `to` (an executor). A non-zero `order_a`
            makes a triggered order `account`'s pending order (refused while a market order
            is pending: "perp: order pending"), so that `execute_order` fills it at the
            round after its `round_id`, or cancels it.
    @param account The trader.
    @param fee_wad Signed fee moved out of margin (1e18 USD).
    @param to The executor paid a negative `fee_wad`, or empty.
    @param order_a The order's first word (`perp_packing._order_word`), or 0.
    @param order_b Its second word (`perp_packing._order_b_word`).
    """
    self._only_delegated()
    access_control._check_role(roles.ORDERS_ROLE, msg.sender)
    if fee_wad != 0:
        perp_market._hold_order_fee(account, fee_wad, to)
    if order_a != 0:
        perp_market._arm(account, order_a, order_b)


@external
def settle():
    """
    @notice Delisting at the oracle's last price (see `PerpMarket.settle`). DEFAULT_ADMIN only.
    """
    self._only_delegated()
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    perp_market._delist()


@external
def settle_position(account: address):
    """
    @notice Closes `account`'s position at the frozen price. Anyone, once settled.
    @param account The trader.
    """
    self._only_delegated()
    perp_market._close_delisted(account)


@external
def sweep_insurance():
    """
    @notice Sends the liquidation penalties the market holds for the insurance fund to it.
            Anyone (a liquidation accrues them instead of transferring; a cover sweeps them
            first).
    """
    self._only_delegated()
    perp_market._sweep_insurance()


@external
def set_params(params: perp_params.MarketParams):
    """
    @notice Sets every parameter within hard bounds. RISK_ADMIN only.
    @param params The new parameters.
    """
    self._only_delegated()
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    perp_market._set_params(params)


@external
def pause():
    """
    @notice Stops orders that grow a position (reducing and closing go on). GUARDIAN only.
    """
    self._only_delegated()
    access_control._check_role(roles.GUARDIAN_ROLE, msg.sender)
    pausable._pause()


@external
def unpause():
    """
    @notice Lifts the pause. RISK_ADMIN only.
    """
    self._only_delegated()
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    pausable._unpause()


# ---- roles: the decisions of `roles` (and snekmate's), in the deployable's storage ---------


@external
def grantRole(role: bytes32, account: address):
    """
    @notice Grants `role` (never DEFAULT_ADMIN: `transfer_admin`); the caller holds its admin.
    @param role The role id.
    @param account The account.
    """
    self._only_delegated()
    roles._grant(role, account)


@external
def revokeRole(role: bytes32, account: address):
    """
    @notice Revokes `role` from `account`; the caller holds `role`'s admin role.
    @param role The role id.
    @param account The account.
    """
    self._only_delegated()
    roles._revoke(role, account)


@external
def renounceRole(role: bytes32, account: address):
    """
    @notice The caller (`account`) gives up `role`.
    @param role The role id.
    @param account The caller.
    """
    self._only_delegated()
    roles._renounce(role, account)


@external
def set_role_admin(role: bytes32, admin_role: bytes32):
    """
    @notice Sets `role`'s admin role; the caller holds `role`'s current admin role.
    @param role The role id.
    @param admin_role The new admin role.
    """
    self._only_delegated()
    roles._set_admin_role(role, admin_role)


@external
def transfer_admin(new_admin: address):
    """
    @notice Proposes `new_admin` as DEFAULT_ADMIN in place of the caller (two steps).
            DEFAULT_ADMIN only; `empty(address)` withdraws a proposal.
    @param new_admin The proposed admin.
    """
    self._only_delegated()
    roles._transfer_admin(new_admin)


@external
def accept_admin():
    """
    @notice The proposed admin takes DEFAULT_ADMIN over from its proposer.
    """
    self._only_delegated()
    roles._accept_admin()


# ---- views ----------------------------------------------------------------------------


@external
@view
def position(account: address) -> perp_packing.Position:
    """
    @notice (size, entry price, margin, funding entry) — margin in USD wad.
    @param account The trader.
    @return Position The position.
    """
    return perp_market._get_pos(account)


@external
@view
def insurance_due() -> uint256:
    """
    @notice The liquidation penalties held for the insurance fund (collateral units), until
            `sweep_insurance`.
    @return uint256 Units.
    """
    return perp_market._insurance_due - perp_market.DUE_WARM


@external
@view
def pending_order(account: address) -> perp_packing.Order:
    """
    @notice The pending order (committed_at 0 when none).
    @param account The trader.
    @return Order The order.
    """
    return perp_market._get_order(account)


@external
@view
def is_liquidatable(account: address) -> bool:
    """
    @notice True when `liquidate(account)` would succeed now.
    @param account The trader.
    @return bool Liquidatable.
    """
    p: perp_market.oracle_guard.Price = perp_market._latest()
    if perp_market._delisted() or not perp_market.oracle_guard._is_usable(p):
        return False
    price: int256 = convert(p.wad, int256)
    return perp_market._liquidatable(
        perp_market._get_pos(account), price, perp_market._index_at(price)
    )


@external
@view
def equity(account: address) -> int256:
    """
    @notice Margin + PnL - funding at the last price (USD wad).
    @param account The trader.
    @return int256 Equity.
    """
    price: int256 = perp_market._price()
    return perp_market._equity(perp_market._get_pos(account), price, perp_market._index_at(price))


@external
@view
def skew() -> int256:
    """
    @notice Σ size: longs minus shorts (shares, 1e18).
    @return int256 Skew.
    """
    return perp_market._skew()


@external
@view
def open_interest() -> (int256, int256):
    """
    @notice Open interest of the longs and of the shorts (shares, 1e18).
    @return (int256, int256) Long OI, short OI.
    """
    return perp_market._oi()


@external
@view
def funding_rate() -> int256:
    """
    @notice Funding rate per day as of the last update (1e18 = 100%/day; + longs pay).
    @return int256 Rate.
    """
    rate: int256 = 0
    index: int256 = 0
    updated: uint256 = 0
    rate, index, updated = perp_market._funding()
    return rate


@external
@view
def funding_state() -> (int256, int256, uint256):
    """
    @notice (rate per day, cumulative funding per share in USD, last update) — stored values.
    @return (int256, int256, uint256) Rate, index, unix seconds.
    """
    return perp_market._funding()


@external
@view
def pool_nav() -> uint256:
    """
    @notice The pool's NAV (its `totalAssets()`).
    @return uint256 Collateral units.
    """
    return staticcall perp_market.POOL.totalAssets()


@external
@view
def params() -> perp_params.MarketParams:
    """
    @notice The market's parameters.
    @return MarketParams Math (skew scale, fees, margins, penalty, keeper reward, funding),
            order max age, order keeper fee, OI caps, max skew to pool.
    """
    return perp_market._market_params()


@external
@view
def pool_pnl() -> int256:
    """
    @notice What the pool is up on open positions (collateral units), from the aggregates.
    @return int256 Signed collateral units.
    """
    price: int256 = perp_market._price()
    return perp_market._pool_pnl(price, perp_market._index_at(price))


@external
@view
def required_nav() -> uint256:
    """
    @notice NAV the open interest needs under `max_skew_to_pool_bps` (collateral units).
    @return uint256 Collateral units.
    """
    return perp_market._required_nav(perp_market._price())


@external
@view
def lp_open() -> bool:
    """
    @notice LPs may enter and leave now: a fresh OPEN price; once settled, when every
            position is closed (LPs leave last).
    @return bool Open.
    """
    if perp_market._delisted():
        long_oi: int256 = 0
        short_oi: int256 = 0
        long_oi, short_oi = perp_market._oi()
        return long_oi == 0 and short_oi == 0
    return perp_market.oracle_guard._is_usable(perp_market._latest())
