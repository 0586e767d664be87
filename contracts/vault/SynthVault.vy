# pragma version 0.4.3
# pragma nonreentrancy on
# pragma experimental-codegen
"""
@title SynthVault
@custom:contract-name SynthVault
@notice Over-collateralized synthetic equity vault (SPEC.md §3): deposit a USD stablecoin,
        mint the synth (e.g. sTSLA) against it at >= 150% collateral, repay, withdraw; anyone
        liquidates a position below 125%, repaying only what restores 150%.
        Market hours (SPEC.md §5): deposit, burn and close always work (also while paused);
        mint, withdraw against debt and liquidate need a fresh OPEN price.
@dev Deployed from a blueprint by `SynthFactory.deploy_vault`; built with Venom
     (`experimental-codegen`), like `PerpMarket`, so that the initcode (~22.4k bytes) keeps
     room under EIP-170 (docs/design/vault.md).
"""

from ethereum.ercs import IERC20
from interfaces import IEquityOracle
from interfaces import IInsuranceFund
from interfaces import ISynthVault
from snekmate.auth import access_control
from snekmate.utils import pausable
from contracts.auth import roles
from contracts.vault import synth_vault

implements: ISynthVault

initializes: access_control
initializes: roles[access_control := access_control]
initializes: pausable
initializes: synth_vault[pausable := pausable]

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
    synth_vault.SYNTH,
    synth_vault.COLLATERAL,
    synth_vault.INSURANCE,
    synth_vault.stability_fee_bps,
    synth_vault.system_debt,
    synth_vault.system_collateral,
    synth_vault.settlement_price_wad,
    synth_vault.oracle_guard.oracle,
    synth_vault.oracle_guard.max_age_open,
)


@deploy
def __init__(
    admin: address,
    synth_blueprint: address,
    name_: String[25],
    symbol_: String[5],
    collateral: IERC20,
    insurance: IInsuranceFund,
    oracle: IEquityOracle,
    max_age_open: uint256,
    params: synth_vault.RiskParams,
):
    """
    @param admin DEFAULT_ADMIN.
    @param synth_blueprint Blueprint of `SynthToken`; the vault deploys its synth from it.
    @param name_ Synth name, e.g. "Synthetic Tesla".
    @param symbol_ Synth symbol, e.g. "sTSLA".
    @param collateral The USD stablecoin.
    @param insurance The insurance fund (grant it MARKET_ROLE for this vault).
    @param oracle The equity's oracle (AggregatorV3 + market_status).
    @param max_age_open Freshness bound of an OPEN price, seconds.
    @param params Risk parameters, within hard bounds.
    """
    access_control.__init__()
    roles._hand_admin_to(admin)
    pausable.__init__()
    synth_vault.__init__(
        synth_blueprint, name_, symbol_, collateral, insurance, oracle, max_age_open, params
    )


# ---- user actions ----------------------------------------------------------------------


@external
def deposit(amount: uint256):
    """
    @notice Adds `amount` collateral to your position. Always allowed.
    @param amount Collateral-token units.
    """
    synth_vault._deposit(amount)


@external
def withdraw(amount: uint256):
    """
    @notice Takes `amount` collateral out; with debt, needs a usable price and leaves CR >= MCR.
    @param amount Collateral-token units.
    """
    synth_vault._withdraw(amount)


@external
def mint(amount: uint256):
    """
    @notice Mints `amount` synth against your position: needs a usable price, CR >= MCR after,
            debt worth >= the minimum, within the debt ceiling; not while paused.
    @param amount Synth units (1e18 = one share).
    """
    synth_vault._mint(amount)


@external
def burn(amount: uint256):
    """
    @notice Burns `amount` of your synth against your debt. Always allowed; may not leave dust.
    @param amount Synth units.
    """
    synth_vault._burn(amount)


@external
def open(collateral: uint256, debt: uint256):
    """
    @notice Deposit and mint in one call.
    @param collateral Collateral-token units (0 to only mint).
    @param debt Synth units to mint (0 to only deposit).
    """
    assert collateral != 0 or debt != 0, "vault: zero amount"
    if collateral != 0:
        synth_vault._deposit(collateral)
    if debt != 0:
        synth_vault._mint(debt)


@external
def close():
    """
    @notice Repays all your debt (with accrued fees) from your synth balance and returns all
            your collateral. Always allowed.
    """
    synth_vault._close()


@external
def liquidate(account: address, max_repay: uint256) -> uint256:
    """
    @notice Liquidates `account` below the liquidation ratio: burns at most `max_repay` of your
            synth, pays you the repaid value x (1 + penalty) in collateral.
    @param account The position.
    @param max_repay Most synth you will burn.
    @return uint256 Synth repaid.
    """
    return synth_vault._liquidate(account, max_repay)


# ---- settlement (delisting) -------------------------------------------------------------


@external
def settle():
    """
    @notice Puts the market into settlement at the oracle's last price, frozen: no new risk,
            fees stop; positions settle and synth redeems at that price. DEFAULT_ADMIN only.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    synth_vault._settle()


@external
def settle_position(account: address):
    """
    @notice Settles `account` at the frozen price: its equity (collateral beyond its debt's
            value) is paid to it, the rest backs its synth for redeemers. Anyone may call.
    @param account The position.
    """
    synth_vault._settle_position(account)


@external
def redeem(amount: uint256) -> uint256:
    """
    @notice Burns `amount` of your synth for its value at the frozen price (settlement only).
    @param amount Synth units.
    @return uint256 Collateral units paid.
    """
    return synth_vault._redeem(amount)


# ---- views -----------------------------------------------------------------------------


@external
@view
def position(account: address) -> (uint256, uint256):
    """
    @notice (collateral, debt including fees accrued to now).
    @param account The position.
    @return (uint256, uint256) Collateral units, synth units.
    """
    return synth_vault._current(account)


@external
@view
def collateral_ratio(account: address) -> uint256:
    """
    @notice Collateral value / debt value at the last price (1e18 = 100%); max uint without debt.
    @param account The position.
    @return uint256 Ratio, 1e18 = 100%.
    """
    coll: uint256 = 0
    debt: uint256 = 0
    coll, debt = synth_vault._current(account)
    if debt == 0:
        return max_value(uint256)
    return (
        synth_vault._usd(coll)
        * 10**18
        * 10**18 // (debt * synth_vault.oracle_guard._mark_wad())
    )


@external
@view
def is_liquidatable(account: address) -> bool:
    """
    @notice True when `liquidate(account, ...)` would succeed now (usable price, below ratio).
    @param account The position.
    @return bool Liquidatable.
    """
    price: uint256 = 0
    usable: bool = False
    price, usable = synth_vault._usable_price()
    return usable and synth_vault._liquidatable_at(
        account, price, synth_vault._rate_now(), synth_vault._lr_bps(synth_vault._params)
    )


@external
@view
def liquidatable(accounts: DynArray[address, 500]) -> DynArray[bool, 500]:
    """
    @notice `is_liquidatable` for up to 500 accounts in one call (keepers).
    @param accounts Positions.
    @return DynArray[bool, 500] One flag per account.
    """
    price: uint256 = 0
    usable: bool = False
    price, usable = synth_vault._usable_price()
    out: DynArray[bool, 500] = []
    if not usable:
        for a: address in accounts:
            out.append(False)
        return out
    rate: uint256 = synth_vault._rate_now()
    lr_bps: uint256 = synth_vault._lr_bps(synth_vault._params)
    for a: address in accounts:
        out.append(synth_vault._liquidatable_at(a, price, rate, lr_bps))
    return out


@external
@view
def risk_params() -> synth_vault.RiskParams:
    """
    @notice The current risk parameters.
    @return RiskParams mcr, liquidation ratio, penalty, protocol share (bps), min debt (USD
            wad), stability fee (bps/year), debt ceiling (synth units).
    """
    return synth_vault._risk_params()


@external
@view
def debt_ceiling() -> uint256:
    """
    @notice Cap on the synth's total supply.
    @return uint256 Synth units.
    """
    return synth_vault._params >> 160


@external
@view
def rate_index() -> uint256:
    """
    @notice The stability-fee index now (1e18 at deployment; debt grows with it).
    @return uint256 Index, wad.
    """
    return synth_vault._rate_now()


@external
@view
def max_mintable(account: address) -> uint256:
    """
    @notice Most synth `account` could mint now at the last price (ignoring the ceiling).
    @param account The position.
    @return uint256 Synth units.
    """
    return synth_vault._max_mintable(account)


# ---- roles -------------------------------------------------------------------------------


@external
def set_risk_params(params: synth_vault.RiskParams):
    """
    @notice Sets every risk parameter, within hard bounds. RISK_ADMIN only.
    @param params The new parameters.
    """
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    synth_vault._set_params(params)


@external
def set_max_age_open(new_seconds: uint256):
    """
    @notice Sets the oracle freshness bound, within [10, 3_600] s. RISK_ADMIN only.
    @param new_seconds Seconds.
    """
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    synth_vault.oracle_guard._set_max_age_open(new_seconds)


@external
def lower_debt_ceiling(new_ceiling: uint256):
    """
    @notice Lowers the debt ceiling (never raises it). GUARDIAN only.
    @param new_ceiling Synth units.
    """
    access_control._check_role(roles.GUARDIAN_ROLE, msg.sender)
    synth_vault._lower_debt_ceiling(new_ceiling)


@external
def pause():
    """
    @notice Stops minting and withdrawing against debt. Deposit, burn, close and liquidation
            keep working. GUARDIAN only.
    """
    access_control._check_role(roles.GUARDIAN_ROLE, msg.sender)
    pausable._pause()


@external
def unpause():
    """
    @notice Lifts the pause. RISK_ADMIN only (the guardian can only reduce risk).
    """
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    pausable._unpause()
