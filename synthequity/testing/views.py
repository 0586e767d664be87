"""What a user or keeper sees of a book, for the corporate-action tests (a split or a dividend
must move none of it at the reference price): one dict of views and the liquidation flags."""

from __future__ import annotations

from typing import Any


def user_views(vault: Any, market: Any, pool: Any, accounts: tuple) -> tuple[dict, list]:
    """Every number a user or keeper sees, in USD or base shares, for (borrower, long, short,
    LP), and whether each of the borrower, the long and the short is liquidatable."""
    borrower, long_, short, lp = accounts
    out = {
        "vault position": tuple(vault.position(borrower)),
        "vault CR": vault.collateral_ratio(borrower),
        "vault mintable": vault.max_mintable(borrower),
        "long": tuple(market.position(long_)),
        "short": tuple(market.position(short)),
        "long equity": market.equity(long_),
        "short equity": market.equity(short),
        "pending": tuple(market.pending_order(long_)),
        "skew": market.skew(),
        "oi": tuple(market.open_interest()),
        "pool pnl": market.pool_pnl(),
        "pool nav": pool.totalAssets(),
        "lp value": pool.convertToAssets(pool.balanceOf(lp)),
        "required nav": market.required_nav(),
    }
    flags = [vault.is_liquidatable(borrower), *market.liquidatable([long_, short])]
    return out, flags


def close_enough(a: Any, b: Any) -> bool:
    """Equal, or within what seconds of funding and stability fee move (1e-6 relative)."""
    if isinstance(a, tuple):
        return all(close_enough(x, y) for x, y in zip(a, b, strict=True))
    return a == b or abs(a - b) <= max(abs(a), abs(b)) // 1_000_000 + 1
