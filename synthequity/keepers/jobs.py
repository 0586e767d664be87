"""Decisions every liquidation keeper shares, as pure functions over plain data: which accounts
exist (rebuilt from logs, paged over block ranges), how to batch them for the contracts' views,
and whether a job pays for its gas."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

# ---- account discovery -------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """`--shard i/N`: this process keeps the accounts whose address hashes to `i` mod `N`
    (sha256 of the 20 address bytes: the same split in every process, whatever the case of
    the address or the order the logs came in). `0/1`, the default, keeps every account."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: want 0 <= i < N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            i, n = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"shard {text!r}: want i/N, e.g. 0/2") from None
        return cls(i, n)

    def owns(self, account: str) -> bool:
        if self.count == 1:
            return True
        digest = hashlib.sha256(bytes.fromhex(account.lower().removeprefix("0x"))).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True, order=True)
class LogRef:
    """Where a log sits in the chain: logs are applied in (block, tx, log) order."""

    block: int
    tx_index: int
    log_index: int


@dataclass
class AccountIndex:
    """Every account a contract has seen, rebuilt from the logs that any position needs first
    (`MarginDeposited` for the perp market, `Deposit` for the vault), paged over block ranges.
    `next_block` is where the next page starts; a local file may cache it, the chain is the
    truth. With a `shard`, only the accounts it owns are kept."""

    start_block: int
    next_block: int = -1
    accounts: dict[str, LogRef] = field(default_factory=dict)  # first seen
    shard: Shard = field(default_factory=Shard)

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
            if account not in self.accounts and self.shard.owns(account):
                self.accounts[account] = ref
                new += 1
        self.next_block = max(self.next_block, through_block + 1)
        return new

    def ordered(self) -> list[str]:
        return [a for a, _ in sorted(self.accounts.items(), key=lambda kv: kv[1])]


# ---- gas ---------------------------------------------------------------------------------


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


def chunks(items: list[T], size: int) -> list[list[T]]:
    """Batches for the contracts' batch views (at most 500 accounts per call) and for the
    jobs sent per round trip."""
    return [items[i : i + size] for i in range(0, len(items), size)]
