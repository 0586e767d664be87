"""Two-step DEFAULT_ADMIN transfer (issue 8), on every deployable that has roles: the admin
proposes, the new account accepts; `grantRole` never hands out DEFAULT_ADMIN, so a typo cannot
give the protocol to an address nobody controls."""

import ape
import pytest
from eth_utils import keccak

DEFAULT_ADMIN = b"\x00" * 32
ZERO = "0x" + "00" * 20
MISSING = "access_control: account is missing role"

# roles do not depend on the collateral's decimals: one variant
ONE_COLLATERAL = pytest.mark.parametrize("stablecoin", [6], ids=["usdc6"], indirect=True)

ADMINISTERED = (
    "SynthFactory",
    "InsuranceFund",
    "EquityOracle",
    "SynthVault",
    "PerpMarket",
    "LiquidityPool",
)


@ONE_COLLATERAL
@pytest.mark.parametrize("name", ADMINISTERED)
def test_admin_changes_hands_in_two_steps(deployables, name, admin, risk_admin, outsider):
    c = deployables[name]
    successor = outsider  # a fresh multisig, say
    with ape.reverts("roles: two-step admin"):
        c.grantRole(DEFAULT_ADMIN, successor, sender=admin)
    with ape.reverts(MISSING):
        c.transfer_admin(successor, sender=risk_admin)
    with ape.reverts("roles: already admin"):
        c.transfer_admin(admin, sender=admin)

    tx = c.transfer_admin(successor, sender=admin)
    assert tx.events == [c.AdminTransferStarted(proposer=admin, pending=successor)]
    assert (c.pending_admin(), c.admin_proposer()) == (successor, admin)
    # nothing has moved yet
    assert c.hasRole(DEFAULT_ADMIN, admin) and not c.hasRole(DEFAULT_ADMIN, successor)

    with ape.reverts("roles: not pending admin"):
        c.accept_admin(sender=risk_admin)
    with ape.reverts("roles: not pending admin"):
        c.accept_admin(sender=admin)
    tx = c.accept_admin(sender=successor)
    assert tx.events == [
        c.RoleGranted(role=DEFAULT_ADMIN, account=successor, sender=successor),
        c.RoleRevoked(role=DEFAULT_ADMIN, account=admin, sender=successor),
    ]
    assert c.hasRole(DEFAULT_ADMIN, successor) and not c.hasRole(DEFAULT_ADMIN, admin)
    assert (c.pending_admin(), c.admin_proposer()) == (ZERO, ZERO)
    with ape.reverts("roles: not pending admin"):  # once only
        c.accept_admin(sender=successor)

    # the old admin administers nothing; the new one does
    role = keccak(text="RISK_ADMIN")  # every deployable knows it, not all export its name
    with ape.reverts(MISSING):
        c.grantRole(role, outsider, sender=admin)
    c.grantRole(role, risk_admin, sender=successor)
    assert c.hasRole(role, risk_admin)
    # and it can hand the contract back the same way
    c.transfer_admin(admin, sender=successor)
    c.accept_admin(sender=admin)
    assert c.hasRole(DEFAULT_ADMIN, admin) and not c.hasRole(DEFAULT_ADMIN, successor)


def test_a_proposal_is_replaced_or_withdrawn(oracle, admin, risk_admin, outsider):
    oracle.transfer_admin(outsider, sender=admin)
    oracle.transfer_admin(risk_admin, sender=admin)  # a typo corrected
    with ape.reverts("roles: not pending admin"):
        oracle.accept_admin(sender=outsider)
    tx = oracle.transfer_admin(ZERO, sender=admin)  # withdrawn
    assert tx.events == [oracle.AdminTransferStarted(proposer=admin, pending=ZERO)]
    with ape.reverts("roles: not pending admin"):
        oracle.accept_admin(sender=risk_admin)
    assert oracle.hasRole(DEFAULT_ADMIN, admin)


@ONE_COLLATERAL
def test_a_proposal_dies_with_its_proposers_admin_role(vault, admin, risk_admin, outsider):
    """An admin that lost its role (revoked after a compromise, or renounced) cannot have its
    last proposal accepted."""
    vault.transfer_admin(outsider, sender=admin)
    vault.renounceRole(DEFAULT_ADMIN, admin, sender=admin)
    with ape.reverts("roles: proposal void"):
        vault.accept_admin(sender=outsider)
    assert not vault.hasRole(DEFAULT_ADMIN, outsider)


@ONE_COLLATERAL
def test_renouncing_and_revoking_other_roles_are_unchanged(perp, admin, risk_admin, outsider):
    _, market = perp
    role = market.RISK_ADMIN_ROLE()
    with ape.reverts("access_control: can only renounce roles for itself"):
        market.renounceRole(role, risk_admin, sender=outsider)
    with ape.reverts(MISSING):
        market.revokeRole(role, risk_admin, sender=outsider)
    market.revokeRole(role, risk_admin, sender=admin)
    assert not market.hasRole(role, risk_admin)


@ONE_COLLATERAL
def test_a_hand_deployed_pools_deployer_only_attaches_the_market(
    project, stablecoin, perp, admin, risk_admin, outsider
):
    """As the pool's deployer (a factory, or an operator deploying by hand) an account may
    attach the market, once, and holds no role."""
    _, market = perp
    p = project.LiquidityPool.deploy(risk_admin, stablecoin, "LP", "sqLP", sender=admin)
    assert p.DEPLOYER() == admin and not p.hasRole(DEFAULT_ADMIN, admin)
    assert p.hasRole(DEFAULT_ADMIN, risk_admin)
    with ape.reverts(MISSING):
        p.set_market(market, sender=outsider)
    p.set_market(market, sender=admin)
    with ape.reverts("pool: market set"):
        p.set_market(outsider, sender=risk_admin)
