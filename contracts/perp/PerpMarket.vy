# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title PerpMarket
@custom:contract-name PerpMarket
@notice A perpetual futures market on one equity (docs/spec.md §4): isolated margin, two-step
        orders (commit, then a keeper executes at the first price published after the
        commit, within the order's window), skew-priced fills, funding velocity, liquidation
        back to the initial margin, and a `LiquidityPool` as counterparty. Logic in
        `perp_market`.
@dev The hot paths (deposit, commit, execute, liquidate) and the keepers' batch view run
     here. Every other function of the market's interface
     (`docs/abi/PerpMarket.json`: withdraw, cancel, delisting, parameters, pause, roles
     and the other views) runs in this market's storage from its `PerpMarketExt`, reached
     through `__default__` by delegatecall, so that every function stays callable at this
     address and the market fits the 80% line of EIP-170 on Vyper's default code generator
     (docs/architecture.md). Both initialize the same modules in the same order: one
     storage layout (checked by `make lint`).
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

# @dev Words of return data `__default__` hands back (the largest answer of the extension,
#      `params()`, is 17 words; ABI decoders read the words they expect).
EXT_RETURN_WORDS: constant(uint256) = 17

# @dev The `PerpMarketExt` this market delegates to (same immutables, created by the
#      factory for this market).
EXTENSION: public(immutable(address))


@deploy
def __init__(
    collateral: IERC20,
    pool: ILiquidityPool,
    insurance: IInsuranceFund,
    codec: perp_market.ParamsCodec,
    oracle_cfg: uint256,
    extension: address,
):
    """
    @dev The deployer (the factory) holds DEFAULT_ADMIN until it calls `initialize` (in the
         extension) in the same transaction, which hands it to the market's admin.
    @param collateral The USD stablecoin.
    @param pool The LiquidityPool (attach this market to it with `set_market`).
    @param insurance The insurance fund (grant this market MARKET_ROLE).
    @param codec The `PerpParamsCodec` that checks and packs parameters.
    @param oracle_cfg The oracle guard's configuration (`oracle_guard._config` of the
           equity's oracle and freshness bound, fixed for the market's life).
    @param extension This market's `PerpMarketExt`, deployed with the same arguments.
    """
    access_control.__init__()
    pausable.__init__()
    perp_market.__init__(collateral, pool, insurance, codec, oracle_cfg)
    EXTENSION = extension


@external
@reentrant
def __default__() -> uint256[EXT_RETURN_WORDS]:
    """
    @notice Every function of the market's interface (docs/abi/PerpMarket.json) not defined here runs in `PerpMarketExt` by
            delegatecall; its revert reason comes back as it is.
    @dev Not `nonreentrant`: the extension's functions take the lock themselves.
    @return uint256[17] The extension's answer, padded with zero words.
    """
    data: Bytes[32 * EXT_RETURN_WORDS] = raw_call(
        EXTENSION, msg.data, max_outsize=32 * EXT_RETURN_WORDS, is_delegate_call=True
    )
    out: uint256[EXT_RETURN_WORDS] = empty(uint256[EXT_RETURN_WORDS])
    for i: uint256 in range(EXT_RETURN_WORDS):
        if 32 * i >= len(data):
            break
        out[i] = convert(extract32(data, 32 * i), uint256)
    return out


# ---- hot paths -----------------------------------------------------------------------------


@external
def deposit_margin(amount: uint256):
    """
    @notice Adds margin. Always allowed.
    @param amount Collateral units.
    """
    perp_market._deposit_margin(amount)


@external
def commit_order(size_delta: int256, acceptable_price: uint256):
    """
    @notice Commits an order (one at a time), escrowing the keeper fee. Market must trade;
            while paused, only an order that reduces or closes the position.
    @param size_delta Signed shares (+ buy, - sell).
    @param acceptable_price Worst fill price accepted (1e18 USD).
    """
    perp_market._commit(size_delta, acceptable_price)


@external
def execute_order(account: address):
    """
    @notice Fills `account`'s order at the first usable price observed after its commit
            (the same price whoever executes whenever), or cancels it (slippage, margin,
            caps; "paused" for a growing order while paused; the caller gets the keeper
            fee). Refused before such a price ("perp: no newer price") and after
            `order_max_age` ("perp: order expired": then only `cancel_order` removes it).
    @param account The trader.
    """
    perp_market._execute(account)


@external
def liquidate(account: address):
    """
    @notice Liquidates `account` below maintenance margin (partially where possible).
    @param account The trader.
    """
    perp_market._liquidate(account)


# ---- the keepers' batch view (a dynamic answer: not through `__default__`) --------------


@external
@view
def liquidatable(accounts: DynArray[address, 500]) -> DynArray[bool, 500]:
    """
    @notice `is_liquidatable` for up to 500 accounts.
    @param accounts Traders.
    @return DynArray[bool, 500] Flags.
    """
    out: DynArray[bool, 500] = []
    p: perp_market.oracle_guard.Price = perp_market._latest()
    usable: bool = perp_market.oracle_guard._is_usable(p) and not perp_market._delisted()
    price: int256 = convert(p.wad, int256)
    index: int256 = perp_market._index_at(price)
    for a: address in accounts:
        out.append(usable and perp_market._liquidatable(perp_market._get_pos(a), price, index))
    return out
