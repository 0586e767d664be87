"""Deep run of the perp state machine (`perp_machine.py`) in a direct titanoboa harness, on a
market deployed through the factory from its blueprint: >= 5,000 steps in the `ci` profile,
>= 200,000 in `nightly`, for 6- and 18-decimal collateral; every step compared with
`PerpModel` to the wei and the token unit. Prints its depth, throughput and outcomes."""

from __future__ import annotations

from types import SimpleNamespace

import boa
import pytest
from machine_base import BoaBackend, depth, run_machine
from perp_machine import PerpMachine, machine_params

from synthequity.testing.boa_stack import deploy_factory, deployer

ACTORS = ("t0", "t1", "t2", "keeper", "lp", "tripper")


@pytest.fixture(scope="module", params=[6, 18], ids=["usdc6", "usd18"])
def boa_perp(request):
    admin, reporter = boa.env.generate_address("admin"), boa.env.generate_address("reporter")
    actors = {name: boa.env.generate_address(name) for name in ACTORS}
    with boa.env.prank(admin):
        oracle = deployer("oracle").deploy(admin, 8, "TSLA / USD", 2_500)
        oracle.grantRole(oracle.REPORTER_ROLE(), reporter)
        usdc = deployer("stablecoin").deploy("Mock USD", "mUSD", request.param)
        insurance = deployer("insurance").deploy(admin, usdc)
        factory = deploy_factory(admin)
        factory.deploy_perp(
            "TSLA", "LP", "sqLP", usdc, insurance, oracle, 120, machine_params().as_tuple(), admin
        )
        market = deployer("perp").at(factory.perps("TSLA"))
        pool = deployer("pool").at(factory.pool_of(market))
        insurance.grantRole(insurance.MARKET_ROLE(), market)
    for who in actors.values():
        with boa.env.prank(who):
            usdc.faucet(who, 10**27 // 10 ** (18 - request.param))
            usdc.approve(pool, 2**256 - 1)
            usdc.approve(market, 2**256 - 1)
    stack = SimpleNamespace(
        oracle=oracle,
        collateral=usdc,
        insurance=insurance,
        market=market,
        pool=pool,
        reporter=reporter,
        admin=admin,
    )
    return stack, actors


def test_perp_market_matches_model(boa_perp, capsys):
    stack, actors = boa_perp
    examples, steps, required = depth()

    def report(line: str) -> None:
        with capsys.disabled():
            print(line)

    machine = run_machine(
        PerpMachine,
        BoaBackend(),
        stack,
        actors,
        examples=examples // 2,
        steps=steps,
        report=report,
    )
    assert machine.steps >= required // 2  # per decimals variant; ci: 5,000 in all
    covered = (  # what a full run must have exercised
        "execute: filled",
        "execute: cancelled:price",
        "execute: cancelled:expired",
        "execute: reverted:perp: no newer price",
        "liquidated partially",
        "closed out",
        "delisted",
    )
    for outcome in covered if required else ():
        assert machine.seen[outcome] > 0, outcome
