"""Deep run of the vault state machine in a direct titanoboa harness (≥ 5,000 steps in the
`ci` profile, ≥ 200,000 in `nightly`, half each for 6- and 18-decimal collateral): three
large borrowers, two small ones ($1-$50), the attacker and the liquidator, every one funded
and every one approving the vault's stability pool for its synth."""

from __future__ import annotations

import boa
import pytest
from machine_base import BoaBackend, pin_clock, run_machine

from synthequity.model.vault import VaultParams
from synthequity.testing.boa_stack import deploy_vault_stack

from vault_machine import EVERYONE, VaultMachine, depth


@pytest.fixture(scope="module", params=[6, 18], ids=["usdc6", "usd18"])
def boa_vault(request):
    pin_clock(f"vault {request.param}")
    stack = deploy_vault_stack(request.param, VaultParams(stability_fee_bps=0))
    actors = {name: boa.env.generate_address(name) for name in EVERYONE}
    for who in actors.values():
        with boa.env.prank(who):
            stack.collateral.faucet(who, 10**28 // 10 ** (18 - request.param))
            stack.collateral.approve(stack.vault, 2**256 - 1)
            stack.synth.approve(stack.stability_pool, 2**256 - 1)
    return stack, actors


def test_vault_matches_model(boa_vault, capsys):
    stack, actors = boa_vault
    examples, steps, required = depth()

    def report(line: str) -> None:
        with capsys.disabled():
            print(line)

    machine = run_machine(
        VaultMachine,
        BoaBackend(),
        stack,
        actors,
        examples=examples // 2,
        steps=steps,
        report=report,
    )
    # per decimals variant, as the perp machine: ci 5,000 in all, nightly 200,000
    assert machine.steps >= required // 2
    # issue 21: the ex-date print at the reference price moved no debt and no holding;
    # issue 19: a redemption and the same exposure opened again created no value
    for outcome in ("dividend: ordinary", "dividend: special", "redemption round trip"):
        assert machine.seen.get(outcome), (outcome, sorted(machine.seen))
