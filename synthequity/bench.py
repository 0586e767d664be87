"""Receipt gas of every SPEC.md §10 operation, measured on a local chain and printed beside
its target. Operations whose contracts are not built yet are listed as such, not guessed."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from synthequity.constants import MarketStatus


@dataclass(frozen=True)
class Actors:
    """Funded accounts the bench acts with (a local node's test accounts)."""

    admin: Any
    reporter: Any


@dataclass(frozen=True)
class Target:
    operation: str
    target: int
    floor: str


TARGETS = [
    Target("oracle push_price", 45_000, "~30k"),
    Target("vault deposit", 60_000, "44k"),
    Target("vault mint", 75_000, "47k"),
    Target("vault burn", 60_000, "42k"),
    Target("vault withdraw", 70_000, "47k"),
    Target("vault liquidate", 100_000, "62k"),
    Target("perp deposit margin", 60_000, "44k"),
    Target("perp commit order", 75_000, "~65k"),
    Target("perp execute (open)", 140_000, "~87k"),
    Target("perp liquidate", 110_000, "58k"),
]


def bench_oracle(
    actors: Actors, project: Any, chain: Any, samples: int = 20
) -> dict[str, list[int]]:
    """push_price in steady state (every round rewrites a warm ring slot)."""
    admin, reporter = actors.admin, actors.reporter
    oracle = project.EquityOracle.deploy(admin, 8, "TSLA / USD", 2_500, sender=admin)
    oracle.grantRole(oracle.REPORTER_ROLE(), reporter, sender=admin)
    gas = []
    price = 250 * 10**8
    t = chain.pending_timestamp
    for i in range(samples):
        t += 12  # one push per block
        chain.pending_timestamp = t
        price += (-1) ** i * 10**7
        receipt = oracle.push_price(price, t, MarketStatus.OPEN, sender=reporter)
        gas.append(receipt.gas_used)
    return {"oracle push_price": gas}


BENCHES: list[Callable[..., dict[str, list[int]]]] = [bench_oracle]


def run(actors: Actors, project: Any, chain: Any) -> tuple[Table, list[str]]:
    measured: dict[str, list[int]] = {}
    for bench in BENCHES:
        measured.update(bench(actors, project, chain))
    table = Table(title="receipt gas (21k base included) vs SPEC.md §10")
    for col in ("operation", "median", "max", "target", "floor", "verdict"):
        table.add_column(col, justify="left" if col in ("operation", "verdict") else "right")
    over = []
    for t in TARGETS:
        gas = measured.get(t.operation)
        if not gas:
            table.add_row(t.operation, "-", "-", f"{t.target:,}", t.floor, "[dim]not built yet[/]")
            continue
        worst = max(gas)
        ok = worst <= t.target
        if not ok:
            over.append(t.operation)
        table.add_row(
            t.operation,
            f"{int(statistics.median(gas)):,}",
            f"{worst:,}",
            f"{t.target:,}",
            t.floor,
            "[green]within[/]" if ok else "[red]above[/]",
        )
    return table, over
