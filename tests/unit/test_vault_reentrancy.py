"""Curve/Vyper 2023 class: a hostile collateral token calls back into the vault in the middle
of a transfer — into another function (cross-function) and into views (read-only). The token
is also the position's owner, so without the lock every re-entry below would be accepted.
Every re-entry fails, the outer action completes exactly once, and no balance moves twice."""

import pytest

from synthequity.deploy import deploy_core, deploy_vault
from synthequity.model.vault import WAD, VaultParams


@pytest.fixture
def hostile_vault(project, admin, oracle, borrower, push):
    token = project.HostileToken.deploy(6, sender=admin)
    core = deploy_core(admin, token)
    # no stability fee: the assertions compare debt across blocks, which a fee would move
    vault = deploy_vault(
        admin, core, token, oracle, "sTSLA", "Synthetic Tesla", VaultParams(stability_fee_bps=0)
    )
    token.faucet(borrower, 10**12, sender=borrower)
    token.approve(vault, 2**256 - 1, sender=borrower)
    push(200)
    return token, vault


@pytest.mark.parametrize(
    "outer, inner",
    [
        ("deposit", ("withdraw", 1)),  # cross-function: take out what is being put in
        ("deposit", ("mint", WAD)),  # borrow against collateral not yet received
        ("withdraw", ("withdraw", 10**6)),  # same function: withdraw twice
        ("withdraw", ("mint", WAD)),  # borrow against collateral on its way out
        ("deposit", ("burn", WAD)),
        ("deposit", ("position", "SELF")),  # read-only: a view mid-transfer
        ("withdraw", ("liquidatable", ["SELF"])),
        ("withdraw", ("collateral_ratio", "SELF")),
    ],
)
def test_reentry_from_the_collateral_token_fails(hostile_vault, borrower, outer, inner):
    token, vault = hostile_vault
    me = token.address
    token.faucet(token, 10**12, sender=borrower)
    token.self_approve(vault, 2**256 - 1, sender=borrower)
    token.execute(vault, vault.open.encode_input(3_000 * 10**6, 5 * WAD), sender=borrower)
    fn, *args = inner
    args = [me if a == "SELF" else [me] if a == ["SELF"] else a for a in args]
    token.arm(vault, getattr(vault, fn).encode_input(*args), sender=borrower)
    before = (vault.position(me), token.balanceOf(vault), token.balanceOf(me))

    token.execute(vault, getattr(vault, outer).encode_input(10**6), sender=borrower)

    assert token.hook_called() and not token.hook_succeeded()
    coll, debt = vault.position(me)
    delta = 10**6 if outer == "deposit" else -(10**6)
    assert (coll, debt) == (before[0][0] + delta, before[0][1])  # the outer action, once
    assert token.balanceOf(vault) == before[1] + delta
    assert token.balanceOf(me) == before[2] - delta


def test_a_token_that_returns_false_moves_nothing(hostile_vault, borrower):
    token, vault = hostile_vault
    token.set_return_false(True, sender=borrower)
    import ape

    with ape.reverts("vault: transfer in failed"):
        vault.deposit(10**6, sender=borrower)
    assert vault.position(borrower) == (0, 0)
    token.set_return_false(False, sender=borrower)
    vault.deposit(10**6, sender=borrower)
    token.set_return_false(True, sender=borrower)
    with ape.reverts("vault: transfer out failed"):
        vault.withdraw(10**6, sender=borrower)
    assert vault.position(borrower) == (10**6, 0)
