# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title InsuranceFund
@custom:contract-name InsuranceFund
@notice The first loss absorber (docs/spec.md §3, §4): receives the protocol's share of
        liquidation penalties in the collateral token, and stability fees in synths; pays a
        registered market's shortfall (`cover`) from its collateral-token balance, as far as it
        goes. Markets are registered by granting MARKET_ROLE (deploy script / admin).
        The fee synths are never stuck here: each vault, their only minter, sells them to
        anyone at the oracle price for collateral paid to this fund (`buy_fee_synth`) and,
        after a delisting, redeems them for it (`redeem_fees`); this contract needs no call
        of its own for either.
"""

from ethereum.ercs import IERC20
from interfaces import IInsuranceFund
from snekmate.auth import access_control
from contracts.auth import roles

implements: IInsuranceFund

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
    roles.GUARDIAN_ROLE,
)

MARKET_ROLE: public(constant(bytes32)) = keccak256("MARKET")

# @dev The collateral token the fund holds and pays out.
asset: public(immutable(address))


# @dev A market drew on the fund to cover a shortfall.
event Covered:
    market: indexed(address)
    requested: uint256
    paid: uint256


@deploy
def __init__(admin: address, asset_: address):
    """
    @param admin DEFAULT_ADMIN (grants MARKET_ROLE to vaults and perp markets).
    @param asset_ The collateral token.
    """
    access_control.__init__()
    roles._hand_admin_to(admin)
    asset = asset_


@external
def cover(amount: uint256) -> uint256:
    """
    @notice Pays up to `amount` of the collateral token to the calling market.
    @dev MARKET_ROLE only. Pays what it has when it has less; the market records the rest.
    @param amount Requested, collateral-token units.
    @return uint256 Paid.
    """
    assert access_control.hasRole[MARKET_ROLE][msg.sender], "insurance: not a market"
    paid: uint256 = min(amount, staticcall IERC20(asset).balanceOf(self))
    if paid != 0:
        assert extcall IERC20(asset).transfer(
            msg.sender, paid, default_return_value=True
        ), "insurance: transfer"
    log Covered(market=msg.sender, requested=amount, paid=paid)
    return paid
