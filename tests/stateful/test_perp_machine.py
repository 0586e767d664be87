"""Deep run of the perp state machine (`perp_machine.py`) in a direct titanoboa harness, on a
market deployed through the factory from its blueprint: >= 5,000 steps in the `ci` profile,
>= 200,000 in `nightly`, for 6- and 18-decimal collateral; every step compared with
`PerpModel` to the wei and the token unit. Prints its depth, throughput and outcomes."""

from __future__ import annotations

from types import SimpleNamespace

import boa
import pytest
from machine_base import BoaBackend, depth, pin_clock, run_machine
from perp_machine import PerpMachine, machine_params

from synthequity.testing import deploy_protocol

ACTORS = ("t0", "t1", "t2", "s0", "s1", "keeper", "lp", "tripper", "attacker")


@pytest.fixture(scope="module", params=[6, 18], ids=["usdc6", "usd18"])
def boa_perp(request):
    pin_clock(f"perp {request.param}")
    p = deploy_protocol(decimals=request.param, perp_params=machine_params())
    actors = {name: boa.env.generate_address(name) for name in ACTORS}
    for who in actors.values():
        with boa.env.prank(who):
            p.collateral.faucet(who, 10**27 // 10 ** (18 - request.param))
            p.collateral.approve(p.pool, 2**256 - 1)
            p.collateral.approve(p.market, 2**256 - 1)
    stack = SimpleNamespace(
        oracle=p.oracle,
        collateral=p.collateral,
        insurance=p.insurance,
        market=p.market,
        pool=p.pool,
        reporter=p.reporter,
        admin=p.admin,
        risk_admin=p.risk_admin,
        guardian=p.guardian,
        orders=p.orders,
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
    covered = (  # what a full run must have exercised (any of each group)
        ("execute: filled",),
        ("execute: cancelled:price",),
        (
            "execute: cancelled:expired",
            "cancel: cancelled:expired",
            "paused: execute cancelled:expired",
        ),
        ("execute: reverted:perp: no newer price",),
        ("finding7 execute: filled",),  # at the first usable round after the commit
        ("finding7 execute: reverted:perp: order expired",),  # then only cancel works
        ("liquidated partially",),
        ("paused: reduce filled",),
        ("paused: grow reverted:pausable: contract is paused",),
        ("attacker execute: filled", "attacker conditional: filled"),  # its own, either kind
        ("closed out",),
        ("delisted",),
        ("dividend: ordinary",),  # issue 21: the ex-date print moves no equity
        ("dividend: special",),
        ("conditional execute: filled",),  # issue 20: a triggered order filled
        ("conditional execute: rearmed",),
        ("conditional cancel: cancelled:cancelled",),
        ("place stop-loss: ok",),
    )
    for outcomes in covered if required else ():
        assert any(machine.seen[o] for o in outcomes), outcomes
