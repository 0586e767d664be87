"""Keeper decisions for the perp market as pure functions over plain data (no chain):
which orders to execute (their fill round exists) or cancel (their window is over), which
accounts to liquidate first, and whether a job pays for its gas. The runner feeds them what
it read and sends what they return."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from synthequity.model import orders as om
from synthequity.model import perp as m

WAD = m.WAD


# ---- orders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingOrder:
    account: str
    size_delta: int
    committed_at: int
    keeper_fee: int  # USD wad, paid to whoever executes or cancels
    round_id: int = 0  # the oracle's latest round at the commit: the fill is a later one


@dataclass(frozen=True)
class OrderJob:
    account: str
    action: str  # "execute" | "cancel"
    keeper_fee: int


def order_jobs(
    orders: Iterable[PendingOrder],
    rounds: Mapping[int, m.OracleReading],
    latest_round: int,
    now: int,
    max_age: int,
) -> list[OrderJob]:
    """Within its window (`max_age` seconds after the commit) an order is executed once its
    fill round exists (`model.perp.fill_round`: a usable round observed after the commit; the
    fill price is that round's, whenever the transaction lands); once the window is over it
    can only be cancelled. Both pay the escrowed fee; otherwise the order waits. `now` is the
    head's time: the transaction lands in a later block, so an order whose window ends at
    `now` is already cancelled, not executed. `rounds` holds the oracle's rounds after the
    orders' commit rounds (`rounds_wanted`). Oldest first."""
    jobs = []
    for o in sorted(orders, key=lambda o: (o.committed_at, o.account)):
        if o.committed_at == 0:
            continue
        if now >= o.committed_at + max_age:
            jobs.append(OrderJob(o.account, "cancel", o.keeper_fee))
            continue
        try:
            m.fill_round(rounds, latest_round, o.round_id, o.committed_at)
        except m.PerpRevert:
            continue  # no usable round after the commit yet
        jobs.append(OrderJob(o.account, "execute", o.keeper_fee))
    return jobs


def rounds_wanted(orders: Iterable[PendingOrder], latest_round: int) -> range:
    """The round ids `order_jobs` reads for `orders`: those after the oldest commit round, up
    to the scan's reach past the newest and never past the latest round nor older than the
    oracle keeps."""
    ids = [o.round_id for o in orders if o.committed_at]
    if not ids:
        return range(0)
    lo = max(min(ids) + 1, latest_round - m.HISTORY_ROUNDS + 1)
    return range(lo, min(max(ids) + m.FILL_SCAN_ROUNDS, latest_round) + 1)


# ---- conditional orders (PerpOrders) ---------------------------------------------------


@dataclass(frozen=True)
class BookedOrder:
    account: str
    oid: int
    order: om.ConditionalOrder


@dataclass(frozen=True)
class ConditionalJob:
    account: str
    oid: int
    round_id: int  # the fill round: `PerpOrders.execute(account, oid, round_id)`
    action: str  # "execute" | "rearm" (a fill round whose window passed: unpaid)
    keeper_fee: int  # USD wad, paid for "execute"; 0 for "rearm"


def conditional_jobs(
    orders: Iterable[BookedOrder],
    rounds: Mapping[int, m.OracleReading],
    latest_round: int,
    now: int,
    window: int,
    pending: frozenset[str] | set[str] = frozenset(),
) -> list[ConditionalJob]:
    """Every live order whose fill round is in its window at the next block (`now + 1`) is
    executed on that round (`model.orders.fill_round`: the same round whoever executes); one
    whose first crossing's window has passed is re-armed (an unpaid service: the trader's
    order waits for the next crossing). Expired orders are left to their owners (their fee
    goes back to them, not to an executor). An account with a market order pending waits for
    it (the book refuses: "perp: order pending"). Oldest placement first. `rounds` holds the
    rounds after the orders' placement rounds (`conditional_rounds_wanted`)."""
    jobs = []
    at = now + 1
    for b in sorted(orders, key=lambda b: (b.order.placed_at, b.account, b.oid)):
        o = b.order
        if o.kind == 0 or at > o.expiry or b.account in pending:
            continue
        try:
            rid = om.fill_round(o, rounds, latest_round, at, window)
            if rid:
                jobs.append(ConditionalJob(b.account, b.oid, rid, "execute", o.keeper_fee))
                continue
            first = om.first_crossing(o, rounds, latest_round)
        except (KeyError, m.PerpRevert):
            continue  # a round not read (evicted): its owner cancels it
        if first and not om.in_window(rounds[first], at, window):
            jobs.append(ConditionalJob(b.account, b.oid, first, "rearm", 0))
    return jobs


def conditional_rounds_wanted(orders: Iterable[BookedOrder], latest_round: int) -> range:
    """The round ids `conditional_jobs` reads: from the oldest placement round on, never
    older than the oracle keeps."""
    ids = [b.order.placed_round for b in orders if b.order.kind]
    if not ids:
        return range(0)
    lo = max(min(ids) + 1, latest_round - m.HISTORY_ROUNDS + 1, 1)
    return range(lo, latest_round + 1)


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
