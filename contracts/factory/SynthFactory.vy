# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title SynthFactory
@custom:contract-name SynthFactory
@notice Deploys, from blueprints, one `SynthVault` (which deploys its `SynthToken`) and one
        `PerpMarket` with its `LiquidityPool` per equity, so that sTSLA, sAAPL and sNVDA and
        their perps run the same audited code with their own oracle and parameters; keeps the
        registries (symbol -> vault, symbol -> perp market) that keepers and UIs read.
"""

from interfaces import IEquityOracle
from interfaces import IInsuranceFund
from snekmate.auth import access_control
from contracts.auth import roles
from contracts.oracle import oracle_guard
from contracts.perp import perp_params
from contracts.vault import synth_vault

initializes: access_control
initializes: roles[access_control := access_control]

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
)


interface PoolAdmin:
    def set_market(market_: address): nonpayable


interface VaultInit:
    def initialize(
        admin: address, oracle: IEquityOracle, max_age_open: uint256, params: synth_vault.RiskParams
    ): nonpayable


interface PerpInit:
    def initialize(admin: address, params: perp_params.MarketParams): nonpayable


MAX_MARKETS: constant(uint256) = 64

# @dev Blueprint (ERC-5202) of SynthVault.
vault_blueprint: public(immutable(address))
# @dev Blueprint (ERC-5202) of SynthToken.
synth_blueprint: public(immutable(address))
# @dev Blueprint (ERC-5202) of SynthVaultExt (each vault creates its own).
vault_ext_blueprint: public(immutable(address))

# @dev Blueprint (ERC-5202) of PerpMarket.
perp_blueprint: public(immutable(address))
# @dev Blueprint (ERC-5202) of LiquidityPool.
pool_blueprint: public(immutable(address))
# @dev Blueprint (ERC-5202) of PerpMarketExt (one per market, with the market's immutables).
perp_ext_blueprint: public(immutable(address))
# @dev The stateless `PerpParamsCodec` every perp market checks its parameters with.
params_codec: public(immutable(address))

# @dev Synth symbol (e.g. "sTSLA") -> its vault.
vaults: public(HashMap[String[5], address])
# @dev Every synth symbol, in deployment order.
symbols: public(DynArray[String[5], MAX_MARKETS])
# @dev Underlying symbol (e.g. "TSLA") -> its perp market.
perps: public(HashMap[String[5], address])
# @dev Perp market -> its liquidity pool.
pool_of: public(HashMap[address, address])
# @dev Every perp symbol, in deployment order.
perp_symbols: public(DynArray[String[5], MAX_MARKETS])
# @dev True for every vault and perp market this factory deployed.
is_market: public(HashMap[address, bool])


# @dev A vault (and its synth) was deployed.
event VaultDeployed:
    symbol: String[5]
    vault: indexed(address)
    oracle: indexed(address)
    admin: address


# @dev A perp market and its pool were deployed.
event PerpDeployed:
    symbol: String[5]
    market: indexed(address)
    pool: indexed(address)
    oracle: address
    admin: address


@deploy
def __init__(
    admin: address,
    vault_blueprint_: address,
    synth_blueprint_: address,
    perp_blueprint_: address,
    pool_blueprint_: address,
    params_codec_: address,
    vault_ext_blueprint_: address,
    perp_ext_blueprint_: address,
):
    """
    @param admin DEFAULT_ADMIN (the only account that deploys markets).
    @param vault_blueprint_ SynthVault blueprint.
    @param synth_blueprint_ SynthToken blueprint.
    @param perp_blueprint_ PerpMarket blueprint.
    @param pool_blueprint_ LiquidityPool blueprint.
    @param params_codec_ The deployed PerpParamsCodec.
    @param vault_ext_blueprint_ SynthVaultExt blueprint.
    @param perp_ext_blueprint_ PerpMarketExt blueprint.
    """
    access_control.__init__()
    roles._hand_admin_to(admin)
    vault_blueprint = vault_blueprint_
    synth_blueprint = synth_blueprint_
    perp_blueprint = perp_blueprint_
    pool_blueprint = pool_blueprint_
    params_codec = params_codec_
    vault_ext_blueprint = vault_ext_blueprint_
    perp_ext_blueprint = perp_ext_blueprint_


@external
def deploy_vault(
    name_: String[25],
    symbol_: String[5],
    collateral: address,
    insurance: IInsuranceFund,
    oracle: IEquityOracle,
    max_age_open: uint256,
    params: synth_vault.RiskParams,
    admin: address,
) -> address:
    """
    @notice Deploys the vault and synth of one equity. DEFAULT_ADMIN only.
    @dev Grant the vault MARKET_ROLE on `insurance` afterwards.
    @param name_ Synth name, e.g. "Synthetic Tesla".
    @param symbol_ Synth symbol, e.g. "sTSLA" (unique).
    @param collateral The USD stablecoin.
    @param insurance The insurance fund.
    @param oracle The equity's oracle.
    @param max_age_open Freshness bound, seconds.
    @param params Risk parameters.
    @param admin DEFAULT_ADMIN of the new vault.
    @return address The vault.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert len(symbol_) != 0, "factory: empty symbol"
    assert self.vaults[symbol_] == empty(address), "factory: symbol taken"
    vault: address = create_from_blueprint(
        vault_blueprint, synth_blueprint, name_, symbol_, collateral, insurance, vault_ext_blueprint
    )
    extcall VaultInit(vault).initialize(admin, oracle, max_age_open, params)
    self.vaults[symbol_] = vault
    self.symbols.append(symbol_)
    self.is_market[vault] = True
    log VaultDeployed(symbol=symbol_, vault=vault, oracle=oracle.address, admin=admin)
    return vault


@external
def deploy_perp(
    symbol_: String[5],
    lp_name: String[25],
    lp_symbol: String[5],
    collateral: address,
    insurance: address,
    oracle: address,
    max_age_open: uint256,
    params: perp_params.MarketParams,
    admin: address,
) -> (address, address):
    """
    @notice Deploys the perp market of one equity and its liquidity pool (both administered
            by `admin` from their constructors; the factory keeps no role) and attaches the
            pool to the market. DEFAULT_ADMIN only.
    @dev Grant the market MARKET_ROLE on `insurance` afterwards.
    @param symbol_ Underlying symbol, e.g. "TSLA" (unique).
    @param lp_name LP share name, e.g. "synthequity TSLA LP".
    @param lp_symbol LP share symbol, e.g. "sqLP".
    @param collateral The USD stablecoin.
    @param insurance The insurance fund.
    @param oracle The equity's oracle.
    @param max_age_open Freshness bound, seconds.
    @param params Market parameters (checked by the codec).
    @param admin DEFAULT_ADMIN of the market and the pool.
    @return (address, address) The market and the pool.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert len(symbol_) != 0, "factory: empty symbol"
    assert self.perps[symbol_] == empty(address), "factory: symbol taken"
    assert admin != empty(address), "roles: zero admin"
    pool: address = create_from_blueprint(pool_blueprint, admin, collateral, lp_name, lp_symbol)
    # the market's oracle and freshness bound, checked, in one word both deployables keep
    oracle_cfg: uint256 = oracle_guard._config(IEquityOracle(oracle), max_age_open)
    ext: address = create_from_blueprint(
        perp_ext_blueprint, collateral, pool, insurance, params_codec, oracle_cfg
    )
    market: address = create_from_blueprint(
        perp_blueprint, collateral, pool, insurance, params_codec, oracle_cfg, ext
    )
    extcall PerpInit(market).initialize(admin, params)
    extcall PoolAdmin(pool).set_market(market)
    self.perps[symbol_] = market
    self.pool_of[market] = pool
    self.perp_symbols.append(symbol_)
    self.is_market[market] = True
    log PerpDeployed(symbol=symbol_, market=market, pool=pool, oracle=oracle, admin=admin)
    return market, pool


@external
@view
def market_count() -> uint256:
    """
    @notice How many vaults this factory deployed.
    @return uint256 Count.
    """
    return len(self.symbols)


@external
@view
def perp_count() -> uint256:
    """
    @notice How many perp markets this factory deployed.
    @return uint256 Count.
    """
    return len(self.perp_symbols)
