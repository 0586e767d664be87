"""The keepers at scale (docs/spec.md §9): N accounts with open perp positions on a local anvil, a
price fall, and the liquidation keeper finding and liquidating every position the fall made
liquidatable. Measures accounts checked per second through the batch view and blocks from the
price to each liquidation; checks the keeper's findings against the reference model evaluated
position by position (an independent computation, not the contract's view).

Populating N accounts through Ape would take N x 5 transactions at ~40 tx/s; instead the bench
impersonates N fresh addresses on anvil and sends their transactions as JSON-RPC batches (gas
price 0 on the local node, so they need no ether)."""

from __future__ import annotations

import atexit
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth_utils import keccak, to_checksum_address
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from synthequity.constants import MarketStatus
from synthequity.dev.devchain import restart_from_state
from synthequity.keepers.jobs import AccountIndex
from synthequity.keepers.perp.runner import ApeMarketIO, PerpKeeper
from synthequity.keepers.shell import KeeperConfig
from synthequity.model import perp as m
from synthequity.ui import make_console

WAD = m.WAD
RPC_BATCH = 500  # JSON-RPC calls per HTTP request
console = make_console()


@dataclass
class ScaleResult:
    accounts: int
    tracked: int
    flagged_by_keeper: int
    liquidatable_by_model: int
    check_seconds: float  # one full pass of the batch view over every account
    accounts_per_s: int
    liquidations: int
    first_block_after_price: int
    last_block_after_price: int
    seconds_per_block: float  # measured: interval mining plus any block the tooling mines
    liquidation_seconds: float
    setup_seconds: float
    missed: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("accounts with open positions", f"{self.accounts:,}"),
            ("accounts the keeper indexed from logs", f"{self.tracked:,}"),
            ("liquidatable after the fall (model)", f"{self.liquidatable_by_model:,}"),
            ("flagged by the keeper's batch check", f"{self.flagged_by_keeper:,}"),
            ("one full check of every account", f"{self.check_seconds:.3f} s"),
            ("accounts checked per second", f"{self.accounts_per_s:,}"),
            ("liquidations sent and mined", f"{self.liquidations:,}"),
            ("seconds per block while liquidating", f"{self.seconds_per_block:.2f} s"),
            ("blocks from price to first liquidation", str(self.first_block_after_price)),
            ("blocks from price to last liquidation", str(self.last_block_after_price)),
            ("time to liquidate them all", f"{self.liquidation_seconds:.1f} s"),
            ("setup (deploy + populate)", f"{self.setup_seconds:.1f} s"),
        ]


class Rpc:
    """Raw JSON-RPC to the local node, in batches."""

    def __init__(self, uri: str):
        self.uri = uri
        self.session = requests.Session()

    def call(self, method: str, *params: Any) -> Any:
        return self.batch([(method, list(params))])[0]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        body = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls)
        ]
        out = sorted(
            self.session.post(self.uri, json=body, timeout=300).json(), key=lambda r: r["id"]
        )
        errors = [r["error"] for r in out if "error" in r]
        if errors:
            raise RuntimeError(f"{len(errors)} of {len(calls)} calls failed, first: {errors[0]}")
        return [r["result"] for r in out]


def addresses(n: int, seed: int) -> list[str]:
    """N fresh, deterministic addresses nobody holds a key for (impersonated on anvil)."""
    return [
        to_checksum_address(keccak(f"synthequity-bench-{seed}-{i}".encode())[-20:])
        for i in range(n)
    ]


def send_all(rpc: Rpc, txs: list[dict[str, Any]], what: str, progress: Progress) -> None:
    """One transaction per sender per wave (nonces never race). Each wave of 500 is mined
    before the next is sent: anvil's automine slows down sharply with a large pending pool,
    and may leave a burst's tail pending (mined out with `evm_mine`)."""
    task = progress.add_task(what, total=len(txs))
    for i in range(0, len(txs), RPC_BATCH):
        chunk = txs[i : i + RPC_BATCH]
        hashes = rpc.batch([("eth_sendTransaction", [tx]) for tx in chunk])
        _mined(rpc, hashes, flush=True, what=what)
        progress.advance(task, len(chunk))


def run_scale(
    project: Any,
    chain: Any,
    actors: dict[str, Any],
    n: int = 10_000,
    seed: int = 1,
    fall: float = 0.15,
    block_time: int = 2,
) -> ScaleResult:
    from synthequity.deploy import deploy_perp
    from synthequity.dev.bench import Actors, fresh_market

    t_setup = time.perf_counter()
    admin, reporter, lp, keeper = (actors[k] for k in ("admin", "reporter", "lp", "keeper"))
    rpc = Rpc(chain.provider.http_uri)
    usdc, oracle, core, _ = fresh_market(Actors(admin, reporter), project, chain)
    pool, market = deploy_perp(admin, core, usdc, oracle, "TSLA")
    start_block = chain.blocks.head.number

    def push(price: float, flush: bool = True) -> int:
        """An OPEN price observed one second after the head, in the next block; the block."""
        t = _head_time(rpc) + 1
        rpc.call("evm_setNextBlockTimestamp", t)
        tx_hash = _send_price(rpc, oracle, reporter.address, price, t)
        return int(_mined(rpc, [tx_hash], flush)[0]["blockNumber"], 16)

    push(200)
    usdc.faucet(lp, 50_000_000 * 10**6, sender=lp)
    usdc.approve(pool, 2**256 - 1, sender=lp)
    pool.deposit(50_000_000 * 10**6, lp, sender=lp)

    rng = random.Random(seed)
    who = addresses(n, seed)
    margin = 200 * 10**6
    sizes = {a: int(rng.uniform(1.0, 4.6) * WAD) for a in who}  # 1x .. 4.6x at $200
    enc = {
        "faucet": lambda a: usdc.faucet.encode_input(a, margin),
        "approve": lambda a: usdc.approve.encode_input(market.address, 2**256 - 1),
        "deposit": lambda a: market.deposit_margin.encode_input(margin),
        "commit": lambda a: market.commit_order.encode_input(sizes[a], 2**255),
        "execute": lambda a: market.execute_order.encode_input(a),
    }
    target = {"faucet": usdc.address, "approve": usdc.address}
    gas = {"execute": 600_000}
    rpc.call("anvil_autoImpersonateAccount", True)
    try:
        with Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            for step in enc:
                if step == "execute":
                    push(200)  # a price newer than every commit: the orders can fill
                txs = [
                    {
                        "from": a,
                        "to": target.get(step, market.address),
                        "data": _hex(enc[step](a)),
                        "gas": hex(gas.get(step, 400_000)),
                        "gasPrice": "0x0",
                    }
                    for a in who
                ]
                send_all(rpc, txs, f"{step} x {n:,}", progress)
    finally:
        rpc.call("anvil_autoImpersonateAccount", False)
    head_time = _head_time(rpc)
    node = restart_from_state(rpc.uri, Path(".devchain/bench-state.json"))
    if node is None:
        console.print(
            "[yellow]not our node (run through `make bench-keepers`): not restarted; above "
            "~2,000 accounts anvil 1.7.1 may stop including transactions[/]"
        )
    else:
        atexit.register(node.stop)  # when the bench's process ends
        console.print("node restarted from its state (anvil's miner stalls after populating)")
        rpc = Rpc(rpc.uri)
        # a first block on the new node, after the old head (a restarted anvil's clock starts
        # from the wall clock, which may be behind the chain's)
        rpc.call("evm_setNextBlockTimestamp", head_time + 1)
        rpc.call("evm_mine")
    setup_s = time.perf_counter() - t_setup

    bot = PerpKeeper(
        io=ApeMarketIO(market, keeper, native_usd=1),
        index=AccountIndex(start_block=start_block),
        config=KeeperConfig(orders=False, page_size=5_000),
    )
    bot._sync(chain.blocks.head.number)
    tracked = len(bot.index.accounts)
    # the independent answer, read before the fall (no position changes until the keeper
    # acts): the model, position by position, at the price about to be pushed
    price_wad = round(200 * (1 - fall) * 10**8) * 10**10
    params, _ = bot.io.params()
    index = bot.io.index_now(price_wad)
    positions = bot.io.positions(who)  # batched reads; the judgment below is the model's
    expected = {a for a, p in positions.items() if m.is_liquidatable(p, price_wad, index, params)}
    # from here on, a block every `block_time` seconds as on a real chain (not one per
    # transaction), mined by our own clock thread with `evm_mine` (anvil's interval miner
    # stalled here at 10,000 accounts: empty blocks ten a second, the price left pending),
    # each block `block_time` seconds after the last on the chain's clock: how many blocks the
    # liquidations take is then a real measure. `block_time` 0: automine, one transaction per
    # block, on a clock held still (the populate phase mined thousands of blocks a second
    # apart, so the chain clock runs far ahead of the wall clock and every further block would
    # add a second, ageing the price past the market's 120 s within 120 liquidations).
    stop_threads = threading.Event()
    threads = [
        threading.Thread(
            target=_heartbeat,
            args=(rpc, oracle, reporter.address, 200 * (1 - fall), stop_threads),
            daemon=True,
        )
    ]
    if block_time:
        threads.append(
            threading.Thread(target=_miner, args=(rpc, block_time, stop_threads), daemon=True)
        )
    try:
        price_block = push(200 * (1 - fall), flush=False)  # automine; then a block per block_time
        rpc.call("anvil_setBlockTimestampInterval", block_time)
        if block_time:
            rpc.call("evm_setAutomine", False)
        for t in threads:
            t.start()
        t1 = time.perf_counter()
        console.print(f"liquidating (blocks every {block_time} s)")
        flagged_first, check_s = -1, 0.0
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:  # the keeper's loop, until nothing is left
            bot.tick()  # one per new block
            if flagged_first < 0:  # the first tick's full check of every account
                flagged_first, check_s = len(bot.last_flagged), bot.checked_s
            blocks = chain.blocks.head.number - price_block
            console.print(
                f"  {time.perf_counter() - t1:6.1f} s  block {blocks:>4} after the price:"
                f" {bot.metrics['jobs succeeded']:,} liquidated,"
                f" {bot.metrics['raced']} raced, {bot.metrics['jobs failed']} failed"
            )
            if not bot.check():
                break
            time.sleep(0.2)
        liq_s = time.perf_counter() - t1
    finally:
        stop_threads.set()
        for t in threads:
            if t.is_alive():
                t.join()
        rpc.call("anvil_removeBlockTimestampInterval")
        if block_time:
            rpc.call("evm_setAutomine", True)
    liqs = list(market.PositionLiquidated.range(price_block, chain.blocks.head.number + 1))
    blocks = [lg.block_number - price_block for lg in liqs]
    return ScaleResult(
        accounts=n,
        tracked=tracked,
        flagged_by_keeper=flagged_first,
        liquidatable_by_model=len(expected),
        check_seconds=check_s,
        accounts_per_s=round(tracked / max(check_s, 1e-9)),
        liquidations=len(liqs),
        first_block_after_price=min(blocks, default=0),
        last_block_after_price=max(blocks, default=0),
        seconds_per_block=liq_s / max(chain.blocks.head.number - price_block, 1),
        liquidation_seconds=liq_s,
        setup_seconds=setup_s,
        missed=sorted(expected - {str(lg.account) for lg in liqs}),
    )


def _heartbeat(rpc: Rpc, oracle: Any, reporter: str, price: float, stop: threading.Event) -> None:
    """The oracle keeper's heartbeat, standing in for it: the same price every 30 s, observed
    at the head's timestamp, so the price never goes stale while the keeper works through
    thousands of jobs (a market's risk checks refuse a price older than 120 s)."""
    beat = Rpc(rpc.uri)  # its own session: requests sessions are not shared across threads
    while not stop.wait(30):
        _send_price(beat, oracle, reporter, price, _head_time(beat))


def _miner(rpc: Rpc, block_time: int, stop: threading.Event) -> None:
    """A block every `block_time` seconds of wall time, whatever is pending."""
    node = Rpc(rpc.uri)
    while not stop.wait(block_time):
        node.call("evm_mine")


def _mined(rpc: Rpc, hashes: list[str], flush: bool, what: str = "price") -> list[dict]:
    """The receipts of `hashes` once all are mined and successful. `flush`: anvil's automine
    can leave the tail of a burst in its pool until the next transaction arrives — mine it
    out (with interval mining, leave the interval to it)."""
    deadline = time.monotonic() + 120
    while True:
        receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        if all(r is not None for r in receipts):
            break
        if time.monotonic() > deadline:
            pool = rpc.call("txpool_status")
            raise RuntimeError(f"{what}: transactions not mined after 120 s; pool {pool}")
        if flush:
            rpc.call("evm_mine")
        time.sleep(0.02)
    failed = [r for r in receipts if int(r["status"], 16) != 1]
    if failed:
        raise RuntimeError(f"{what}: {len(failed)} transactions reverted, first: {failed[0]}")
    return receipts


def _head_time(rpc: Rpc) -> int:
    return int(rpc.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16)


def _send_price(rpc: Rpc, oracle: Any, reporter: str, price: float, observed_at: int) -> str:
    """`push_price(price, observed_at, OPEN)` from the reporter (unlocked on anvil)."""
    data = oracle.push_price.encode_input(round(price * 10**8), observed_at, MarketStatus.OPEN)
    tx = {"from": reporter, "to": oracle.address, "data": _hex(data), "gas": hex(200_000)}
    return rpc.call("eth_sendTransaction", {**tx, "gasPrice": "0x0"})


def _hex(data: Any) -> str:
    return data if isinstance(data, str) else "0x" + bytes(data).hex()
