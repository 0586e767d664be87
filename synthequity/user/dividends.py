"""The dividends an account received and paid (docs/design/corporate-actions.md), from the
oracle's `DividendApplied` events and the account's holdings in the block before each: its
synth balance and perp longs receive, its vault debt and perp shorts pay, `amount x the
multiplier before` per base share (`synthequity.model.oracle.dividends_received_wad`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from synthequity.model.oracle import dividend_per_base_share_wad, dividends_received_wad


@dataclass(frozen=True)
class DividendHistory:
    ex_dates: int  # dividends applied since the market launched
    received_wad: int  # USD, 1e18
    paid_wad: int


def dividend_history(
    oracle: Any,
    account: Any,
    *,
    synth: Any = None,
    vault: Any = None,
    market: Any = None,
    from_block: int = 0,
) -> DividendHistory:
    """What `account` received and paid through every dividend the oracle applied, from its
    holdings in the block before each (Ape contracts; any of `synth`, `vault`, `market`);
    the oracle's logs are read from `from_block` (its deployment's, from the record: a
    public RPC refuses a scan from genesis)."""
    from ape import chain

    decimals = int(oracle.decimals())
    held: list[tuple[int, int, int]] = []
    per_share: list[int] = []
    for log in oracle.DividendApplied.range(from_block, chain.blocks.height + 1):
        before = int(log.block_number) - 1
        mult = int(oracle.round_multiplier_wad(int(log.round_id) - 1, block_id=before))
        per_share.append(dividend_per_base_share_wad(int(log.amount), decimals, mult))
        coin = int(synth.balanceOf(account, block_id=before)) if synth is not None else 0
        debt = int(vault.position(account, block_id=before)[1]) if vault is not None else 0
        size = int(market.position(account, block_id=before).size) if market is not None else 0
        held.append((coin, debt, size))
    received, paid = dividends_received_wad(held, per_share)
    return DividendHistory(len(per_share), received, paid)
