# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title SynthVaultExt
@custom:contract-name SynthVaultExt
@notice The cold paths of one `SynthVault`: initialization, the sale of the insurance
        fund's fee synth, delisting (settle, settle positions, redeem), risk parameters, the freshness bound, the debt ceiling, the
        pause, role changes, and the views the keepers do not need. They run only by
        delegatecall from the vault that created this contract, in the vault's storage; a
        direct call of a state-changing function refuses ("vault: delegate only").
@dev Initializes the same modules in the same order as `SynthVault` (one storage layout,
     checked by `make lint`) and has the same immutables (the vault passes its own to the
     constructor). Holds no tokens and no state of its own (docs/architecture.md).
"""

from ethereum.ercs import IERC20
from interfaces import IEquityOracle
from interfaces import IInsuranceFund
from interfaces import ISynthToken
from snekmate.auth import access_control
from snekmate.utils import pausable
from contracts.auth import roles
from contracts.lib import constants
from contracts.vault import synth_vault

initializes: access_control
initializes: roles[access_control := access_control]
initializes: pausable
initializes: synth_vault[pausable := pausable]

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
    synth_vault.SYNTH,
    synth_vault.COLLATERAL,
    synth_vault.INSURANCE,
    synth_vault.stability_fee_bps,
    synth_vault.system_debt,
    synth_vault.system_collateral,
    synth_vault.settlement_price_wad,
    synth_vault.redemption_rate_wad,
    synth_vault.oracle_guard.oracle,
    synth_vault.oracle_guard.max_age_open,
)

# @dev This contract's own address: a call whose `self` is this address is not delegated.
_SELF: immutable(address)


@deploy
def __init__(synth: ISynthToken, collateral: IERC20, insurance: IInsuranceFund):
    """
    @param synth The vault's synth.
    @param collateral The vault's collateral.
    @param insurance The vault's insurance fund.
    """
    access_control.__init__()
    pausable.__init__()
    synth_vault.__init__(synth, collateral, insurance)
    _SELF = self


@internal
@view
def _only_delegated():
    assert self != _SELF, "vault: delegate only"


@external
def initialize(
    admin: address, oracle: IEquityOracle, max_age_open: uint256, params: synth_vault.RiskParams
):
    """
    @notice The vault's first storage, written once by its deployer (the factory, which holds
            DEFAULT_ADMIN from the vault's constructor) in the transaction that deploys it;
            DEFAULT_ADMIN then moves to `admin`.
    @param admin DEFAULT_ADMIN, in place of the deployer.
    @param oracle The equity's oracle (AggregatorV3 + market_status).
    @param max_age_open Freshness bound of an OPEN price, seconds.
    @param params Risk parameters, within hard bounds.
    """
    self._only_delegated()
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    synth_vault._initialize(oracle, max_age_open, params)
    roles._hand_admin_to(admin)


# ---- settlement (delisting) -------------------------------------------------------------


@external
def settle():
    """
    @notice Puts the market into settlement at the oracle's last price, frozen: no new risk,
            fees stop; positions settle and synth redeems at that price. DEFAULT_ADMIN only.
    """
    self._only_delegated()
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    synth_vault._delist()


@external
def settle_position(account: address):
    """
    @notice Settles `account`'s debt at the frozen price: the collateral worth its debt backs
            its synth for redeemers; the rest (its equity) is paid to it when it calls for
            itself, and otherwise stays its debt-free collateral (`close` takes it). Anyone may
            call for an account with debt: redemption opens once every debt is settled.
    @param account The position.
    """
    self._only_delegated()
    synth_vault._close_delisted(account)


@external
def redeem_fees() -> uint256:
    """
    @notice Redeems all the synth the insurance fund holds (its stability fees) for the fund,
            at the same rate as every holder's (settlement only). Anyone may call.
    @return uint256 Collateral units paid to the fund.
    """
    self._only_delegated()
    return synth_vault._redeem(
        synth_vault.INSURANCE.address,
        staticcall synth_vault.SYNTH.balanceOf(synth_vault.INSURANCE.address),
    )


@external
@reentrant
def redeem(
    amount: uint256, max_fee_bps: uint256, first_hint: address, partial_hint: address
) -> uint256:
    """
    @notice After a delisting: burns `amount` of your synth for collateral at
            `redemption_rate_wad`. Reached only through the vault's own `redeem` (the same
            selector, so never through `__default__`), which holds the lock and delegates
            here once the market is settled (cold code kept out of the vault).
    @param amount Synth units.
    @param max_fee_bps Ignored after a delisting.
    @param first_hint Ignored after a delisting.
    @param partial_hint Ignored after a delisting.
    @return uint256 Collateral units paid.
    """
    self._only_delegated()
    return synth_vault._redeem(msg.sender, amount)


# ---- the insurance fund's fee synth -------------------------------------------------------


@external
def buy_fee_synth(amount: uint256, max_paid: uint256) -> uint256:
    """
    @notice Buys `amount` of the synth the insurance fund holds (the stability fees) at the
            oracle price, paid in collateral to the fund: the synth a last borrower needs to
            repay in full, and the fees turned into the fund's collateral. Needs a usable
            price; allowed while paused; not after a delisting.
    @param amount Synth units.
    @param max_paid Most collateral you will pay (the price may move before your call lands).
    @return uint256 Collateral units paid (rounded up).
    """
    self._only_delegated()
    return synth_vault._buy_fee_synth(amount, max_paid)


# ---- roles -------------------------------------------------------------------------------


@external
def set_risk_params(params: synth_vault.RiskParams):
    """
    @notice Sets every risk parameter, within hard bounds. RISK_ADMIN only.
    @param params The new parameters.
    """
    self._only_delegated()
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    synth_vault._set_params(params)


@external
def set_max_age_open(new_seconds: uint256):
    """
    @notice Sets the oracle freshness bound, within [10, 3_600] s. RISK_ADMIN only.
    @param new_seconds Seconds.
    """
    self._only_delegated()
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    synth_vault.oracle_guard._set_max_age_open(new_seconds)


@external
def lower_debt_ceiling(new_ceiling: uint256):
    """
    @notice Lowers the debt ceiling (never raises it). GUARDIAN only.
    @param new_ceiling Synth units.
    """
    self._only_delegated()
    access_control._check_role(roles.GUARDIAN_ROLE, msg.sender)
    synth_vault._lower_debt_ceiling(new_ceiling)


@external
def pause():
    """
    @notice Stops minting and withdrawing against debt. Deposit, burn, close and liquidation
            keep working. GUARDIAN only.
    """
    self._only_delegated()
    access_control._check_role(roles.GUARDIAN_ROLE, msg.sender)
    pausable._pause()


@external
def unpause():
    """
    @notice Lifts the pause. RISK_ADMIN only (the guardian can only reduce risk).
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


# ---- views -------------------------------------------------------------------------------


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
def redemption_base_rate() -> uint256:
    """
    @notice The redemption base rate now, decayed (wad); the fee is it + 0.5%, capped at 100%.
    @return uint256 Base rate, wad.
    """
    return synth_vault._base_rate_at(block.timestamp)


@external
@view
def sorted_node(account: address) -> (address, uint256):
    """
    @notice `account`'s place in the sorted list: its next position (riskier ones come first)
            and its sort key (collateral USD x index / debt; 0: not listed). The head is
            `sorted_node(empty(address))[0]`.
    @param account The position (empty: the head).
    @return (address, uint256) Next position, sort key.
    """
    word: uint256 = synth_vault._node[account]
    return convert(word & constants.MASK160, address), word >> 160


@external
@view
def sorted_positions(start: address, count: uint256) -> DynArray[address, 500]:
    """
    @notice Up to `count` (<= 500) listed positions after `start` (empty: from the riskiest),
            in order: the hint helpers' page.
    @param start A listed position, or empty for the head.
    @param count How many.
    @return DynArray[address, 500] Positions, riskiest first.
    """
    out: DynArray[address, 500] = []
    cur: address = start
    for i: uint256 in range(500):
        if i == count:
            break
        cur = convert(synth_vault._node[cur] & constants.MASK160, address)
        if cur == empty(address):
            break
        out.append(cur)
    return out


@external
@view
def max_mintable(account: address) -> uint256:
    """
    @notice Most synth `account` could mint now at the last price (ignoring the ceiling).
    @param account The position.
    @return uint256 Synth units.
    """
    return synth_vault._max_mintable(account)


@external
@view
def fee_synth_available(account: address) -> uint256:
    """
    @notice The insurance fund's synth that a call touching `account` now could buy from it:
            the fund's balance plus the stability fee `account` accrued since it last
            changed, which that call mints to the fund first. A `close` or `liquidate` whose
            caller's synth falls short buys up to this much (keepers plan with it).
    @param account The position.
    @return uint256 Synth units.
    """
    word: uint256 = synth_vault._pos[account]
    stored: uint256 = (word >> 96) & constants.MASK88
    current: uint256 = synth_vault._debt_at(word, synth_vault._rate_now())
    return staticcall synth_vault.SYNTH.balanceOf(synth_vault.INSURANCE.address) + current - stored
