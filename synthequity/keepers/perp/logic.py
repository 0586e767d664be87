"""Keeper decisions for the perp market as pure functions over plain data (no chain):
which orders to execute or cancel, which accounts to liquidate first, and whether a job pays
for its gas. The runner feeds them what it read and sends what they return."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from synthequity.model import perp as m

WAD = m.WAD


# ---- orders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingOrder:
    account: str
    size_delta: int
    committed_at: int
    keeper_fee: int  # USD wad, paid to whoever executes or cancels


@dataclass(frozen=True)
class OrderJob:
    account: str
    action: str  # "execute" | "cancel"
    keeper_fee: int


def order_jobs(
    orders: Iterable[PendingOrder],
    price_updated_at: int,
    price_usable: bool,
    now: int,
    max_age: int,
) -> list[OrderJob]:
    """An order is executed once a usable price newer than its commit has landed within
    `max_age`; cancelled once it expired (both pay the escrowed fee); otherwise it waits.
    Oldest first."""
    jobs = []
    for o in sorted(orders, key=lambda o: (o.committed_at, o.account)):
        if o.committed_at == 0:
            continue
        expired_price = price_updated_at > o.committed_at + max_age
        if now > o.committed_at + max_age and (expired_price or not price_usable):
            jobs.append(OrderJob(o.account, "cancel", o.keeper_fee))
        elif price_usable and price_updated_at > o.committed_at:
            # a fill past max_age is a cancellation by execute_order: same call, same fee
            jobs.append(OrderJob(o.account, "execute", o.keeper_fee))
    return jobs


# ---- liquidations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiquidationJob:
    account: str
    health: int  # equity / (maintenance requirement + reward), wad: < 1 is liquidatable
    reward: int  # USD wad
    size: int  # shares to be closed


def liquidation_jobs(
    positions: dict[str, m.Position], price: int, index: int, p: m.PerpParams
) -> list[LiquidationJob]:
    """Every liquidatable position, riskiest (lowest health) first."""
    jobs = []
    for account, pos in positions.items():
        if not m.is_liquidatable(pos, price, index, p):
            continue
        threshold = m.requirement(pos.size, price, p.maintenance_margin_bps) + m.keeper_reward(
            pos.size, price, p
        )
        health = m.equity(pos, price, index) * WAD // max(threshold, 1)
        jobs.append(
            LiquidationJob(
                account,
                health,
                m.keeper_reward(pos.size, price, p),
                m.liquidation_size(pos, price, index, p),
            )
        )
    return sorted(jobs, key=lambda j: (j.health, j.account))
