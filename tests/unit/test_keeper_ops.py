"""Keeper operations without a node: JSON-RPC batches shrinking to what a provider accepts and
remembering it, rate limits retried with the same requests, the `--shard i/N` split, the
settings' precedence (flags > environment > config file), and `/metrics` + `/health`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from synthequity.keepers.common import Metrics
from synthequity.keepers.jobs import AccountIndex, LogRef, Shard
from synthequity.keepers.metrics import MetricsServer, Watched, health
from synthequity.keepers.settings import load_settings
from synthequity.keepers.transport import HOSTED, LOCAL, BatchLimits, RpcBatcher, RpcHttpError


class Provider:
    """A hosted provider as its docs describe it: batches above `max_batch` refused (HTTP 413
    or one JSON-RPC error), `eth_sendRawTransaction` never batched, every `rate_every`-th
    request answered 429. Records every payload it was sent."""

    def __init__(self, max_batch: int, rate_every: int = 0, status_413: bool = True):
        self.max_batch, self.rate_every, self.status_413 = max_batch, rate_every, status_413
        self.payloads: list[object] = []

    def __call__(self, payload: object) -> object:
        self.payloads.append(payload)
        if self.rate_every and len(self.payloads) % self.rate_every == 0:
            raise RpcHttpError(429, "Too Many Requests", retry_after_s=0)
        calls = payload if isinstance(payload, list) else [payload]
        sends = any(c["method"] == "eth_sendRawTransaction" for c in calls)
        if isinstance(payload, list) and (len(calls) > self.max_batch or sends):
            if self.status_413:
                raise RpcHttpError(413, "Request Entity Too Large")
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch"}}
        answers = [{"jsonrpc": "2.0", "id": c["id"], "result": c["params"][0]} for c in calls]
        return list(reversed(answers)) if isinstance(payload, list) else answers[0]


def sizes(provider: Provider) -> list[int]:
    return [len(p) if isinstance(p, list) else 1 for p in provider.payloads]


def test_a_refused_batch_is_halved_until_accepted_and_the_size_is_kept(caplog):
    provider = Provider(max_batch=5)
    metrics = Metrics()
    rpc = RpcBatcher(provider, BatchLimits(reads=20), metrics, sleep=lambda s: None)
    requests = [("eth_call", [i]) for i in range(23)]
    answers = rpc.run("reads", requests)
    assert [a["result"] for a in answers] == list(range(23))  # in order, out-of-order answers
    assert sizes(provider) == [20, 10, 5, 5, 5, 5, 3]  # 20 and 10 refused, then 5 at a time
    assert rpc.size["reads"] == 5 and metrics["rpc batches refused"] == 2
    refused = [r for r in caplog.records if r.getMessage() == "rpc batch refused"]
    assert [(r.fields["size"], r.fields["next_size"]) for r in refused] == [(20, 10), (10, 5)]
    assert "413" in refused[0].fields["reason"]
    provider.payloads.clear()
    rpc.run("reads", requests)  # the next block starts at the size that worked
    assert sizes(provider) == [5, 5, 5, 5, 3]


def test_sends_fall_back_to_one_call_at_a_time_on_a_json_error():
    provider = Provider(max_batch=100, status_413=False)
    rpc = RpcBatcher(provider, BatchLimits(sends=4), sleep=lambda s: None)
    answers = rpc.run("sends", [("eth_sendRawTransaction", [f"0x0{i}"]) for i in range(3)])
    assert [a["result"] for a in answers] == ["0x00", "0x01", "0x02"]
    assert sizes(provider) == [3, 1, 1, 1]  # the batch of 3 refused, then one call at a time
    assert all(isinstance(p, dict) for p in provider.payloads[-3:])  # not batches at all
    assert rpc.size["sends"] == 1


def test_a_rate_limit_is_retried_with_the_same_requests_after_a_backoff():
    provider = Provider(max_batch=100, rate_every=2)
    slept: list[float] = []
    metrics = Metrics()
    rpc = RpcBatcher(provider, BatchLimits(reads=2), metrics, sleep=slept.append)
    answers = rpc.run("reads", [("eth_call", [i]) for i in range(4)])
    assert [a["result"] for a in answers] == [0, 1, 2, 3]
    first, retried = provider.payloads[1], provider.payloads[2]
    assert first == retried  # the same ids and params: a resent transaction is the same one
    assert metrics["rpc errors"] == len(slept) >= 1 and rpc.size["reads"] == 2


def test_a_provider_that_never_answers_gives_up_with_a_connection_error():
    def down(payload):
        raise RpcHttpError(503, "Service Unavailable")

    rpc = RpcBatcher(down, HOSTED, attempts=3, sleep=lambda s: None)
    with pytest.raises(ConnectionError, match="gave up"):
        rpc.run("reads", [("eth_call", [0])])


def test_default_limits_are_within_hosted_providers_published_caps():
    assert HOSTED.sends == 1  # several providers refuse to batch eth_sendRawTransaction
    assert max(HOSTED.reads, HOSTED.simulations, HOSTED.receipts) <= 20
    assert LOCAL.reads > HOSTED.reads
    with pytest.raises(ValueError):
        BatchLimits(reads=0)


ACCOUNTS = [f"0x{i:040x}" for i in range(1, 401)]


def test_shards_partition_the_book_deterministically():
    owners = [[a for a in ACCOUNTS if Shard(i, 3).owns(a)] for i in range(3)]
    assert sorted(a for o in owners for a in o) == sorted(ACCOUNTS)  # each in exactly one
    assert all(90 < len(o) < 180 for o in owners)  # and roughly evenly
    upper = "0x" + ACCOUNTS[7][2:].upper()
    assert Shard(0, 3).owns(upper) == Shard(0, 3).owns(ACCOUNTS[7])  # case does not matter
    assert Shard.parse("2/3") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    for bad in ("3/3", "1", "a/b", "-1/2"):
        with pytest.raises(ValueError):
            Shard.parse(bad)
    index = AccountIndex(0, shard=Shard(1, 3))
    index.apply([(LogRef(1, 0, i), a) for i, a in enumerate(ACCOUNTS)], 1)
    assert list(index.accounts) == owners[1]


def test_settings_flags_over_environment_over_config_file(tmp_path, monkeypatch):
    config = tmp_path / "keeper.toml"
    config.write_text(
        'symbol = "NVDA"\nmin_profit_usd = 1.5\nshard = "1/2"\npoll = 2.0\n'
        '[networks."arbitrum:sepolia"]\nreads = 50\nsends = 1\n'
    )
    monkeypatch.setenv("SYNTHEQUITY_KEEPER_MIN_PROFIT_USD", "2.5")
    monkeypatch.setenv("SYNTHEQUITY_KEEPER_BATCH__SIMULATIONS", "7")
    s = load_settings(config, poll=0.25, batch_reads=None, shard=None)
    assert (s.symbol, s.min_profit_usd, s.poll, s.shard) == ("NVDA", 2.5, 0.25, "1/2")
    assert s.limits("arbitrum:sepolia", local=False) == BatchLimits(
        reads=50, simulations=7, sends=1, receipts=HOSTED.receipts, multicall=HOSTED.multicall
    )
    assert s.limits("ethereum:local", local=True).sends == LOCAL.sends
    assert load_settings(config, batch_reads=3).limits("arbitrum:sepolia", False).reads == 3
    monkeypatch.setenv("SYNTHEQUITY_KEEPER_SHARD", "5/2")
    with pytest.raises(ValueError, match="shard"):
        load_settings(config)
    with pytest.raises(SystemExit, match="not found"):
        load_settings(tmp_path / "missing.toml")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_and_health_answer_what_the_keepers_count():
    perp, oracle = Metrics(), Metrics()
    perp.update({"jobs found": 4, "jobs sent": 3, "raced": 1, "jobs failed": 0})
    perp.update({"gas spent wei": 21_000 * 10**9, "profit usd (1e-6)": 2_500_000})
    perp.update({"rpc batches refused": 2, "rpc errors": 5, "skipped unprofitable": 1})
    now = time.time()
    perp.gauges.update({"last tick": now, "last block": 1234, "last block time": now - 12})
    oracle.update({"pushed": 7, "refused": 1, "suspect pushes": 2})
    oracle.gauges["last tick"] = now
    oracle.observe("source latency", 0.25)
    oracle.observe("source latency", 0.75)
    watched = Watched(labels={"market": "TSLA"})
    watched.add("perp", perp)
    watched.add("oracle", oracle)
    server = MetricsServer(watched, port=0, stale_s=30, max_block_age_s=60).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        status, text = get(base + "/metrics")
        assert status == 200
        labels = 'keeper="perp",market="TSLA"'
        for line in (
            f"synthequity_keeper_jobs_found_total{{{labels}}} 4.0",
            f"synthequity_keeper_jobs_sent_total{{{labels}}} 3.0",
            f"synthequity_keeper_jobs_raced_total{{{labels}}} 1.0",
            f"synthequity_keeper_jobs_failed_total{{{labels}}} 0.0",
            f"synthequity_keeper_gas_spent_wei_total{{{labels}}} 2.1e+13",
            f"synthequity_keeper_profit_usd_total{{{labels}}} 2.5",
            f"synthequity_rpc_batches_refused_total{{{labels}}} 2.0",
            f"synthequity_rpc_errors_total{{{labels}}} 5.0",
            f"synthequity_keeper_last_block{{{labels}}} 1234.0",
            'synthequity_oracle_pushes_total{keeper="oracle",market="TSLA"} 7.0',
            'synthequity_oracle_refusals_total{keeper="oracle",market="TSLA"} 1.0',
            'synthequity_oracle_suspect_rounds_total{keeper="oracle",market="TSLA"} 2.0',
            'synthequity_source_latency_seconds_count{keeper="oracle",market="TSLA"} 2.0',
            'synthequity_source_latency_seconds_sum{keeper="oracle",market="TSLA"} 1.0',
            'synthequity_keeper_events_total{event="skipped unprofitable",' + labels + "} 1.0",
        ):
            assert line in text.splitlines(), line
        status, body = get(base + "/health")
        assert status == 200 and json.loads(body)["ok"] is True
        assert json.loads(body)["keepers"]["perp"]["last_block"] == 1234

        perp.gauges["last block time"] = now - 61  # the node is stuck on an old head
        status, body = get(base + "/health")
        assert status == 503 and json.loads(body)["keepers"]["perp"]["block_recent"] is False
        assert get(base + "/nothing")[0] == 404
    finally:
        server.stop()


def test_health_needs_every_loop_alive():
    alive, stuck = Metrics(), Metrics()
    alive.gauges["last tick"] = 1_000.0
    stuck.gauges["last tick"] = 900.0
    watched = Watched({"perp": alive, "vault": stuck})
    ok, detail = health(watched, now=1_010.0, stale_s=60, max_block_age_s=300)
    assert not ok and detail["perp"]["alive"] and not detail["vault"]["alive"]
    assert health(Watched({"perp": alive}), 1_010.0, 60, 300)[0]
    assert not health(Watched(), 1_010.0, 60, 300)[0]  # nothing ticking is not healthy
