"""Contract instances by address, typed as we say.

Ape's `ContractContainer.at(address)` prefers the type it has cached for `address` over the one
asked for. On a local chain that is wrong after a revert: a test (or the demo) that reverted
the chain reuses addresses, and a factory-created contract at a reused address would come back
typed as whatever lived there before (a `SynthVault` answering with a `PerpMarket`'s ABI).
`at` replaces the cached type instead."""

from __future__ import annotations

from typing import Any


def at(container: Any, address: Any) -> Any:
    """`container`'s contract at `address` (an Ape `ContractContainer`)."""
    from ape import chain

    return chain.contracts.instance_at(
        address, contract_type=container.contract_type, replace=True, fetch_from_explorer=False
    )
