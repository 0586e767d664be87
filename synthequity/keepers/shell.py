"""The loop every liquidation keeper shares: index accounts from logs, check them in batches
through the contract's batch view, and run each job the pure logic returns — simulated
first, counted as a race (not an error) when another keeper got there first, skipped when it
does not pay for its gas or the fee is above the operator's cap — with the bookkeeping
(jobs, decisions, counters) that goes with it.

A subclass says what one block's work is (`work`); `run_keepers` drives one or several keepers
over the same chain, one tick per new block, until SIGINT/SIGTERM. What the loop needs from a
chain is the `ChainIO` protocol; `keepers.transport.ApeChainIO` is that over Ape and JSON-RPC
batches, and tests can put anything else behind it."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from synthequity.keepers.common import Metrics, StopFlag, with_retries
from synthequity.keepers.jobs import AccountIndex, GasQuote, LogRef, chunks, worth_it
from synthequity.logs import event

BATCH = 500  # the contracts' batch views take at most 500 accounts
SEND_CHUNK = 100  # jobs simulated, then sent, per round trip: the riskiest land first

Call = tuple[str, tuple[Any, ...]]  # a contract function and its arguments


class Raced(Exception):
    """The simulation (or the receipt) says the job is already done by someone else."""


class Reverted(Exception):
    """The simulation reverts for another reason: the job is not sent."""


@dataclass(frozen=True)
class Landed:
    block_number: int
    tx_hash: str


class ChainIO(Protocol):
    """What every keeper needs from a chain (`keepers.transport.ApeChainIO` over Ape)."""

    contract: Any  # the contract the jobs call (for the operator's summary)

    def head(self) -> int: ...
    def now(self) -> int: ...
    def account_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]: ...
    def flags(self, accounts: list[str]) -> list[bool]: ...
    # per call: its gas, or a Raced / Reverted instance (one round trip for the lot)
    def simulate_many(self, calls: list[Call]) -> list[int | Exception]: ...
    def start_batch(self) -> None: ...  # nonce from the chain's pending count
    # signed and sent without waiting: a handle per call, or the error that stopped it
    def send_many(self, calls: list[Call], gas: list[int]) -> list[Any]: ...
    def outcomes(self, calls: list[Call], handles: list[Any]) -> list[Any]: ...  # Landed|error
    def quote(self, gas: int) -> GasQuote: ...
    def reconnect(self) -> None: ...


@dataclass(frozen=True)
class Job:
    fn: str  # the contract function: liquidate, execute_order, cancel_order
    args: tuple[Any, ...]  # the account first
    reward_usd: int  # what the job pays the keeper, USD wad
    detail: object = None  # the logic's job, for the logs

    @property
    def account(self) -> str:
        return str(self.args[0])


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
class ChainKeeper:
    io: ChainIO  # a subclass narrows it to its own reads (perp: MarketIO, vault: VaultIO)
    index: AccountIndex
    config: KeeperConfig = field(default_factory=KeeperConfig)
    stop: StopFlag = field(default_factory=StopFlag)
    metrics: Metrics = field(default_factory=Metrics)
    name: str = "keeper"
    last_head: int = -1
    checked_s: float = 0.0  # wall time spent in batch health checks
    last_flagged: list[str] = field(default_factory=list)  # the last check's answer

    def __post_init__(self) -> None:
        share = getattr(self.io, "share_metrics", None)  # the transport counts into ours
        if share is not None:
            share(self.metrics)

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"synthequity.keeper.{self.name}")

    def _rpc(self, fn: Any, what: str) -> Any:
        return with_retries(
            fn,
            what=what,
            attempts=self.config.rpc_attempts,
            on_retry=self._reconnect,
            stop=self.stop,
        )

    def _reconnect(self) -> None:
        self.metrics["rpc retries"] += 1  # (the transport counts its own, "rpc errors")
        self.io.reconnect()

    # ---- one block ------------------------------------------------------------------------
    def tick(self) -> None:
        head = self._rpc(self.io.head, "head")
        self.metrics.gauges["last tick"] = time.time()
        if head == self.last_head:
            return
        self.metrics.gauges["last block"] = head
        self.metrics.gauges["last block time"] = self._rpc(self.io.now, "head time")
        self._sync(head)
        self.work()
        self.last_head = head  # only once the block's work is done: a failed tick is redone

    def work(self) -> None:  # pragma: no cover - every keeper says what its block's work is
        raise NotImplementedError

    def on_page(self, lo: int, hi: int) -> None:
        """Extra logs a keeper reads per page (the perp's committed orders)."""

    def _sync(self, head: int) -> None:
        for lo, hi in self.index.pages(head, self.config.page_size):
            logs = self._rpc(lambda lo=lo, hi=hi: self.io.account_logs(lo, hi), "logs")
            self.on_page(lo, hi)
            new = self.index.apply(logs, hi)
            if new:
                event(
                    self.log,
                    "accounts indexed",
                    new=new,
                    tracked=len(self.index.accounts),
                    block=hi,
                )
        self.metrics["accounts tracked"] = len(self.index.accounts)

    def check(self) -> list[str]:
        """Every tracked account through the batch view, 500 per call; the flagged ones."""
        accounts = self.index.ordered()
        if not accounts:
            return []
        t0 = time.perf_counter()
        flagged: list[str] = []
        for batch in chunks(accounts, BATCH):
            flags = self._rpc(lambda b=batch: self.io.flags(b), "liquidatable")
            flagged += [a for a, f in zip(batch, flags, strict=True) if f]
        elapsed = time.perf_counter() - t0
        self.checked_s += elapsed
        self.last_flagged = flagged
        self.metrics["accounts checked"] += len(accounts)
        event(
            self.log,
            "health checked",
            accounts=len(accounts),
            flagged=len(flagged),
            seconds=round(elapsed, 4),
            accounts_per_s=round(len(accounts) / max(elapsed, 1e-9)),
        )
        return flagged

    def checks_per_s(self) -> int:
        return round(self.metrics["accounts checked"] / max(self.checked_s, 1e-9))

    def send_jobs(self, jobs: list[Job]) -> int:
        """The jobs in order (riskiest first), SEND_CHUNK at a time: simulated in one JSON-RPC
        batch, priced, the ones worth it signed and sent in one batch without waiting (nonces
        counted up from the chain's pending count, read afresh for every block's jobs), so the
        first chunk lands while the next is simulated; then every receipt is collected. The fee
        is read once per block. Returns how many landed."""
        if not jobs:
            return 0
        self.metrics["jobs found"] += len(jobs)
        self.io.start_batch()
        fee = self._rpc(lambda: self.io.quote(0), "gas price")  # this block's fee per gas
        in_flight: list[tuple[Job, GasQuote, Any]] = []
        for part in chunks(jobs, SEND_CHUNK):
            ready = self._simulated(part, fee)
            if not ready:
                continue
            handles = self.io.send_many(
                [(j.fn, j.args) for j, _ in ready], [q.gas_units for _, q in ready]
            )
            for (j, quote), handle in zip(ready, handles, strict=True):
                if isinstance(handle, Exception):
                    self._note(j, "jobs failed", "job failed", logging.ERROR, error=handle)
                    self.io.start_batch()  # the nonce it held was not used: count afresh
                else:
                    in_flight.append((j, quote, handle))
                    self.metrics["jobs sent"] += 1
        return self._collect(in_flight)

    def _simulated(self, part: list[Job], fee: GasQuote) -> list[tuple[Job, GasQuote]]:
        """`part` simulated in one round trip; the jobs worth sending, priced."""
        calls = [(j.fn, j.args) for j in part]
        sims = self._rpc(lambda: self.io.simulate_many(calls), "simulate")
        ready: list[tuple[Job, GasQuote]] = []
        for j, sim in zip(part, sims, strict=True):
            if isinstance(sim, Raced):
                self._raced(j.fn, j.account, sim)
            elif isinstance(sim, Exception):
                self._note(
                    j, "simulation reverted", "simulation reverted", logging.WARNING, reason=sim
                )
            else:
                quote = dataclasses.replace(fee, gas_units=sim)
                if self._worth_sending(j, quote):
                    ready.append((j, quote))
        return ready

    def _collect(self, in_flight: list[tuple[Job, GasQuote, Any]]) -> int:
        """Every receipt's verdict, counted and logged; how many landed."""
        if not in_flight:
            return 0
        results = self.io.outcomes(
            [(j.fn, j.args) for j, _, _ in in_flight], [h for _, _, h in in_flight]
        )
        landed = 0
        for (j, quote, _), outcome in zip(in_flight, results, strict=True):
            if isinstance(outcome, Raced):  # mined after someone else's: done all the same
                self._raced(j.fn, j.account, outcome)
            elif isinstance(outcome, Exception):
                self._note(j, "jobs failed", "job failed", logging.ERROR, error=outcome)
            else:
                landed += 1
                self.metrics["jobs succeeded"] += 1
                profit = j.reward_usd - quote.cost_usd()
                self.metrics["profit usd (1e-6)"] += profit // 10**12
                event(
                    self.log,
                    "job done",
                    fn=j.fn,
                    account=j.account,
                    block=getattr(outcome, "block_number", None),
                    profit_usd=profit / 1e18,
                )
        return landed

    def _note(self, j: Job, metric: str, name: str, level: int, **why: Exception) -> None:
        """Count `metric` and log `name` for job `j` with the error that stopped it."""
        self.metrics[metric] += 1
        fields = {k: f"{type(v).__name__}: {v}" if k == "error" else str(v) for k, v in why.items()}
        event(self.log, name, level, fn=j.fn, account=j.account, **fields)

    def _worth_sending(self, j: Job, quote: GasQuote) -> bool:
        if not worth_it(j.reward_usd, quote, self.config.min_profit_usd):
            self.metrics["skipped unprofitable"] += 1
            event(
                self.log,
                "skipped: unprofitable",
                fn=j.fn,
                account=j.account,
                reward_usd=j.reward_usd / 1e18,
                gas_usd=quote.cost_usd() / 1e18,
            )
            return False
        cap = self.config.max_fee_gwei
        if cap is not None and quote.fee_per_gas_wei > cap * 1e9:
            self.metrics["skipped gas cap"] += 1
            event(
                self.log,
                "skipped: gas above cap",
                fn=j.fn,
                account=j.account,
                fee_gwei=quote.fee_per_gas_wei / 1e9,
            )
            return False
        if self.config.dry_run:
            self.metrics["would send"] += 1
            event(self.log, "dry run: would send", fn=j.fn, account=j.account, job=str(j.detail))
            return False
        return True

    def _raced(self, fn: str, account: str, exc: Exception) -> None:
        self.metrics["raced"] += 1
        event(self.log, "raced", fn=fn, account=account, reason=str(exc))

    def summary(self) -> dict[str, int]:
        fields = self.metrics.as_fields()
        if self.metrics["accounts checked"]:
            fields["checks per s"] = self.checks_per_s()
        return fields

    def run(self, poll_s: float = 0.5, max_ticks: int | None = None) -> Metrics:
        run_keepers([self], self.stop, poll_s, max_ticks)
        return self.metrics


def run_keepers(
    keepers: list[ChainKeeper], stop: StopFlag, poll_s: float = 0.5, max_ticks: int | None = None
) -> None:
    """Tick every keeper once per poll until stopped. A tick that fails for a reason nobody
    foresaw is logged and counted; the keeper checks the node is back and goes on (the block's
    work is redone on the next tick: nothing is lost)."""
    ticks = 0
    while not stop.stopped and (max_ticks is None or ticks < max_ticks):
        for keeper in keepers:
            try:
                keeper.tick()
            except Exception as exc:
                keeper.metrics["errors"] += 1
                event(
                    keeper.log, "tick failed", logging.ERROR, error=f"{type(exc).__name__}: {exc}"
                )
                try:
                    keeper._rpc(keeper.io.reconnect, "reconnect")
                except Exception as down:  # still down after every retry: try next tick
                    event(keeper.log, "node unreachable", logging.ERROR, error=str(down))
        ticks += 1
        if stop.sleep(poll_s):
            break
    for keeper in keepers:
        event(keeper.log, "keeper stopped", **keeper.summary())
