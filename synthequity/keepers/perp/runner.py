"""The perp keeper: one `tick()` per new block pages the new logs into the account index,
executes or cancels the orders a newer price made due, then checks every tracked account
through the batch view `liquidatable(accounts)` (500 per call) and liquidates the flagged ones
riskiest first — all the block's jobs sent back to back, so they can share the next block.
Simulation, profitability, races and retries live in the shared loop (`keepers.shell`); the
JSON-RPC transport in `keepers.transport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from synthequity.contracts import at, base_price_wad, flat
from synthequity.keepers.jobs import LogRef
from synthequity.keepers.perp.logic import (
    PendingOrder,
    liquidation_jobs,
    order_jobs,
    rounds_wanted,
)
from synthequity.keepers.shell import ChainIO, ChainKeeper, Job
from synthequity.keepers.transport import ApeChainIO
from synthequity.model import perp as m


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


@dataclass
class PerpKeeper(ChainKeeper):
    io: MarketIO
    name: str = "perp"
    committed: set[str] = field(default_factory=set)  # accounts with an order seen committed

    def on_page(self, lo: int, hi: int) -> None:
        orders = self._rpc(lambda: self.io.order_logs(lo, hi), "logs")
        self.committed |= {a for _, a in orders if self.index.shard.owns(a)}

    def work(self) -> None:
        if self.config.orders:
            self._orders()
        if self.config.liquidations:
            self._liquidations()

    def _orders(self) -> None:
        if not self.committed:
            return
        _, max_age = self._rpc(self.io.params, "params")
        pending = self._rpc(lambda: self.io.pending(sorted(self.committed)), "orders")
        live = [o for o in pending if o.committed_at]
        self.committed = {o.account for o in live}
        latest = self._rpc(self.io.latest_round, "rounds")
        rounds = self._rpc(lambda: self.io.rounds(rounds_wanted(live, latest)), "rounds")
        now = self._rpc(self.io.now, "head time")
        jobs = order_jobs(live, rounds, latest, now, max_age)
        self.send_jobs([Job(j.action + "_order", (j.account,), j.keeper_fee, j) for j in jobs])

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
    _params: tuple[m.PerpParams, int] | None = None

    if TYPE_CHECKING:  # the I/O's own (declared for the checker, never defined here)

        def call_many(self, fn: str, args: list[tuple[Any, ...]]) -> list[Any]: ...
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

    RACED = ("not liquidatable", "no order")

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

    def rounds(self, ids: range) -> dict[int, m.OracleReading]:
        """Rounds `ids` per base share with the status to act on when each was pushed
        (`getRoundData` and `round_state`, as `oracle_guard._round_of` reads them)."""
        if not ids:
            return {}
        calls = [(self.oracle, "getRoundData", (i,)) for i in ids]
        calls += [(self.oracle, "round_state", (i,)) for i in ids]
        rows = self.read(calls)
        scale = 10 ** (18 - int(self.oracle.decimals()))
        out = {}
        for k, i in enumerate(ids):
            _, answer, _, updated_at, _ = rows[k]
            status, multiplier = rows[len(ids) + k]
            out[i] = m.OracleReading(answer * scale * multiplier, updated_at, status, i)
        return out
