"""The thin I/O shell every liquidation keeper shares: index accounts from logs, check them in
batches through the contract's batch view, and run each job the pure logic returns —
simulated first, counted as a race (not an error) when another keeper got there first,
skipped when it does not pay for its gas or the fee is above the operator's cap.

A subclass says what one block's work is (`work`); `run_keepers` drives one or several keepers
over the same chain, one tick per new block, until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from synthequity.keepers.common import Metrics, StopFlag, with_retries
from synthequity.keepers.jobs import AccountIndex, GasQuote, LogRef, chunks, worth_it
from synthequity.logs import event

BATCH = 500  # the contracts' batch views take at most 500 accounts


class Raced(Exception):
    """The simulation (or the receipt) says the job is already done by someone else."""


class ChainIO(Protocol):
    """What every keeper needs from a chain."""

    def head(self) -> int: ...
    def now(self) -> int: ...
    def account_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]: ...
    def flags(self, accounts: list[str]) -> list[bool]: ...
    def simulate(self, fn: str, *args: Any) -> int: ...  # gas, or raises Raced
    def send(self, fn: str, *args: Any, gas: int) -> Any: ...  # receipt, or raises Raced
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
class ChainKeeper:
    io: Any  # a ChainIO (and the subclass's own reads)
    index: AccountIndex
    config: KeeperConfig = field(default_factory=KeeperConfig)
    stop: StopFlag = field(default_factory=StopFlag)
    metrics: Metrics = field(default_factory=Metrics)
    name: str = "keeper"
    last_head: int = -1
    checked_s: float = 0.0  # wall time spent in batch health checks

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
        self.metrics["rpc retries"] += 1
        self.io.reconnect()

    # ---- one block ------------------------------------------------------------------------
    def tick(self) -> None:
        head = self._rpc(self.io.head, "head")
        if head == self.last_head:
            return
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

    def send_job(self, fn: str, args: tuple[Any, ...], reward_usd: int, job: object) -> bool:
        """Simulate, price, send one job; True when it landed (ours)."""
        account = args[0]
        try:
            gas = self._rpc(lambda: self.io.simulate(fn, *args), "simulate")
        except Raced as exc:
            return self._raced(fn, account, exc)
        quote = self._rpc(lambda: self.io.quote(gas), "gas price")
        if not worth_it(reward_usd, quote, self.config.min_profit_usd):
            self.metrics["skipped unprofitable"] += 1
            event(
                self.log,
                "skipped: unprofitable",
                fn=fn,
                account=account,
                reward_usd=reward_usd / 1e18,
                gas_usd=quote.cost_usd() / 1e18,
            )
            return False
        cap = self.config.max_fee_gwei
        if cap is not None and quote.fee_per_gas_wei > cap * 1e9:
            self.metrics["skipped gas cap"] += 1
            event(
                self.log,
                "skipped: gas above cap",
                fn=fn,
                account=account,
                fee_gwei=quote.fee_per_gas_wei / 1e9,
            )
            return False
        if self.config.dry_run:
            self.metrics["would send"] += 1
            event(self.log, "dry run: would send", fn=fn, account=account, job=str(job))
            return False
        self.metrics["jobs sent"] += 1
        try:
            receipt = self.io.send(fn, *args, gas=gas)
        except Raced as exc:  # mined after someone else's: the job is done all the same
            return self._raced(fn, account, exc)
        self.metrics["jobs succeeded"] += 1
        profit = reward_usd - quote.cost_usd()
        self.metrics["profit usd (1e-6)"] += profit // 10**12
        event(
            self.log,
            "job done",
            fn=fn,
            account=account,
            block=getattr(receipt, "block_number", None),
            profit_usd=profit / 1e18,
        )
        return True

    def _raced(self, fn: str, account: str, exc: Exception) -> bool:
        self.metrics["raced"] += 1
        event(self.log, "raced", fn=fn, account=account, reason=str(exc))
        return False

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


class ApeChainIO:
    """`ChainIO` over an Ape contract and a signing account: the calls every keeper makes."""

    RACED: tuple[str, ...] = ()  # revert reasons that mean "someone else did it first"

    def __init__(self, contract: Any, account: Any, native_usd: int = 3_000 * 10**18):
        from ape import chain

        self.contract, self.account, self.chain = contract, account, chain
        self.native_usd = native_usd

    def head(self) -> int:
        return int(self.chain.blocks.head.number)

    def now(self) -> int:
        return int(self.chain.blocks.head.timestamp)

    def logs(self, ev: Any, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return [
            (LogRef(lg.block_number, lg.transaction_index or 0, lg.log_index), str(lg.account))
            for lg in ev.range(lo, hi + 1)
        ]

    def flags(self, accounts: list[str]) -> list[bool]:
        return list(self.contract.liquidatable(accounts))

    def _call(self, send: bool, fn: str, *args: Any, gas: int = 0) -> Any:
        from ape.exceptions import ContractLogicError

        method = getattr(self.contract, fn)
        try:
            if send:  # the nonce is read from the chain for every transaction (Ape's default)
                return method(*args, sender=self.account, gas=gas * 13 // 10)
            return int(method.estimate_gas_cost(*args, sender=self.account))
        except ContractLogicError as exc:
            if any(r in (exc.revert_message or "") for r in self.RACED):
                raise Raced(exc.revert_message) from None
            raise

    def simulate(self, fn: str, *args: Any) -> int:
        return self._call(False, fn, *args)

    def send(self, fn: str, *args: Any, gas: int) -> Any:
        return self._call(True, fn, *args, gas=gas)

    def quote(self, gas: int) -> GasQuote:
        block = self.chain.blocks.head
        base = int(getattr(block, "base_fee", 0) or 0)
        tip = int(self.chain.provider.priority_fee)
        return GasQuote(gas, base + tip, self.native_usd)

    def reconnect(self) -> None:
        """HTTP has no session to restore: check the node answers (the caller backs off and
        retries until it does). Never starts a node of its own."""
        if not self.chain.provider.web3.is_connected():
            raise ConnectionError("node unreachable")
