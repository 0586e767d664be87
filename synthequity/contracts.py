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


def base_price_wad(oracle: Any) -> int:
    """One *base* share's price in 1e18 USD: the feed's quote x its shares multiplier. Every
    position, debt and order is kept in base shares, so a split (SPEC.md §6) changes the
    quote and the multiplier, never this (docs/design/corporate-actions.md)."""
    _, answer, _, _, _ = oracle.latestRoundData()
    scale = 10 ** (18 - int(oracle.decimals()))
    return int(answer) * scale * int(oracle.shares_multiplier())
