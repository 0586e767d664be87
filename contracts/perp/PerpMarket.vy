# pragma version 0.4.3
# pragma nonreentrancy on
# pragma experimental-codegen
"""
@title PerpMarket
@custom:contract-name PerpMarket
@notice A perpetual futures market on one equity (SPEC.md §4): isolated margin, two-step
        orders (commit, then a keeper executes at the first price published after the commit),
        skew-priced fills, funding velocity, liquidation back to the initial margin, and a
        `LiquidityPool` as counterparty. Logic in `perp_market`; this contract wires roles.
@dev Deployed from a blueprint by `SynthFactory.deploy_perp`: the parameter checks live in
     `PerpParamsCodec` and the contract is built with Venom (`experimental-codegen`) so that
     the initcode (~22.8k bytes) fits EIP-170 as a blueprint (docs/design/perp.md).
"""

from ethereum.ercs import IERC20
from interfaces import IEquityOracle
from interfaces import IInsuranceFund
from interfaces import ILiquidityPool
from snekmate.auth import access_control
from snekmate.utils import pausable
from contracts.auth import roles
from contracts.perp import perp_market
from contracts.perp import perp_math
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
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.set_role_admin,
    roles.grantRole,
    roles.transfer_admin,
    roles.accept_admin,
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


@deploy
def __init__(
    admin: address,
    collateral: IERC20,
    pool: ILiquidityPool,
    insurance: IInsuranceFund,
    oracle: IEquityOracle,
    max_age_open: uint256,
    codec: perp_market.ParamsCodec,
    params: perp_params.MarketParams,
):
    """
    @param admin DEFAULT_ADMIN.
    @param collateral The USD stablecoin.
    @param pool The LiquidityPool (attach this market to it with `set_market`).
    @param insurance The insurance fund (grant this market MARKET_ROLE).
    @param oracle The equity's oracle.
    @param max_age_open Freshness bound, seconds.
    @param codec The `PerpParamsCodec` that checks and packs parameters.
    @param params Market parameters, within hard bounds.
    """
    access_control.__init__()
    roles._hand_admin_to(admin)
    pausable.__init__()
    perp_market.__init__(collateral, pool, insurance, oracle, max_age_open, codec, params)


@external
def deposit_margin(amount: uint256):
    """
    @notice Adds margin. Always allowed.
    @param amount Collateral units.
    """
    perp_market._deposit_margin(amount)


@external
def withdraw_margin(amount: uint256):
    """
    @notice Takes margin out, never unrealized profit, keeping the initial margin.
    @param amount Collateral units.
    """
    perp_market._withdraw_margin(amount)


@external
def commit_order(size_delta: int256, acceptable_price: uint256):
    """
    @notice Commits an order (one at a time), escrowing the keeper fee. Market must trade.
    @param size_delta Signed shares (+ buy, - sell).
    @param acceptable_price Worst fill price accepted (1e18 USD).
    """
    perp_market._commit(size_delta, acceptable_price)


@external
def execute_order(account: address):
    """
    @notice Fills `account`'s order at the latest price if it is newer than the commit.
    @param account The trader.
    """
    perp_market._execute(account)


@external
def cancel_order(account: address):
    """
    @notice Removes an expired order; the caller gets the keeper fee.
    @param account The trader.
    """
    perp_market._cancel_order(account)


@external
def liquidate(account: address):
    """
    @notice Liquidates `account` below maintenance margin (partially where possible).
    @param account The trader.
    """
    perp_market._liquidate(account)


@external
@view
def position(account: address) -> perp_market.Position:
    """
    @notice (size, entry price, margin, funding entry) — margin in USD wad.
    @param account The trader.
    @return Position The position.
    """
    return perp_market._get_pos(account)


@external
@view
def pending_order(account: address) -> perp_market.Order:
    """
    @notice The pending order (committed_at 0 when none).
    @param account The trader.
    @return Order The order.
    """
    return perp_market._get_order(account)


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
def is_liquidatable(account: address) -> bool:
    """
    @notice True when `liquidate(account)` would succeed now.
    @param account The trader.
    @return bool Liquidatable.
    """
    p: perp_market.oracle_guard.Price = perp_market.oracle_guard._latest()
    if perp_market._settled() or not perp_market.oracle_guard._is_usable(p):
        return False
    price: int256 = convert(p.wad, int256)
    return perp_market._liquidatable(
        perp_market._get_pos(account), price, perp_market._index_at(price)
    )


@external
@view
def liquidatable(accounts: DynArray[address, 500]) -> DynArray[bool, 500]:
    """
    @notice `is_liquidatable` for up to 500 accounts.
    @param accounts Traders.
    @return DynArray[bool, 500] Flags.
    """
    out: DynArray[bool, 500] = []
    p: perp_market.oracle_guard.Price = perp_market.oracle_guard._latest()
    usable: bool = perp_market.oracle_guard._is_usable(p) and not perp_market._settled()
    price: int256 = convert(p.wad, int256)
    index: int256 = perp_market._index_at(price)
    for a: address in accounts:
        out.append(usable and perp_market._liquidatable(perp_market._get_pos(a), price, index))
    return out


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
def pool_pnl() -> int256:
    """
    @notice What the pool is up on open positions (collateral units), from the aggregates.
    @return int256 Signed collateral units.
    """
    price: int256 = perp_market._price()
    return perp_market._pool_pnl(price, perp_market._index_at(price))


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
    if perp_market._settled():
        long_oi: int256 = 0
        short_oi: int256 = 0
        long_oi, short_oi = perp_market._oi()
        return long_oi == 0 and short_oi == 0
    return perp_market.oracle_guard._is_usable(perp_market.oracle_guard._latest())


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
def settle():
    """
    @notice Puts the market into settlement (delisting) at the oracle's last price, frozen:
            funding stops, no deposits, orders, fills or liquidations; every position closes
            at that price with `settle_position`; LPs leave last. DEFAULT_ADMIN only.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    perp_market._settle()


@external
def settle_position(account: address):
    """
    @notice Closes `account`'s position at the frozen price (no penalty, no reward); the
            trader then withdraws its margin. Anyone may call, once settled.
    @param account The trader.
    """
    perp_market._settle_position(account)


@external
def set_params(params: perp_params.MarketParams):
    """
    @notice Sets every parameter within hard bounds (MMR < IMR, penalty < MMR, fees < 10%,
            skew scale > 0, order age in [10, 3,600] s). RISK_ADMIN only.
    @param params The new parameters.
    """
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    perp_market._set_params(params)


@external
def pause():
    """
    @notice Stops new orders. Margin deposits, executions of reducing orders, liquidations
            keep working. GUARDIAN only.
    """
    access_control._check_role(roles.GUARDIAN_ROLE, msg.sender)
    pausable._pause()


@external
def unpause():
    """
    @notice Lifts the pause. RISK_ADMIN only.
    """
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    pausable._unpause()
