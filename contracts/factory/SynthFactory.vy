# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title SynthFactory
@custom:contract-name SynthFactory
@notice Deploys one `SynthVault` (which deploys its `SynthToken`) per equity from blueprints,
        so that sTSLA, sAAPL and sNVDA run the same audited code with their own oracle and
        parameters, and keeps the registry (symbol -> vault) that keepers and UIs read.
"""

from interfaces import IEquityOracle
from interfaces import IInsuranceFund
from snekmate.auth import access_control
from contracts.auth import roles
from contracts.vault import synth_vault

initializes: access_control
initializes: roles[access_control := access_control]

exports: (access_control.__interface__, roles.RISK_ADMIN_ROLE)

MAX_MARKETS: constant(uint256) = 64

# @dev Blueprint (ERC-5202) of SynthVault.
vault_blueprint: public(immutable(address))
# @dev Blueprint (ERC-5202) of SynthToken.
synth_blueprint: public(immutable(address))

# @dev Synth symbol (e.g. "sTSLA") -> its vault.
vaults: public(HashMap[String[5], address])
# @dev Every synth symbol, in deployment order.
symbols: public(DynArray[String[5], MAX_MARKETS])
# @dev True for every vault this factory deployed.
is_market: public(HashMap[address, bool])


# @dev A vault (and its synth) was deployed.
event VaultDeployed:
    symbol: String[5]
    vault: indexed(address)
    oracle: indexed(address)
    admin: address


@deploy
def __init__(admin: address, vault_blueprint_: address, synth_blueprint_: address):
    """
    @param admin DEFAULT_ADMIN (the only account that deploys markets).
    @param vault_blueprint_ SynthVault blueprint.
    @param synth_blueprint_ SynthToken blueprint.
    """
    access_control.__init__()
    roles._hand_admin_to(admin)
    vault_blueprint = vault_blueprint_
    synth_blueprint = synth_blueprint_


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
        vault_blueprint,
        admin,
        synth_blueprint,
        name_,
        symbol_,
        collateral,
        insurance,
        oracle,
        max_age_open,
        params,
    )
    self.vaults[symbol_] = vault
    self.symbols.append(symbol_)
    self.is_market[vault] = True
    log VaultDeployed(symbol=symbol_, vault=vault, oracle=oracle.address, admin=admin)
    return vault


@external
@view
def market_count() -> uint256:
    """
    @notice How many vaults this factory deployed.
    @return uint256 Count.
    """
    return len(self.symbols)
