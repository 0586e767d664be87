"""The same vault state machine, short, through Ape on anvil: the real deploy path (factory,
blueprints, roles) and real transactions, not the titanoboa shortcut."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from machine_base import ApeBackend, run_machine

from vault_machine import VaultMachine


@pytest.fixture
def ape_machine(
    chain,
    vault,
    synth,
    core,
    oracle,
    stablecoin,
    reporter,
    admin,
    borrower,
    trader,
    outsider,
    liquidator,
    lp,
    keeper,
    reporter2,
    usd,
    funded,
):
    for role in (vault.RISK_ADMIN_ROLE(), vault.GUARDIAN_ROLE()):
        vault.grantRole(role, admin, sender=admin)
    # the small actors and the attacker: accounts that hold no role on the vault
    for who in (lp, keeper, reporter2):
        stablecoin.faucet(who, usd(1_000_000), sender=who)
        stablecoin.approve(vault, 2**256 - 1, sender=who)
    stack = SimpleNamespace(
        oracle=oracle,
        collateral=stablecoin,
        insurance=core.insurance,
        vault=vault,
        synth=synth,
        admin=admin,
        reporter=reporter,
    )
    actors = {
        "b0": borrower,
        "b1": trader,
        "b2": outsider,
        "s0": lp,
        "s1": keeper,
        "attacker": reporter2,  # a second reporter of the oracle: no role on the vault
        "liq": liquidator,
    }
    return ApeBackend(chain), stack, actors


def test_vault_machine_on_anvil(ape_machine):
    machine = run_machine(VaultMachine, *ape_machine, examples=4, steps=12)
    assert machine.steps >= 12
