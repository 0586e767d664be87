"""Wiring for `ape run keeper oracle`: settings, source, role (primary or confirming), mode
(live or replay), summary.

One signing account and one source per process (docs/spec.md §9): the primary keeper reads
`--source`; the confirming keeper is a second process with its own REPORTER account reading
`--confirm-source` (docs/design/oracle.md "Two sources").
"""

from __future__ import annotations

import time
from typing import Any

from synthequity import logs
from synthequity.contracts import at
from synthequity.corporate_actions import parse_splits
from synthequity.deployments import MarketContracts
from synthequity.keepers.common import StopFlag
from synthequity.keepers.oracle.runner import (
    ApeFeedIO,
    OracleKeeper,
    live_schedule,
    replay_schedule,
)
from synthequity.keepers.oracle.settings import OracleKeeperSettings
from synthequity.keepers.oracle.sources import CsvReplaySource, parse_source
from synthequity.market_hours import nyse, to_ts, utc
from synthequity.reports.oracle import summarize, summary_table
from synthequity.ui import make_console

console = make_console(stderr=True)
# sources read over the network: their first push needs a band (--expect) off local chains
NETWORK_SOURCES = ("http", "https", "pyth", "datastreams")


def run_oracle_keeper(network: Any, account: Any, **opt: Any) -> OracleKeeper:
    from ape import chain, project
    from ape.logging import logger as ape_logger

    logs.configure(json_lines=opt["log_format"] == "json")
    ape_logger.set_level("WARNING")  # our structured logs say what each transaction did
    keys = ("deviation_bps", "heartbeat_open_s", "splits", "expect", "stage_splits")
    overrides = {k: opt[k] for k in keys if opt.get(k)}
    try:
        settings = OracleKeeperSettings(**overrides)
        policy = settings.policy()
        source_config = settings.source_config()
    except ValueError as exc:
        raise SystemExit(f"refused: {exc}") from None
    calendar = nyse()
    splits = parse_splits(settings.splits)
    if bool(opt.get("source")) == bool(opt.get("confirm_source")):
        raise SystemExit(
            "refused: give --source (the primary keeper) or --confirm-source (the confirming "
            "keeper, a second process with its own reporter account), not both or neither"
        )
    confirm_only = bool(opt.get("confirm_source"))
    spec = opt["confirm_source"] or opt["source"]
    try:
        source = parse_source(spec, calendar, splits, source_config)
    except ValueError as exc:
        raise SystemExit(f"refused: {exc}") from None
    if spec.split(":", 1)[0] in NETWORK_SOURCES and policy.expect is None and not network.is_local:
        raise SystemExit(
            f"refused: {spec.split(':', 1)[0]} on {network.name}: give the first push a band, "
            "--expect LO:HI in USD (docs/runbooks/price-sources.md)"
        )

    if opt.get("oracle_address"):
        oracle = at(project.EquityOracle, opt["oracle_address"])
    else:
        try:
            oracle = MarketContracts.load(network, opt["symbol"]).oracle
        except LookupError as exc:
            raise SystemExit(f"refused: {exc}") from None
    replay = isinstance(source, CsvReplaySource) or opt.get("start") is not None
    if replay and not network.is_local:
        raise SystemExit("a replay moves the chain's clock: it needs a local chain (anvil)")

    keeper = OracleKeeper(
        io=ApeFeedIO(oracle, account),
        source=source,
        policy=policy,
        confirm_only=confirm_only,
        warp=replay,
        splits=splits,
        dry_run=opt["dry_run"],
        rpc_attempts=settings.rpc_attempts,
        stop=StopFlag().install(),
        stage_splits=settings.stage_splits,
    )
    started = time.time()
    if replay:
        start = to_ts(opt["start"]) if opt.get("start") else chain.blocks.head.timestamp
        if isinstance(source, CsvReplaySource):
            default_end = to_ts(source.last_day()) + 86_400
        else:
            default_end = start + 7 * 86_400
        end = to_ts(opt["end"]) if opt.get("end") else default_end
        head = chain.blocks.head.timestamp
        if head > start + 60 and not opt["dry_run"]:
            raise SystemExit(
                f"the chain's clock ({utc(head):%Y-%m-%d %H:%M}) is past the replay start "
                f"({utc(start):%Y-%m-%d %H:%M}); start anvil with --timestamp {start}"
            )
        keeper.run(replay_schedule(calendar, start, end, opt["step"]), speed=opt["speed"])
    else:
        keeper.run(live_schedule(settings.poll_interval_s), live=True)
    if opt.get("summary", True):
        verb = "decided (dry run)" if opt["dry_run"] else "made"
        if confirm_only:
            verb += " (confirming keeper)"
        console.print(
            summary_table(
                summarize(keeper.pushes),
                title=f"{oracle.description()}: {len(keeper.pushes)} pushes {verb} "
                f"in {time.time() - started:.1f} s",
            )
        )
        console.print(keeper.metrics.as_fields())
    return keeper
