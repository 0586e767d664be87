"""The perp keeper: one `tick()` per new block pages the new logs into the account index,
executes or cancels the orders a newer price made due, then checks every tracked account
through the batch view `liquidatable(accounts)` (500 per call) and liquidates the flagged ones
riskiest first — all the block's jobs sent back to back, so they can share the next block.
Simulation, profitability, races and retries live in the shared loop (`keepers.shell`); the
JSON-RPC transport in `keepers.transport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from synthequity.contracts import at, base_price_wad, flat, unwrap
from synthequity.keepers.jobs import LogRef
from synthequity.keepers.perp.logic import (
    BookedOrder,
    PendingOrder,
    conditional_jobs,
    conditional_rounds_wanted,
    liquidation_jobs,
    order_jobs,
    rounds_wanted,
)
from synthequity.keepers.shell import ChainIO, ChainKeeper, Job
from synthequity.keepers.transport import ApeChainIO
from synthequity.model import orders as om
from synthequity.model import perp as m
from synthequity.model.oracle import quote_to_base_wad

# a conditional order's execution: routed to the market's `PerpOrders.execute`
EXECUTE_CONDITIONAL = "execute_conditional"


class MarketIO(ChainIO, Protocol):
    """What the perp keeper reads besides `ChainIO` (`ApeMarketIO` over Ape)."""

    def order_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]: ...
    def pending(self, accounts: list[str]) -> list[PendingOrder]: ...
    def latest_round(self) -> int: ...
    def rounds(self, ids: range) -> dict[int, m.OracleReading]: ...  # as the market reads them
    def price(self) -> tuple[int, int, bool]: ...  # per base share, updated at, LPs open
    def positions(self, accounts: list[str]) -> dict[str, m.Position]: ...
    def index_now(self, price: int, now: int | None = None) -> int: ...
    def params(self) -> tuple[m.PerpParams, int]: ...

    # the conditional-order book (`use_book`), when the deployment has one
    book: Any

    def book_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]: ...
    def booked(self, accounts: list[str]) -> list[BookedOrder]: ...
    def book_window(self) -> int: ...


@dataclass
class PerpKeeper(ChainKeeper):
    io: MarketIO
    name: str = "perp"
    committed: set[str] = field(default_factory=set)  # accounts with an order seen committed
    booked: set[str] = field(default_factory=set)  # accounts with a conditional order placed
    # rounds pushed before the latest seen: final (only the latest can be rewritten, when a
    # suspect round is cleared), so each is read once
    final_rounds: dict[int, m.OracleReading] = field(default_factory=dict)

    def on_page(self, lo: int, hi: int) -> None:
        orders = self._rpc(lambda: self.io.order_logs(lo, hi), "logs")
        self.committed |= {a for _, a in orders if self.index.shard.owns(a)}
        if self.config.orders and self.io.book is not None:
            placed = self._rpc(lambda: self.io.book_logs(lo, hi), "logs")
            self.booked |= {a for _, a in placed if self.index.shard.owns(a)}

    def work(self) -> None:
        if self.config.orders:
            self._orders()
            self._conditional()
        if self.config.liquidations:
            self._liquidations()

    def _conditional(self) -> None:
        """Triggered conditional orders executed on their fill round (races with other
        executors end as "no order" or "not triggered": done by someone else)."""
        if not self.booked or self.io.book is None:
            return
        accounts = sorted(self.booked)
        booked = self._rpc(lambda: self.io.booked(accounts), "orders")
        self.booked = {b.account for b in booked}
        if not booked:
            return
        pending = self._rpc(lambda: self.io.pending(sorted(self.booked)), "orders")
        busy = {o.account for o in pending if o.committed_at}
        latest = self._rpc(self.io.latest_round, "rounds")
        rounds = self._rounds(conditional_rounds_wanted(booked, latest), latest)
        now = self._rpc(self.io.now, "head time")
        window = self._rpc(self.io.book_window, "params")
        jobs = conditional_jobs(booked, rounds, latest, now, window, busy)
        self.send_jobs(
            [
                Job(EXECUTE_CONDITIONAL, (j.account, j.oid, j.round_id), j.keeper_fee, j)
                for j in jobs
            ]
        )

    def _orders(self) -> None:
        if not self.committed:
            return
        _, max_age = self._rpc(self.io.params, "params")
        pending = self._rpc(lambda: self.io.pending(sorted(self.committed)), "orders")
        live = [o for o in pending if o.committed_at]
        self.committed = {o.account for o in live}
        latest = self._rpc(self.io.latest_round, "rounds")
        rounds = self._rounds(rounds_wanted(live, latest), latest)
        now = self._rpc(self.io.now, "head time")
        jobs = order_jobs(live, rounds, latest, now, max_age)
        self.send_jobs([Job(j.action + "_order", (j.account,), j.keeper_fee, j) for j in jobs])

    def _rounds(self, wanted: range, latest: int) -> dict[int, m.OracleReading]:
        """The `wanted` rounds: from the first not known final on, read; the rest from
        `final_rounds` (kept for the oracle's history only)."""
        start = next((i for i in wanted if i not in self.final_rounds), wanted.stop)
        fresh = self._rpc(lambda: self.io.rounds(range(start, wanted.stop)), "rounds")
        self.final_rounds.update((i, r) for i, r in fresh.items() if i < latest)
        for i in [i for i in self.final_rounds if i <= latest - m.HISTORY_ROUNDS]:
            del self.final_rounds[i]
        return {i: fresh[i] if i in fresh else self.final_rounds[i] for i in wanted}

    def _liquidations(self) -> None:
        flagged = self.check()
        if not flagged:
            return
        price, _, _ = self._rpc(self.io.price, "price")
        params, _ = self._rpc(self.io.params, "params")
        positions = self._rpc(lambda: self.io.positions(flagged), "positions")
        index = self._rpc(lambda: self.io.index_now(price), "funding")
        jobs = liquidation_jobs(positions, price, index, params)
        self.send_jobs([Job("liquidate", (j.account,), j.reward, j) for j in jobs])


class MarketReads:
    """The perp keeper's reads every `MarketIO` makes the same way, over `self.market` and
    `self.oracle` (handles that answer views as `handle.fn(*args)`) and its own `call_many`
    and `now` (the Ape shell's and the in-process replay's)."""

    market: Any
    oracle: Any
    book: Any = None  # the market's PerpOrders (`use_book`)
    _params: tuple[m.PerpParams, int] | None = None
    _window: int = 0

    if TYPE_CHECKING:  # the I/O's own (declared for the checker, never defined here)

        def call_many(
            self, fn: str, args: list[tuple[Any, ...]], contract: Any = None
        ) -> list[Any]: ...
        def now(self) -> int: ...

    def pending(self, accounts: list[str]) -> list[PendingOrder]:
        rows = self.call_many("pending_order", [(a,) for a in accounts])
        out = []
        for a, row in zip(accounts, rows, strict=True):
            size_delta, _acceptable, committed_at, keeper_fee, round_id = flat(row)
            out.append(PendingOrder(a, size_delta, committed_at, keeper_fee, round_id))
        return out

    def latest_round(self) -> int:
        return int(self.oracle.latestRound())

    def _target(self, fn: str) -> tuple[Any, str]:
        """`EXECUTE_CONDITIONAL` jobs go to the book's `execute`, the rest to the market (both
        I/Os route through here)."""
        if fn == EXECUTE_CONDITIONAL and self.book is not None:
            return self.book, "execute"
        return self.market, fn

    def use_book(self, book: Any) -> None:
        """Execute `book`'s (the market's `PerpOrders`) triggered orders too."""
        self.book = book

    def booked(self, accounts: list[str]) -> list[BookedOrder]:
        """Every live conditional order of `accounts` (`PerpOrders.orders`)."""
        out = []
        rows = self.call_many("orders", [(a,) for a in accounts], self.book)  # one batch
        for a, row in zip(accounts, rows, strict=True):
            for oid, slot in enumerate(unwrap(row)):  # (Order[8],) -> Order[8]
                o = om.ConditionalOrder(*[int(x) for x in flat(slot)])
                if o.kind:
                    out.append(BookedOrder(a, oid, o))
        return out

    def book_window(self) -> int:
        if not self._window:
            self._window = int(self.book.WINDOW())
        return self._window

    def price(self) -> tuple[int, int, bool]:
        _, _, _, updated_at, _ = self.oracle.latestRoundData()
        # per base share (positions are kept in them; a split changes only the quote)
        return base_price_wad(self.oracle), updated_at, bool(self.market.lp_open())

    def positions(self, accounts: list[str]) -> dict[str, m.Position]:
        rows = self.call_many("position", [(a,) for a in accounts])
        return {a: m.Position(*flat(row)) for a, row in zip(accounts, rows, strict=True)}

    def index_now(self, price: int, now: int | None = None) -> int:
        """The funding index accrued to `now` (default: the head's time) at `price`."""
        rate, index, updated = self.market.funding_state()
        params, _ = self.params()
        at_time = self.now() if now is None else now
        state = m.accrue_funding(
            m.FundingState(rate, index, updated), self.market.skew(), price, at_time, params
        )
        return state.index

    def params(self) -> tuple[m.PerpParams, int]:
        if self._params is None:
            p = self.market.params()
            self._params = (m.PerpParams(*p[0]), p[1])
        return self._params


class ApeMarketIO(MarketReads, ApeChainIO):
    """The perp market's reads over Ape."""

    RACED = ("not liquidatable", "no order", "orders: not triggered")

    def __init__(self, market: Any, account: Any, native_usd: int = 3_000 * 10**18, **rpc: Any):
        from ape import project

        super().__init__(market, account, native_usd, **rpc)
        self.market = market
        self.oracle = at(project.EquityOracle, market.oracle())
        self._params: tuple[m.PerpParams, int] | None = None

    def account_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return self.logs(self.market.MarginDeposited, lo, hi)

    def order_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return self.logs(self.market.OrderCommitted, lo, hi)

    def book_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return self.logs(self.book.OrderPlaced, lo, hi)

    def rounds(self, ids: range) -> dict[int, m.OracleReading]:
        """Rounds `ids` per base share with the status to act on when each was pushed
        (`getRoundData` and `round_state`, as `oracle_guard._round_of` reads them)."""
        if not ids:
            return {}
        calls = [(self.oracle, "getRoundData", (i,)) for i in ids]
        calls += [(self.oracle, "round_state", (i,)) for i in ids]
        rows = self.read(calls)
        decimals = int(self.oracle.decimals())
        out = {}
        for k, i in enumerate(ids):
            _, answer, _, updated_at, _ = rows[k]
            status, multiplier_wad = rows[len(ids) + k]
            price = quote_to_base_wad(answer, decimals, multiplier_wad)
            out[i] = m.OracleReading(price, updated_at, status, i)
        return out
