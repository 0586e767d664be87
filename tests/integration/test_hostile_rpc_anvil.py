"""Two liquidation keepers (different keys, `--shard 0/2` and `1/2`) behind a hostile RPC: a
proxy on 127.0.0.1 in front of anvil that refuses batches above 3 calls and any batch of
`eth_sendRawTransaction`, answers every 13th request with HTTP 429, drops every 29th
connection unanswered, and drops the first send *after* anvil took it (the worst case: the
node has the transaction, the keeper saw an error). The keepers still find and liquidate
every position exactly once, no job goes out as a second transaction, their logs say what
was refused, and one reads the book through Multicall3 (deployed from Ape's bytecode: anvil
has none), the other with plain `eth_call` batches.

Runs on its own anvil: Ape's session talks to the proxy for the whole test (the proxy is
harmless while the chain is set up)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ape_cli import free_port
from eth_utils import keccak, to_hex

from synthequity.dev.devchain import Anvil
from synthequity.keepers.common import StopFlag
from synthequity.keepers.jobs import AccountIndex, Shard
from synthequity.keepers.perp.runner import ApeMarketIO, PerpKeeper
from synthequity.keepers.shell import KeeperConfig, run_keepers
from synthequity.keepers.transport import MULTICALL3, BatchLimits
from synthequity.model import perp as m

WAD = m.WAD


class HostileProxy:
    def __init__(
        self, upstream: str, max_batch: int = 3, rate_every: int = 13, drop_every: int = 29
    ):
        self.upstream, self.max_batch = upstream, max_batch
        self.rate_every, self.drop_every = rate_every, drop_every
        self.hostile = False
        self.count = 0
        self.lock = threading.Lock()
        self.refused: list[tuple[int, str]] = []  # (batch size, first method)
        self.limited = self.dropped = 0
        self.sends: list[str] = []  # every raw transaction anvil was handed
        self.dropped_after_send = False
        self.multicalls = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                verdict = proxy.judge(json.loads(body))
                if verdict == "drop":
                    self.close_connection = True
                    return
                if verdict == "429":
                    return self.answer(429, b"Too Many Requests", retry_after="0")
                if verdict == "413":
                    return self.answer(413, b"batch too large")
                req = urllib.request.Request(
                    proxy.upstream, body, {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(req, timeout=60) as r:
                    answer = r.read()
                if proxy.drop_after(json.loads(body)):
                    self.close_connection = True
                    return
                self.answer(200, answer)

            def answer(self, status: int, body: bytes, retry_after: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def judge(self, payload: object) -> str:
        calls = payload if isinstance(payload, list) else [payload]
        with self.lock:
            methods = [c["method"] for c in calls]
            if self.hostile:
                self.count += 1
                if self.count % self.rate_every == 0:
                    self.limited += 1
                    return "429"
                if self.count % self.drop_every == 0:
                    self.dropped += 1
                    return "drop"
                batch = isinstance(payload, list)
                if batch and (len(calls) > self.max_batch or "eth_sendRawTransaction" in methods):
                    self.refused.append((len(calls), methods[0]))
                    return "413"
            for c in calls if self.hostile else []:  # the keepers' traffic only
                if c["method"] == "eth_sendRawTransaction":
                    self.sends.append(c["params"][0])
                if c["method"] == "eth_call" and str(c["params"][0].get("to", "")).lower() == (
                    MULTICALL3.lower()
                ):
                    self.multicalls += 1
            return "forward"

    def drop_after(self, payload: object) -> bool:
        calls = payload if isinstance(payload, list) else [payload]
        with self.lock:
            sends = any(c["method"] == "eth_sendRawTransaction" for c in calls)
            if self.hostile and not self.dropped_after_send and sends:
                self.dropped_after_send = True
                self.dropped += 1
                return True
            return False

    def __enter__(self) -> HostileProxy:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def chain_behind_proxy(networks) -> Iterator[HostileProxy]:
    node = Anvil(port=free_port(), chain_id=31341)
    node.start()
    host = os.environ.get("APE_FOUNDRY_HOST")
    try:
        with HostileProxy(node.url) as proxy:
            os.environ["APE_FOUNDRY_HOST"] = proxy.url
            with networks.ethereum.local.use_provider(
                "foundry", provider_settings={"host": proxy.url}, disconnect_after=True
            ):
                yield proxy
    finally:
        if host is None:
            os.environ.pop("APE_FOUNDRY_HOST", None)
        else:
            os.environ["APE_FOUNDRY_HOST"] = host
        node.stop()


@pytest.fixture
def proxy(networks):
    with chain_behind_proxy(networks) as p:
        yield p


def test_keepers_liquidate_everything_once_behind_a_hostile_rpc(
    proxy, project, accounts, chain, caplog
):
    from ape_ethereum.multicall.constants import MULTICALL3_CODE

    from synthequity.deploy import deploy_perp
    from synthequity.dev.bench import Actors, fresh_market

    caplog.set_level(logging.INFO, logger="synthequity")
    deployer, reporter, lp = accounts[11], accounts[1], accounts[0]
    keeper, second_keeper = accounts[5], accounts[10]
    traders = [accounts[i] for i in (2, 3, 4, 6, 7, 8, 9)]
    usdc, oracle, core, _ = fresh_market(Actors(deployer, reporter), project, chain)

    def price(p):
        t = chain.blocks.head.timestamp + 1
        chain.pending_timestamp = t
        oracle.push_price(round(p * 10**8), t, 2, sender=reporter)

    pool, market = deploy_perp(deployer, core, usdc, oracle, "TSLA")
    start = market.creation_metadata.block if market.creation_metadata else 0
    for who in (lp, *traders):
        usdc.faucet(who, 10_000_000 * 10**6, sender=who)
        usdc.approve(pool, 2**256 - 1, sender=who)
        usdc.approve(market, 2**256 - 1, sender=who)
    price(200)
    pool.deposit(5_000_000 * 10**6, lp, sender=lp)
    for who in traders:
        market.deposit_margin(200 * 10**6, sender=who)
        market.commit_order(45 * WAD // 10, 2**255, sender=who)
    price(200)
    for who in traders:
        market.execute_order(who, sender=lp)
    price(172)  # -14%: every 4.5x long below maintenance
    assert all(market.is_liquidatable(w) for w in traders)
    chain.provider.set_code(MULTICALL3, MULTICALL3_CODE)  # anvil has no Multicall3

    shards = [Shard(0, 2), Shard(1, 2)]
    owner = {w.address: next(i for i, s in enumerate(shards) if s.owns(w.address)) for w in traders}
    assert set(owner.values()) == {0, 1}  # both keepers have work
    limits = [  # sizes a provider refuses: the keepers must find out
        BatchLimits(reads=8, simulations=8, sends=8, receipts=8, multicall=100),
        BatchLimits(reads=8, simulations=8, sends=8, receipts=8, multicall=0),
    ]
    stop = StopFlag()
    bots = [
        PerpKeeper(
            io=ApeMarketIO(market, who, native_usd=1, limits=lim),
            index=AccountIndex(start, shard=shard),
            config=KeeperConfig(orders=False, page_size=100, rpc_attempts=4),
            stop=stop,
            name=f"perp-{shard.index}",
        )
        for who, lim, shard in zip((keeper, second_keeper), limits, shards, strict=True)
    ]
    nonces = [w.nonce for w in (keeper, second_keeper)]
    head = chain.blocks.head.number

    proxy.hostile = True
    run_keepers(bots, stop, poll_s=0.05, max_ticks=20)
    proxy.hostile = False

    liqs = list(market.PositionLiquidated.range(head, chain.blocks.head.number + 1))
    assert sorted(lg.account for lg in liqs) == sorted(w.address for w in traders)  # each once
    assert not any(market.is_liquidatable(w) for w in traders)
    by_keeper = {lg.account: lg.keeper for lg in liqs}
    for w in traders:  # each by the keeper whose shard owns it: no race, nobody lost one
        assert by_keeper[w.address] == (keeper, second_keeper)[owner[w.address]].address
    # no job went out twice: one signed transaction per liquidation (the send dropped after
    # anvil took it was resent as the very same bytes), and one nonce used per liquidation
    hashes = {to_hex(keccak(hexstr=raw)) for raw in proxy.sends}
    assert len(hashes) == len(traders) and len(proxy.sends) > len(traders)
    assert [w.nonce - n for w, n in zip((keeper, second_keeper), nonces, strict=True)] == [
        sum(1 for o in owner.values() if o == i) for i in (0, 1)
    ]
    for bot in bots:
        assert bot.metrics["jobs succeeded"] == bot.metrics["jobs found"] > 0
        assert bot.metrics["jobs failed"] == bot.metrics["raced"] == 0
        assert bot.metrics["rpc batches refused"] >= 1
        assert bot.io.rpc.size["sends"] == 1  # remembered: sends now go one at a time
    assert proxy.dropped_after_send and proxy.limited > 0 and proxy.dropped > 1
    assert proxy.multicalls > 0 and bots[0].io.has_multicall() and not bots[1].io.has_multicall()
    # the logs say what was refused
    refused = [r.fields for r in caplog.records if r.getMessage() == "rpc batch refused"]
    assert {f["method"] for f in refused} >= {"eth_sendRawTransaction"}
    assert all("413" in f["reason"] and f["next_size"] < f["size"] for f in refused)
    assert any(r.getMessage() == "send retried: the node already had it" for r in caplog.records)
