"""Keeper decisions for the perp market as pure functions over plain data (no chain):
which orders to execute or cancel, which accounts to liquidate first, and whether a job pays
for its gas. The runner feeds them what it read and sends what they return."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from synthequity.model import perp as m

WAD = m.WAD


# ---- account discovery -------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class LogRef:
    """Where a log sits in the chain: logs are applied in (block, tx, log) order."""

    block: int
    tx_index: int
    log_index: int


@dataclass
class AccountIndex:
    """Every trader the market has seen, rebuilt from `MarginDeposited` logs paged over block
    ranges (a position needs margin first, so no trader escapes it). `next_block` is where the
    next page starts; a local file may cache it, the chain is the truth."""

    start_block: int
    next_block: int = -1
    accounts: dict[str, LogRef] = field(default_factory=dict)  # first seen

    def __post_init__(self) -> None:
        if self.next_block < 0:
            self.next_block = self.start_block

    def pages(self, head: int, page_size: int) -> list[tuple[int, int]]:
        """Inclusive block ranges from `next_block` to `head`."""
        return [
            (lo, min(lo + page_size - 1, head))
            for lo in range(self.next_block, head + 1, page_size)
        ]

    def apply(self, logs: Iterable[tuple[LogRef, str]], through_block: int) -> int:
        """Add the accounts of one page's logs (any order: sorted here); returns how many new."""
        new = 0
        for ref, account in sorted(logs):
            if account not in self.accounts:
                self.accounts[account] = ref
                new += 1
        self.next_block = max(self.next_block, through_block + 1)
        return new

    def ordered(self) -> list[str]:
        return [a for a, _ in sorted(self.accounts.items(), key=lambda kv: kv[1])]


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


@dataclass(frozen=True)
class GasQuote:
    gas_units: int  # estimated for the call
    fee_per_gas_wei: int  # base fee + priority fee the keeper will pay
    native_usd: int  # price of the gas token, USD wad

    def cost_usd(self) -> int:
        return self.gas_units * self.fee_per_gas_wei * self.native_usd // 10**18


def worth_it(reward_usd: int, quote: GasQuote, min_profit_usd: int = 0) -> bool:
    """A job is sent when its reward covers its gas at the current fee, plus a margin."""
    return reward_usd - quote.cost_usd() >= min_profit_usd


def chunks(items: list[str], size: int) -> list[list[str]]:
    """Batches for the contracts' batch views (at most 500 accounts per call)."""
    return [items[i : i + size] for i in range(0, len(items), size)]
