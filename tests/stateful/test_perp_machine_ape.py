"""The same perp state machine, short, through Ape on anvil: the market and its pool deployed
by the factory from blueprints (`synthequity.deploy.deploy_perp`, as `ape run deploy` does),
real transactions, views at the head block."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from machine_base import ApeBackend, run_machine
from perp_machine import PerpMachine


@pytest.fixture
def ape_perp_machine(
    chain,
    admin,
    risk_admin,
    guardian,
    perp,
    core,
    oracle,
    stablecoin,
    reporter,
    trader,
    borrower,
    outsider,
    keeper,
    lp,
    liquidator,
    accounts,
):
    from synthequity.deploy import deploy_perp_orders

    pool, market = perp
    # the round-tripper is the liquidator's account acting as a trader; the small traders
    # and the attacker are fresh accounts (no role: nothing for tests/conftest.py to map)
    fresh = [accounts.generate_test_account() for _ in range(3)]
    for who in fresh:
        who.balance = 10**21  # ether for gas (the node's setBalance)
    actors = {
        "t0": trader,
        "t1": borrower,
        "t2": outsider,
        "s0": fresh[0],
        "s1": fresh[1],
        "keeper": keeper,
        "lp": lp,
        "tripper": liquidator,
        "attacker": fresh[2],
    }
    scale = 10 ** stablecoin.decimals()
    for who in actors.values():
        stablecoin.faucet(who, 10_000_000 * scale, sender=who)
        stablecoin.approve(pool, 2**256 - 1, sender=who)
        stablecoin.approve(market, 2**256 - 1, sender=who)
    stack = SimpleNamespace(
        oracle=oracle,
        collateral=stablecoin,
        insurance=core.insurance,
        market=market,
        pool=pool,
        reporter=reporter,
        admin=admin,
        risk_admin=risk_admin,
        guardian=guardian,
        orders=deploy_perp_orders(admin, market),
    )
    return ApeBackend(chain), stack, actors


def test_perp_machine_on_anvil(ape_perp_machine):
    machine = run_machine(PerpMachine, *ape_perp_machine, examples=3, steps=10)
    assert machine.steps >= 10
