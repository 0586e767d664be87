"""The same vault state machine, short, through Ape on anvil: the real deploy path (factory,
blueprints, roles) and real transactions, not the titanoboa shortcut."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from machine_base import ApeBackend

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
    funded,
):
    for role in (vault.RISK_ADMIN_ROLE(), vault.GUARDIAN_ROLE()):
        vault.grantRole(role, admin, sender=admin)
    stack = SimpleNamespace(
        oracle=oracle,
        collateral=stablecoin,
        insurance=core.insurance,
        vault=vault,
        synth=synth,
        admin=admin,
        reporter=reporter,
    )
    actors = {"b0": borrower, "b1": trader, "b2": outsider, "liq": liquidator}
    return type(
        "ApeMachine",
        (VaultMachine,),
        {
            "backend": ApeBackend(chain),
            "stack": stack,
            "actors": actors,
            "steps": 0,
        },
    )


def test_vault_machine_on_anvil(ape_machine):
    run_state_machine_as_test(
        ape_machine, settings=settings(max_examples=4, stateful_step_count=12, deadline=None)
    )
    assert ape_machine.steps >= 12
