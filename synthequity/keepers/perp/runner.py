"""The perp keeper's thin I/O shell: index accounts from events, read the market in batches,
ask `logic` what to do, simulate, send, count.

One `tick()` per new block: page the new logs into the account index, execute or cancel the
orders a newer price made due, then check every tracked account through the batch view
`liquidatable(accounts)` (500 per call) and liquidate the flagged ones riskiest first — each
simulated before it is sent, skipped when its reward does not pay for its gas, and counted as
a race (not an error) when another keeper got there first."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from synthequity.keepers.common import Metrics, StopFlag, with_retries
from synthequity.keepers.perp.logic import (
    AccountIndex,
    GasQuote,
    LiquidationJob,
    LogRef,
    OrderJob,
    PendingOrder,
    chunks,
    liquidation_jobs,
    order_jobs,
    worth_it,
)
from synthequity.logs import event
from synthequity.model import perp as m

log = logging.getLogger("synthequity.keeper.perp")
BATCH = 500  # the contracts' batch views take at most 500 accounts
RACED = ("not liquidatable", "no order")  # someone else did the job first


class Raced(Exception):
    """The simulation says the job is already done."""


class MarketIO(Protocol):
    """What the keeper needs from a chain."""

    def head(self) -> int: ...
    def now(self) -> int: ...
    def margin_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]: ...
    def order_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]: ...
    def pending(self, account: str) -> PendingOrder: ...
    def price(self) -> tuple[int, int, bool]: ...  # (price wad, updated_at, usable)
    def flags(self, accounts: list[str]) -> list[bool]: ...
    def positions(self, accounts: list[str]) -> dict[str, m.Position]: ...
    def index_now(self, price: int) -> int: ...
    def params(self) -> tuple[m.PerpParams, int]: ...  # math, order max age
    def simulate(self, fn: str, account: str) -> int: ...  # gas, or raises Raced
    def send(self, fn: str, account: str, gas: int) -> Any: ...
    def quote(self, gas: int) -> GasQuote: ...
    def reconnect(self) -> None: ...


@dataclass
class KeeperConfig:
    orders: bool = True
    liquidations: bool = True
    dry_run: bool = False
    page_size: int = 2_000  # blocks per eth_getLogs
    min_profit_usd: int = 0  # USD wad over gas
    max_fee_gwei: float | None = None  # refuse to send above this fee per gas
    rpc_attempts: int = 6


@dataclass
class PerpKeeper:
    io: MarketIO
    index: AccountIndex
    config: KeeperConfig = field(default_factory=KeeperConfig)
    stop: StopFlag = field(default_factory=StopFlag)
    metrics: Metrics = field(default_factory=Metrics)
    committed: set[str] = field(default_factory=set)  # accounts with an order seen committed
    last_head: int = -1
    checked_s: float = 0.0

    def _rpc(self, fn: Any, what: str) -> Any:
        return with_retries(
            fn,
            what=what,
            attempts=self.config.rpc_attempts,
            on_retry=self.io.reconnect,
            stop=self.stop,
        )

    # ---- one block ------------------------------------------------------------------------
    def tick(self) -> None:
        head = self._rpc(self.io.head, "head")
        if head == self.last_head:
            return
        self._sync(head)
        self.last_head = head
        if self.config.orders:
            self._orders()
        if self.config.liquidations:
            self._liquidations()

    def _sync(self, head: int) -> None:
        for lo, hi in self.index.pages(head, self.config.page_size):
            margin = self._rpc(lambda lo=lo, hi=hi: self.io.margin_logs(lo, hi), "logs")
            orders = self._rpc(lambda lo=lo, hi=hi: self.io.order_logs(lo, hi), "logs")
            new = self.index.apply(margin, hi)
            self.committed |= {account for _, account in orders}
            if new:
                event(log, "accounts indexed", new=new, tracked=len(self.index.accounts), block=hi)
        self.metrics["accounts tracked"] = len(self.index.accounts)

    def _orders(self) -> None:
        if not self.committed:
            return
        _, updated_at, usable = self._rpc(self.io.price, "price")
        _, max_age = self.io.params()
        pending = [self._rpc(lambda a=a: self.io.pending(a), "order") for a in self.committed]
        live = [o for o in pending if o.committed_at]
        self.committed = {o.account for o in live}
        for job in order_jobs(live, updated_at, usable, self.io.now(), max_age):
            self._run(job.action + "_order", job.account, job.keeper_fee, job)

    def _liquidations(self) -> None:
        accounts = self.index.ordered()
        if not accounts:
            return
        t0 = time.perf_counter()
        flagged: list[str] = []
        for batch in chunks(accounts, BATCH):
            flags = self._rpc(lambda b=batch: self.io.flags(b), "liquidatable")
            flagged += [a for a, f in zip(batch, flags, strict=True) if f]
        elapsed = time.perf_counter() - t0
        self.checked_s += elapsed
        self.metrics["accounts checked"] += len(accounts)
        event(
            log,
            "health checked",
            accounts=len(accounts),
            flagged=len(flagged),
            accounts_per_s=round(len(accounts) / max(elapsed, 1e-9)),
        )
        if not flagged:
            return
        price, _, _ = self._rpc(self.io.price, "price")
        params, _ = self.io.params()
        positions = self._rpc(lambda: self.io.positions(flagged), "positions")
        for job in liquidation_jobs(positions, price, self.io.index_now(price), params):
            self._run("liquidate", job.account, job.reward, job)

    def _run(self, fn: str, account: str, reward: int, job: OrderJob | LiquidationJob) -> None:
        try:
            gas = self._rpc(lambda: self.io.simulate(fn, account), "simulate")
        except Raced as exc:
            self.metrics["raced"] += 1
            event(log, "raced", fn=fn, account=account, reason=str(exc))
            return
        quote = self._rpc(lambda: self.io.quote(gas), "gas price")
        if not worth_it(reward, quote, self.config.min_profit_usd):
            self.metrics["skipped unprofitable"] += 1
            event(
                log,
                "skipped: unprofitable",
                fn=fn,
                account=account,
                reward_usd=reward / 1e18,
                gas_usd=quote.cost_usd() / 1e18,
            )
            return
        cap = self.config.max_fee_gwei
        if cap is not None and quote.fee_per_gas_wei > cap * 1e9:
            self.metrics["skipped gas cap"] += 1
            event(
                log,
                "skipped: gas above cap",
                fn=fn,
                account=account,
                fee_gwei=quote.fee_per_gas_wei / 1e9,
            )
            return
        if self.config.dry_run:
            self.metrics["would send"] += 1
            event(log, "dry run: would send", fn=fn, account=account, job=str(job))
            return
        self.metrics["jobs sent"] += 1
        try:
            receipt = self.io.send(fn, account, gas)
        except Raced as exc:  # mined after someone else's: the job is done all the same
            self.metrics["raced"] += 1
            event(log, "raced", fn=fn, account=account, reason=str(exc))
            return
        self.metrics["jobs succeeded"] += 1
        profit = reward - quote.cost_usd()
        self.metrics["profit usd (1e-6)"] += profit // 10**12
        event(
            log,
            "job done",
            fn=fn,
            account=account,
            block=getattr(receipt, "block_number", None),
            profit_usd=profit / 1e18,
        )

    # ---- the loop -----------------------------------------------------------------------------
    def run(self, poll_s: float = 0.5, max_ticks: int | None = None) -> Metrics:
        ticks = 0
        while not self.stop.stopped and (max_ticks is None or ticks < max_ticks):
            try:
                self.tick()
            except Exception as exc:  # a job failed for a reason we did not foresee: log, go on
                self.metrics["errors"] += 1
                event(log, "tick failed", logging.ERROR, error=f"{type(exc).__name__}: {exc}")
                self._rpc(self.io.reconnect, "reconnect")
            ticks += 1
            if self.stop.sleep(poll_s):
                break
        event(log, "keeper stopped", **self.metrics.as_fields())
        return self.metrics


class ApeMarketIO:
    """`MarketIO` over Ape contract instances and a signing account."""

    def __init__(self, market: Any, account: Any, native_usd: int = 3_000 * 10**18):
        from ape import chain, project

        self.market, self.account, self.chain = market, account, chain
        self.native_usd = native_usd
        self.oracle = project.EquityOracle.at(market.oracle())
        self._params: tuple[m.PerpParams, int] | None = None

    def head(self) -> int:
        return int(self.chain.blocks.head.number)

    def now(self) -> int:
        return int(self.chain.blocks.head.timestamp)

    def _logs(self, ev: Any, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return [
            (LogRef(lg.block_number, lg.transaction_index or 0, lg.log_index), str(lg.account))
            for lg in ev.range(lo, hi + 1)
        ]

    def margin_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return self._logs(self.market.MarginDeposited, lo, hi)

    def order_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return self._logs(self.market.OrderCommitted, lo, hi)

    def pending(self, account: str) -> PendingOrder:
        o = self.market.pending_order(account)
        return PendingOrder(account, o.size_delta, o.committed_at, o.keeper_fee)

    def price(self) -> tuple[int, int, bool]:
        _, answer, _, updated_at, _ = self.oracle.latestRoundData()
        scale = 10 ** (18 - self.oracle.decimals())
        return answer * scale, updated_at, bool(self.market.lp_open())

    def flags(self, accounts: list[str]) -> list[bool]:
        return list(self.market.liquidatable(accounts))

    def positions(self, accounts: list[str]) -> dict[str, m.Position]:
        out = {}
        for a in accounts:
            p = self.market.position(a)
            out[a] = m.Position(p.size, p.entry_price, p.margin, p.funding_entry)
        return out

    def index_now(self, price: int) -> int:
        rate, index, updated = self.market.funding_state()
        params, _ = self.params()
        state = m.accrue_funding(
            m.FundingState(rate, index, updated), self.market.skew(), price, self.now(), params
        )
        return state.index

    def params(self) -> tuple[m.PerpParams, int]:
        if self._params is None:
            p = self.market.params()
            self._params = (m.PerpParams(*p[0]), p[1])
        return self._params

    def simulate(self, fn: str, account: str) -> int:
        from ape.exceptions import ContractLogicError

        try:
            return int(getattr(self.market, fn).estimate_gas_cost(account, sender=self.account))
        except ContractLogicError as exc:
            if any(r in (exc.revert_message or "") for r in RACED):
                raise Raced(exc.revert_message) from None
            raise

    def send(self, fn: str, account: str, gas: int) -> Any:
        from ape.exceptions import ContractLogicError

        try:  # the nonce is read from the chain for every transaction (Ape's default)
            return getattr(self.market, fn)(account, sender=self.account, gas=gas * 13 // 10)
        except ContractLogicError as exc:
            if any(r in (exc.revert_message or "") for r in RACED):
                raise Raced(exc.revert_message) from None
            raise

    def quote(self, gas: int) -> GasQuote:
        block = self.chain.blocks.head
        base = int(getattr(block, "base_fee", 0) or 0)
        tip = int(self.chain.provider.priority_fee)
        return GasQuote(gas, base + tip, self.native_usd)

    def reconnect(self) -> None:
        provider = self.chain.provider
        provider.disconnect()
        provider.connect()
