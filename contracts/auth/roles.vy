# pragma version 0.4.3
"""
@title roles
@custom:contract-name roles
@notice The protocol's role ids (SPEC.md §8), shared by every deployable, on top of
        snekmate's `access_control`:
        - DEFAULT_ADMIN (snekmate's zero role): grants and revokes roles; a timelock or a
          multisig on a public network.
        - RISK_ADMIN: parameters, each within hard bounds.
        - GUARDIAN: pauses risk-increasing actions; can never block repaying or depositing.
        - REPORTER: pushes oracle prices.
"""

from snekmate.auth import access_control

uses: access_control

REPORTER_ROLE: public(constant(bytes32)) = keccak256("REPORTER")
RISK_ADMIN_ROLE: public(constant(bytes32)) = keccak256("RISK_ADMIN")
GUARDIAN_ROLE: public(constant(bytes32)) = keccak256("GUARDIAN")


@internal
def _hand_admin_to(admin: address):
    """
    @dev Moves DEFAULT_ADMIN from the deployer (snekmate grants it to `msg.sender`)
         to `admin`, so that a factory or a deploy script never keeps it by accident.
    @param admin The account (timelock, multisig) that administers the contract.
    """
    assert admin != empty(address), "roles: zero admin"
    if admin != msg.sender:
        access_control._grant_role(access_control.DEFAULT_ADMIN_ROLE, admin)
        access_control._revoke_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
