"""What an operator scrapes from a keeper process (`--metrics-port`): the keepers' counters as
Prometheus metrics on `/metrics`, and `/health`, a JSON answer that is 200 while every keeper
loop is alive and its chain moving, 503 otherwise.

The counters stay where the keepers keep them (`keepers.common.Metrics`, the same numbers
their logs print); a collector reads them at each scrape. Named ones get their own metric
(`NAMED`), the rest are `synthequity_keeper_events_total{event="..."}`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from synthequity.keepers.common import Metrics

# counter name in `Metrics` -> (metric name without _total, help, scale)
NAMED: dict[str, tuple[str, str, float]] = {
    "pushed": ("synthequity_oracle_pushes", "Oracle rounds pushed.", 1),
    "refused": ("synthequity_oracle_refusals", "Prices the oracle keeper refused to push.", 1),
    "suspect pushes": ("synthequity_oracle_suspect_rounds", "Rounds pushed as suspect.", 1),
    "source_errors": ("synthequity_source_errors", "Price source reads that failed.", 1),
    "jobs found": ("synthequity_keeper_jobs_found", "Jobs the logic returned.", 1),
    "jobs sent": ("synthequity_keeper_jobs_sent", "Jobs signed and sent.", 1),
    "jobs succeeded": ("synthequity_keeper_jobs_succeeded", "Jobs mined successfully.", 1),
    "raced": ("synthequity_keeper_jobs_raced", "Jobs another keeper did first.", 1),
    "jobs failed": ("synthequity_keeper_jobs_failed", "Jobs that failed (not a race).", 1),
    "failed": ("synthequity_keeper_jobs_failed", "Jobs that failed (not a race).", 1),
    "gas spent wei": ("synthequity_keeper_gas_spent_wei", "Gas paid by mined jobs, wei.", 1),
    "profit usd (1e-6)": ("synthequity_keeper_profit_usd", "Rewards minus gas, USD.", 1e-6),
    "rpc errors": ("synthequity_rpc_errors", "RPC calls that failed and were retried.", 1),
    "rpc retries": ("synthequity_rpc_retries", "Keeper steps retried after an RPC error.", 1),
    "rpc batches refused": (
        "synthequity_rpc_batches_refused",
        "JSON-RPC batches the node refused for their size (then split).",
        1,
    ),
    "errors": ("synthequity_keeper_tick_errors", "Ticks that failed unexpectedly.", 1),
}
GAUGES: dict[str, tuple[str, str]] = {
    "last block": ("synthequity_keeper_last_block", "Last block the keeper saw."),
    "last block time": (
        "synthequity_keeper_last_block_timestamp_seconds",
        "Timestamp of the last block the keeper saw.",
    ),
    "last tick": ("synthequity_keeper_last_tick_timestamp_seconds", "Wall time of the last tick."),
    "accounts tracked": ("synthequity_keeper_accounts_tracked", "Accounts in the index."),
}
TIMINGS: dict[str, tuple[str, str]] = {
    "source latency": ("synthequity_source_latency_seconds", "Price source read latency."),
}


@dataclass
class Watched:
    """The keepers of this process, by name, with labels for every metric they export."""

    keepers: dict[str, Metrics] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # e.g. market="TSLA"

    def add(self, name: str, metrics: Metrics) -> None:
        self.keepers[name] = metrics


def _snapshot(metrics: Metrics) -> tuple[dict[str, int], dict[str, float], dict[str, Any]]:
    """The keeper's numbers, copied (the loop's thread may add a counter meanwhile)."""
    for _ in range(5):
        try:
            return dict(metrics), dict(metrics.gauges), dict(metrics.timings)
        except RuntimeError:  # changed size during the copy
            continue
    return {}, {}, {}


class KeeperCollector:
    def __init__(self, watched: Watched):
        self.watched = watched

    def collect(self) -> Iterator[Metric]:
        extra = sorted(self.watched.labels)
        names = ["keeper", *extra]
        fams: dict[str, Metric] = {}
        events = CounterMetricFamily(
            "synthequity_keeper_events", "Every other keeper counter.", labels=[*names, "event"]
        )
        for keeper, metrics in sorted(self.watched.keepers.items()):
            values = [keeper, *(self.watched.labels[k] for k in extra)]
            counters, gauges, timings = _snapshot(metrics)
            for counter, value in sorted(counters.items()):
                if counter in GAUGES:
                    gauges.setdefault(counter, float(value))
                    continue
                if counter not in NAMED:
                    events.add_metric([*values, counter], value)
                    continue
                metric, doc, scale = NAMED[counter]
                fam = fams.setdefault(metric, CounterMetricFamily(metric, doc, labels=names))
                fam.add_metric(values, value * scale)
            for gauge, value in sorted(gauges.items()):
                if gauge in GAUGES:
                    metric, doc = GAUGES[gauge]
                    fam = fams.setdefault(metric, GaugeMetricFamily(metric, doc, labels=names))
                    fam.add_metric(values, value)
            for timing, (count, total) in sorted(timings.items()):
                if timing in TIMINGS:
                    metric, doc = TIMINGS[timing]
                    fam = fams.setdefault(metric, SummaryMetricFamily(metric, doc, labels=names))
                    fam.add_metric(values, count_value=count, sum_value=total)
        yield from fams.values()
        yield events


def health(
    watched: Watched, now: float, stale_s: float, max_block_age_s: float
) -> tuple[bool, dict[str, Any]]:
    """Healthy when every keeper ticked within `stale_s` seconds and, for a keeper that reads
    blocks, the last block it saw is at most `max_block_age_s` old (a node stuck on an old
    head, or a loop stuck in a retry, is not healthy)."""
    detail: dict[str, Any] = {}
    ok = bool(watched.keepers)
    for name, metrics in sorted(watched.keepers.items()):
        _, gauges, _ = _snapshot(metrics)
        tick = gauges.get("last tick")
        block_time = gauges.get("last block time")
        alive = tick is not None and now - tick <= stale_s
        fresh = block_time is None or now - block_time <= max_block_age_s
        detail[name] = {
            "alive": alive,
            "last_tick_age_s": None if tick is None else round(now - tick, 3),
            "last_block": gauges.get("last block"),
            "last_block_age_s": None if block_time is None else round(now - block_time, 3),
            "block_recent": fresh,
        }
        ok = ok and alive and fresh
    return ok, detail


class MetricsServer:
    """`/metrics` (Prometheus text format) and `/health` (JSON) on a daemon thread."""

    def __init__(
        self,
        watched: Watched,
        port: int,
        host: str = "127.0.0.1",
        stale_s: float = 60.0,
        max_block_age_s: float = 300.0,
        clock: Callable[[], float] = time.time,
    ):
        self.watched = watched
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(KeeperCollector(watched))  # type: ignore[arg-type]
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/metrics":
                    body, status, kind = generate_latest(server.registry), 200, CONTENT_TYPE_LATEST
                elif path == "/health":
                    ok, detail = health(watched, clock(), stale_s, max_block_age_s)
                    body = json.dumps({"ok": ok, "keepers": detail}).encode()
                    status, kind = (200 if ok else 503), "application/json"
                else:
                    body, status, kind = b"not found\n", 404, "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # scrapes are not worth a log line
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
