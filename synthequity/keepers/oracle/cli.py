"""Wiring for `ape run keeper oracle`: settings, sources, roles (primary, confirming, or
both), mode (live or replay), summary.

One source and one signing account per role (docs/spec.md §9, docs/design/oracle.md "Oracle
keeper"): the primary reads `--source` and signs with `--account`; the confirming keeper reads
`--confirm-source` and signs with `--account` in a process of its own (the more independent
deployment: another host, another key), or with `--confirm-account` beside the primary in one
process (`logic.roles_refusal` says which combinations hold).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from synthequity import logs
from synthequity.contracts import at
from synthequity.corporate_actions import parse_dividends, parse_splits
from synthequity.deployments import MarketContracts
from synthequity.keepers.common import StopFlag
from synthequity.keepers.metrics import MetricsServer, Watched
from synthequity.keepers.oracle.logic import roles_refusal
from synthequity.keepers.oracle.runner import (
    ApeFeedIO,
    OracleKeeper,
    live_schedule,
    replay_schedule,
    run_keepers,
)
from synthequity.keepers.oracle.settings import load_oracle_settings
from synthequity.keepers.oracle.sources import (
    CsvReplaySource,
    HttpClient,
    PriceSource,
    PythHermes,
    SourceConfig,
    parse_source,
)
from synthequity.logs import event
from synthequity.market_hours import nyse, to_ts, utc
from synthequity.reports.oracle import summarize, summary_table
from synthequity.ui import make_console

console = make_console(stderr=True)
log = logging.getLogger("synthequity.keeper.oracle")
# sources read over the network: their first push needs a band (--expect) off local chains
NETWORK_SOURCES = ("http", "https", "pyth", "datastreams")


@dataclass(frozen=True)
class OracleRun:
    """The keepers one `ape run keeper oracle` ran: the primary, the confirming keeper, or both
    (one process, two reporter accounts)."""

    primary: OracleKeeper | None
    confirmer: OracleKeeper | None

    @property
    def keepers(self) -> tuple[OracleKeeper, ...]:
        return tuple(k for k in (self.primary, self.confirmer) if k is not None)

    @property
    def refused(self) -> int:
        return sum(k.metrics["refused"] for k in self.keepers)


def build_sources(
    specs: dict[str, str | None],
    calendar: Any,
    splits: Any,
    config: SourceConfig,
) -> dict[str, PriceSource]:
    """The sources of the roles given (`role -> spec`); Pyth sources share one Hermes client,
    so both roles' feed ids go in one request a poll."""
    hermes = PythHermes(
        config.pyth_url, config.pyth_api_key, HttpClient(config.timeout_s, config.backoff_s)
    )
    return {
        role: parse_source(spec, calendar, splits, config, hermes=hermes)
        for role, spec in specs.items()
        if spec
    }


def run_oracle_keeper(
    network: Any, account: Any, confirm_account: Any = None, **opt: Any
) -> OracleRun:
    from ape import chain, project
    from ape.logging import logger as ape_logger

    logs.configure(json_lines=opt["log_format"] == "json")
    ape_logger.set_level("WARNING")  # our structured logs say what each transaction did
    keys = (
        "deviation_bps",
        "heartbeat_open_s",
        "splits",
        "dividends",
        "expect",
        "stage_splits",
        "metrics_port",
    )
    # a flag left out (None, or False for --stage-splits) leaves the environment's value
    overrides = {k: opt[k] for k in keys if opt.get(k) is not None and opt.get(k) is not False}
    try:
        settings = load_oracle_settings(opt.get("config"), **overrides)
        policy = settings.policy()
        source_config = settings.source_config()
        dividends = parse_dividends(settings.dividends)
    except (ValueError, OSError) as exc:
        raise SystemExit(f"refused: {exc}") from None
    calendar = nyse()
    splits = parse_splits(settings.splits)
    refusal = roles_refusal(
        opt.get("source"),
        opt.get("confirm_source"),
        getattr(account, "address", None),
        getattr(confirm_account, "address", None),
    )
    if refusal is not None:
        raise SystemExit(f"refused: {refusal}")
    specs = {"primary": opt.get("source"), "confirming": opt.get("confirm_source")}
    try:
        sources = build_sources(specs, calendar, splits, source_config)
    except ValueError as exc:
        raise SystemExit(f"refused: {exc}") from None
    for spec in filter(None, specs.values()):
        kind = spec.split(":", 1)[0]
        if kind in NETWORK_SOURCES and policy.expect is None and not network.is_local:
            raise SystemExit(
                f"refused: {kind} on {network.name}: give the first push a band, "
                "--expect LO:HI in USD (docs/runbooks/price-sources.md)"
            )

    if opt.get("oracle_address"):
        oracle = at(project.EquityOracle, opt["oracle_address"])
    else:
        try:
            oracle = MarketContracts.load(network, opt["symbol"]).oracle
        except LookupError as exc:
            raise SystemExit(f"refused: {exc}") from None
    replay = (
        any(isinstance(src, CsvReplaySource) for src in sources.values())
        or opt.get("start") is not None
    )
    if replay and not network.is_local:
        raise SystemExit("a replay moves the chain's clock: it needs a local chain (anvil)")

    stop = StopFlag().install()
    signers = {
        "primary": account,
        "confirming": confirm_account if "primary" in sources else account,
    }
    keepers = {
        role: OracleKeeper(
            io=ApeFeedIO(oracle, signers[role]),
            source=src,
            policy=policy,
            confirm_only=role == "confirming",
            warp=replay,
            splits=splits,
            dividends=dividends,
            dry_run=opt["dry_run"],
            rpc_attempts=settings.rpc_attempts,
            stop=stop,
            stage_splits=settings.stage_splits,
        )
        for role, src in sources.items()
    }
    run = OracleRun(keepers.get("primary"), keepers.get("confirming"))
    server = None
    if settings.metrics_port is not None:
        watched = Watched(labels={"market": opt.get("symbol") or oracle.description()})
        for role, keeper in keepers.items():
            watched.add(f"oracle {role}", keeper.metrics)
        server = MetricsServer(
            watched,
            settings.metrics_port,
            host=settings.metrics_host,
            stale_s=settings.health_stale_s,
        ).start()
        event(log, "metrics served", host=settings.metrics_host, port=server.port)
    started = time.time()
    try:
        if replay:
            start = to_ts(opt["start"]) if opt.get("start") else chain.blocks.head.timestamp
            csv_days = [
                src.last_day() for src in sources.values() if isinstance(src, CsvReplaySource)
            ]
            default_end = to_ts(max(csv_days)) + 86_400 if csv_days else start + 7 * 86_400
            end = to_ts(opt["end"]) if opt.get("end") else default_end
            head = chain.blocks.head.timestamp
            if head > start + 60 and not opt["dry_run"]:
                raise SystemExit(
                    f"the chain's clock ({utc(head):%Y-%m-%d %H:%M}) is past the replay start "
                    f"({utc(start):%Y-%m-%d %H:%M}); start anvil with --timestamp {start}"
                )
            run_keepers(
                run.keepers, replay_schedule(calendar, start, end, opt["step"]), speed=opt["speed"]
            )
        else:
            run_keepers(run.keepers, live_schedule(settings.poll_interval_s), live=True)
    finally:
        if server is not None:
            server.stop()
    if opt.get("summary", True):
        verb = "decided (dry run)" if opt["dry_run"] else "made"
        for keeper in run.keepers:
            who = " (confirming keeper)" if keeper.confirm_only else ""
            console.print(
                summary_table(
                    summarize(keeper.pushes),
                    title=f"{oracle.description()}: {len(keeper.pushes)} pushes {verb}{who} "
                    f"in {time.time() - started:.1f} s",
                )
            )
            console.print(keeper.metrics.as_fields())
    return run
