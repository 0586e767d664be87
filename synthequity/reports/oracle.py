"""Per-session summary of an oracle's pushes, from `PricePushed` events (the chain's record,
not the keeper's memory), checked against the replayed file's daily closes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from rich.table import Table

from synthequity.constants import ORACLE_DECIMALS, MarketStatus

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Push:
    round_id: int
    answer: int
    observed_at: int
    status: MarketStatus
    gas_used: int | None = None


class PushLike(Protocol):
    round_id: int | None
    answer: int
    observed_at: int
    status: MarketStatus
    gas_used: int | None


@dataclass
class DaySummary:
    day: dt.date
    pushes: int = 0
    open_prints: int = 0
    first_price: Decimal | None = None
    last_open_price: Decimal | None = None
    closing_price: Decimal | None = None  # the price pushed with the OPEN -> CLOSED change
    statuses: list[str] = field(default_factory=list)
    max_gas: int = 0


def _price(answer: int) -> Decimal:
    return Decimal(answer) / Decimal(10**ORACLE_DECIMALS)


def summarize(pushes: Iterable[PushLike]) -> list[DaySummary]:
    """Group pushes (in the order given) by New York calendar day."""
    days: dict[dt.date, DaySummary] = {}
    prev_status: MarketStatus | None = None
    for p in pushes:
        day = dt.datetime.fromtimestamp(p.observed_at, tz=NEW_YORK).date()
        s = days.setdefault(day, DaySummary(day))
        s.pushes += 1
        price = _price(p.answer)
        if s.first_price is None:
            s.first_price = price
        if p.status is MarketStatus.OPEN:
            s.open_prints += 1
            s.last_open_price = price
        if p.status is MarketStatus.CLOSED and prev_status is MarketStatus.OPEN:
            s.closing_price = price
        if p.status != prev_status:
            t = dt.datetime.fromtimestamp(p.observed_at, tz=NEW_YORK).strftime("%H:%M")
            s.statuses.append(f"{p.status.name}@{t}")
            prev_status = p.status
        s.max_gas = max(s.max_gas, p.gas_used or 0)
    return list(days.values())


def summary_table(
    days: list[DaySummary],
    closes: dict[dt.date, Decimal] | None = None,
    title: str = "oracle pushes",
) -> Table:
    table = Table(title=title)
    for col in (
        "day (NY)",
        "pushes",
        "OPEN prints",
        "first",
        "last OPEN",
        "pushed close",
        "file close",
        "status changes",
        "max gas",
    ):
        table.add_column(col, justify="left" if col in ("day (NY)", "status changes") else "right")
    for s in days:
        close = (closes or {}).get(s.day)
        mark = ""
        if close is not None and s.closing_price is not None:
            mark = " [green]=[/]" if close == s.closing_price else " [red]≠[/]"
        table.add_row(
            s.day.strftime("%a %Y-%m-%d"),
            str(s.pushes),
            str(s.open_prints),
            _fmt(s.first_price),
            _fmt(s.last_open_price),
            _fmt(s.closing_price) + mark,
            _fmt(close),
            " ".join(s.statuses),
            f"{s.max_gas:,}" if s.max_gas else "-",
        )
    return table


def _fmt(x: Decimal | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def closes_mismatched(days: list[DaySummary], closes: dict[dt.date, Decimal]) -> list[dt.date]:
    """Days whose pushed close differs from the file's close (should be none)."""
    return [
        s.day
        for s in days
        if s.closing_price is not None and closes.get(s.day) not in (None, s.closing_price)
    ]


def pushes_from_chain(oracle: object, start_block: int = 0) -> list[Push]:
    """Every `PricePushed` of `oracle` since `start_block`, with the receipt's gas."""
    from ape import chain

    out = []
    for ev in oracle.PricePushed.range(start_block, chain.blocks.head.number + 1):  # type: ignore[attr-defined]
        gas = chain.provider.get_receipt(ev.transaction_hash).gas_used
        out.append(Push(ev.round_id, ev.answer, ev.observed_at, MarketStatus(ev.status), gas))
    return out
