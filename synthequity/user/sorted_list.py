"""The vault's sorted list as a client reads it (issue 19): every listed position, riskiest
first, with its sort key, collateral and accrued debt — what the hint helpers of
`synthequity.model.vault` (`plan_redemption`, `insert_hint`, `prev_hint`) take. Chain I/O
only: pages of `sorted_positions` (500 a call), then the positions and keys in JSON-RPC
batches."""

from __future__ import annotations

from typing import Any

from synthequity.contracts import read_many
from synthequity.model.vault import ZERO, ListEntry, relist_hints

PAGE = 500  # the most `sorted_positions` returns in one call


def sorted_accounts(vault: Any) -> list[str]:
    """Every listed position, riskiest first."""
    out: list[str] = []
    start = ZERO
    while True:
        page = [str(a) for a in vault.sorted_positions(start, PAGE)]
        out += page
        if len(page) < PAGE:
            return out
        start = page[-1]


def sorted_entries(vault: Any) -> list[ListEntry]:
    """The list in order, each node with its key, collateral units and debt accrued to now."""
    accounts = sorted_accounts(vault)
    rows = read_many(
        [(vault, "sorted_node", (a,)) for a in accounts]
        + [(vault, "position", (a,)) for a in accounts]
    )
    nodes, positions = rows[: len(accounts)], rows[len(accounts) :]
    return [
        ListEntry(a, int(node[1]), int(pos[0]), int(pos[1]))
        for a, node, pos in zip(accounts, nodes, positions, strict=True)
    ]


def hints_for(
    vault: Any, account: str, collateral: int, debt: int, usd_per_unit: int
) -> tuple[str, str]:
    """`relist_hints` for a call leaving `account` at `collateral` units and `debt` (accrued,
    with the call's mint or burn), from the list as it is now."""
    return relist_hints(
        sorted_entries(vault), account, collateral, debt, int(vault.rate_index()), usd_per_unit
    )
