# pragma version 0.4.3
"""
@title roles
@custom:contract-name roles
@notice The protocol's role ids (docs/spec.md §8) and a two-step DEFAULT_ADMIN transfer, on top
        of snekmate's `access_control`:
        - DEFAULT_ADMIN (snekmate's zero role): grants and revokes roles; a timelock or a
          multisig on a public network. It changes hands only in two steps: the admin
          proposes (`transfer_admin`), the new account accepts (`accept_admin`), so that a
          typo can never hand the protocol to an address nobody controls.
        - RISK_ADMIN: parameters, each within hard bounds.
        - GUARDIAN: pauses risk-increasing actions; can never block repaying or depositing.
        - REPORTER: pushes oracle prices.
        - ORDERS: a perp market's conditional-order book (a contract, not a person).
@dev A deployable exports `grantRole`, `transfer_admin`, `accept_admin` and `pending_admin`
     from here, and every other `access_control` function except `grantRole` from there.
"""

from snekmate.auth import access_control

uses: access_control

REPORTER_ROLE: public(constant(bytes32)) = keccak256("REPORTER")
RISK_ADMIN_ROLE: public(constant(bytes32)) = keccak256("RISK_ADMIN")
GUARDIAN_ROLE: public(constant(bytes32)) = keccak256("GUARDIAN")
# @dev A perp market's conditional-order book (`PerpOrders`): escrows order fees and hands
#      triggered orders to the market (docs/design/conditional-orders.md).
ORDERS_ROLE: public(constant(bytes32)) = keccak256("ORDERS")

# @dev The account proposed as the next DEFAULT_ADMIN (empty when none).
pending_admin: public(address)
# @dev The admin that proposed `pending_admin`; it loses DEFAULT_ADMIN on acceptance.
admin_proposer: public(address)


# @dev An admin proposed `pending` as its successor (`pending` empty: proposal withdrawn).
event AdminTransferStarted:
    proposer: indexed(address)
    pending: indexed(address)


@external
def grantRole(role: bytes32, account: address):
    """
    @notice Grants `role` to `account`; the caller must hold `role`'s admin role.
            DEFAULT_ADMIN is never granted here: use `transfer_admin` and `accept_admin`.
    @param role The role id.
    @param account The account.
    """
    self._grant(role, account)


@external
def transfer_admin(new_admin: address):
    """
    @notice Proposes `new_admin` as DEFAULT_ADMIN in place of the caller; nothing changes
            until `new_admin` calls `accept_admin`. DEFAULT_ADMIN only. A new proposal
            replaces the previous one; `empty(address)` withdraws it.
    @param new_admin The proposed admin (a timelock, a multisig).
    """
    self._transfer_admin(new_admin)


@external
def accept_admin():
    """
    @notice Completes the transfer proposed by `transfer_admin`: the caller becomes
            DEFAULT_ADMIN and the proposer stops being one. Only the proposed account, and
            only while the proposer still holds DEFAULT_ADMIN.
    """
    self._accept_admin()


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


# ---- the same decisions for a deployable that wraps them (an extension run by delegatecall
# checks that it is delegated first; docs/architecture.md) -----------------------------------


@internal
def _grant(role: bytes32, account: address):
    """
    @dev `grantRole`: never DEFAULT_ADMIN; the caller holds `role`'s admin role.
    """
    assert role != access_control.DEFAULT_ADMIN_ROLE, "roles: two-step admin"
    access_control._check_role(access_control.getRoleAdmin[role], msg.sender)
    access_control._grant_role(role, account)


@internal
def _revoke(role: bytes32, account: address):
    """
    @dev snekmate's `revokeRole`: the caller holds `role`'s admin role.
    """
    access_control._check_role(access_control.getRoleAdmin[role], msg.sender)
    access_control._revoke_role(role, account)


@internal
def _renounce(role: bytes32, account: address):
    """
    @dev snekmate's `renounceRole`: one's own roles only.
    """
    assert account == msg.sender, "access_control: can only renounce roles for itself"
    access_control._revoke_role(role, account)


@internal
def _set_admin_role(role: bytes32, admin_role: bytes32):
    """
    @dev snekmate's `set_role_admin`: the caller holds `role`'s admin role.
    """
    access_control._check_role(access_control.getRoleAdmin[role], msg.sender)
    access_control._set_role_admin(role, admin_role)


@internal
def _transfer_admin(new_admin: address):
    """
    @dev `transfer_admin`: DEFAULT_ADMIN proposes its successor.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert new_admin != msg.sender, "roles: already admin"
    self.pending_admin = new_admin
    self.admin_proposer = msg.sender
    log AdminTransferStarted(proposer=msg.sender, pending=new_admin)


@internal
def _accept_admin():
    """
    @dev `accept_admin`: the proposed account takes over while its proposer is still admin.
    """
    assert msg.sender == self.pending_admin, "roles: not pending admin"
    proposer: address = self.admin_proposer
    assert access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][
        proposer
    ], "roles: proposal void"
    self.pending_admin = empty(address)
    self.admin_proposer = empty(address)
    access_control._grant_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    access_control._revoke_role(access_control.DEFAULT_ADMIN_ROLE, proposer)
