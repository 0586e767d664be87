"""The same vault state machine, short, through Ape on anvil: the real deploy path (factory,
blueprints, roles) and real transactions, not the titanoboa shortcut."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ape.exceptions import ContractLogicError
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from vault_machine import Backend, VaultMachine


class ApeBackend(Backend):
    """Every transaction is mined one second after the previous one, at a time the machine
    knows (`now()`); views read the last mined block (`view_time()`)."""

    fees = (0,)  # view calls see the last block, not the next: keep debt time-independent

    def __init__(self, chain):
        self.chain = chain
        self.t = chain.pending_timestamp + 1
        self._snapshot = None

    def send(self, contract, fn, *args, sender):
        self.chain.pending_timestamp = self.t
        try:
            receipt = getattr(contract, fn)(*args, sender=sender)
        except ContractLogicError as exc:
            raise Backend.Reverted(exc.revert_message) from None
        self.t = receipt.timestamp + 1
        return receipt.return_value

    def now(self):
        return self.t

    def view_time(self):
        return self.chain.blocks.head.timestamp

    def advance(self, seconds):
        self.t += seconds

    def begin(self):
        self._snapshot = self.chain.snapshot()
        self.t = self.chain.pending_timestamp + 1

    def end(self):
        self.chain.restore(self._snapshot)


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
