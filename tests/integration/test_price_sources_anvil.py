"""The oracle keeper on anvil, fed by Pyth Hermes and Chainlink Data Streams as recorded
(tests/fixtures/sources, served from 127.0.0.1 with their key and HMAC checks), over the week
of 2025-06-06: a first push inside the band (the misread exponent before it refused, by the
real command's exit code too), Friday's close, a -30% Monday gap pushed suspect and confirmed
by the second source, and a 3:1 split the v10 feed announces staged on chain and applied at
Tuesday's open.

- two processes (the more independent deployment): the keeper's own entry point
  (`run_oracle_keeper`, what `ape run keeper oracle` calls) runs the primary on `--source
  pyth:<id>` and, separately, the confirming keeper on `--confirm-source datastreams:<id>`,
  each with its own reporter account;
- one process: the real `ape run keeper oracle --source pyth:<id> --confirm-source
  datastreams:<id> --account R1 --confirm-account R2` pushes Monday's gap, confirms it with the
  second account and stages the split in one command."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from ape_cli import ape_run, own_chain

from synthequity.constants import WAD, MarketStatus
from synthequity.keepers.oracle.cli import run_oracle_keeper
from synthequity.testing.price_apis import (
    DS_KEY,
    DS_SECRET,
    DS_V10,
    FRI_1900,
    FRI_CLOSE,
    MON_CLOSE,
    MON_OPEN,
    PYTH_KEY,
    PYTH_TSLA,
    SPLIT_AT,
    TUE_OPEN,
    PriceApis,
    recorded,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def apis(monkeypatch):
    with PriceApis(pyth_key=PYTH_KEY, ds_key=DS_KEY, ds_secret=DS_SECRET) as srv:
        for name, value in {
            "PYTH_URL": srv.url,
            "PYTH_API_KEY": PYTH_KEY,
            "DATASTREAMS_URL": srv.url,
            "DATASTREAMS_API_KEY": DS_KEY,
            "DATASTREAMS_API_SECRET": DS_SECRET,
        }.items():
            monkeypatch.setenv(f"SYNTHEQUITY_ORACLE_{name}", value)
        yield srv


@pytest.fixture
def week_of_june_6(networks):
    with own_chain(networks, chain_id=31361, timestamp=FRI_1900 - 600) as node:
        yield node


@pytest.fixture
def quiet_logs():
    """`run_oracle_keeper` configures the process's `synthequity` logger: put it back."""
    root = logging.getLogger("synthequity")
    saved = root.handlers[:], root.level, root.propagate
    yield
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def keeper_at(networks, account, oracle, ts: int, **opts: Any):
    """One run of the keeper's entry point ticking once at `ts` (a replay window of one tick:
    the chain's clock follows, as a live keeper's would)."""
    options: dict[str, Any] = dict(
        source=None,
        confirm_source=None,
        oracle_address=oracle.address,
        symbol="TSLA",
        splits=None,
        start=iso(ts),
        end=iso(ts + 1),
        step=60,
        speed=0.0,
        deviation_bps=None,
        heartbeat_open_s=None,
        expect="150:400",
        stage_splits=False,
        dry_run=False,
        log_format="json",
        summary=False,
    )
    options.update(opts)
    return run_oracle_keeper(networks.provider.network, account, **options)


def test_two_processes_pyth_primary_datastreams_confirmer_escalate_and_stage_a_split(
    week_of_june_6, apis, project, networks, admin, reporter, quiet_logs, tmp_path
):
    oracle = project.EquityOracle.deploy(admin, 8, "TSLA / USD", 2_500, sender=admin)
    # the primary's key reports; the confirming keeper's key reports and, on this testnet,
    # holds DEFAULT_ADMIN so that it stages the splits its v10 feed announces
    for who in (reporter, admin):
        oracle.grantRole(oracle.REPORTER_ROLE(), who, sender=admin)
    pyth = f"pyth:{PYTH_TSLA}"
    confirm = dict(confirm_source=f"datastreams:{DS_V10}", stage_splits=True)

    # Friday 19:00 — the exponent misread: refused by the band, nothing on chain; the real
    # command says so with its exit code
    apis.pyth = recorded("pyth_wrong_expo.json")
    cli = ape_run(
        "keeper", "oracle", "--account", "TEST::1", "--oracle", oracle.address,
        "--source", pyth, "--expect", "150:400", "--start", iso(FRI_1900 + 1),
        "--end", iso(FRI_1900 + 2), "--no-summary",
        deployments_dir=tmp_path, node_url=week_of_june_6.url,
    )  # fmt: skip
    assert cli.returncode != 0 and "refused 1 push(es)" in cli.stderr + cli.stdout
    assert "outside the expected band [150, 400]" in cli.stderr
    assert oracle.latestRound() == 0
    # read right, the first round is pushed
    apis.pyth = recorded("pyth_friday.json")
    primary = keeper_at(networks, reporter, oracle, FRI_1900 + 3, source=pyth).primary
    assert [p.reason for p in primary.pushes] == ["first round"]
    assert oracle.latestRoundData()[1] == 30_012_345_000
    # the v10 feed announces a 3:1 split for Tuesday 00:00 UTC: the confirming keeper
    # (nothing to confirm) stages it
    apis.datastreams[DS_V10] = recorded("ds_v10_friday.json")
    confirmer = keeper_at(networks, admin, oracle, FRI_1900 + 5, **confirm).confirmer
    assert confirmer.pushes == [] and confirmer.metrics["splits staged"] == 1
    assert oracle.staged_split() == (3, SPLIT_AT)

    # Friday's close: Hermes stops publishing; the calendar says CLOSED
    apis.pyth = recorded("pyth_friday_last.json")
    primary = keeper_at(networks, reporter, oracle, FRI_CLOSE, source=pyth).primary
    assert [p.reason for p in primary.pushes] == ["status OPEN -> CLOSED"]
    assert oracle.reported_status() == MarketStatus.CLOSED

    # Monday's open: -30%, beyond the 25% guard — pushed, held HALTED ...
    apis.pyth = recorded("pyth_monday_open.json")
    primary = keeper_at(networks, reporter, oracle, MON_OPEN + 5, source=pyth).primary
    assert primary.metrics["suspect pushes"] == 1
    assert oracle.suspect() and oracle.market_status() == MarketStatus.HALTED
    assert oracle.escalation()[:2] == (30_100_000_000, 21_000_000_000)
    # ... until the second source, its own reporter, agrees a minute later (path a)
    apis.datastreams[DS_V10] = recorded("ds_v10_monday.json")
    confirmer = keeper_at(networks, admin, oracle, MON_OPEN + 61, **confirm).confirmer
    assert [p.reason for p in confirmer.pushes] == ["confirm suspect price"]
    assert confirmer.metrics["splits staged"] == 0  # already staged
    assert not oracle.suspect() and oracle.market_status() == MarketStatus.OPEN
    assert oracle.latestRoundData()[1] == 21_060_000_000

    # Monday's close, then Tuesday's open in new shares: the split applies with it
    apis.pyth = recorded("pyth_monday_last.json")
    keeper_at(networks, reporter, oracle, MON_CLOSE, source=pyth)
    apis.pyth = recorded("pyth_tuesday_open.json")
    primary = keeper_at(networks, reporter, oracle, TUE_OPEN + 5, source=pyth).primary
    assert [p.reason for p in primary.pushes] == ["status CLOSED -> OPEN"]  # not a jump
    assert oracle.shares_multiplier_wad() == 3 * WAD and oracle.staged_split() == (0, 0)
    assert not oracle.suspect() and oracle.market_status() == MarketStatus.OPEN
    rid = oracle.latestRound()
    assert oracle.latestRoundData()[1] == 7_120_000_000
    assert (
        oracle.round_multiplier_wad(rid - 1) == WAD and oracle.round_multiplier_wad(rid) == 3 * WAD
    )
    # per base share, Tuesday's open is within 1% of Monday's $213 close
    assert abs(7_120_000_000 * 3 / 21_300_000_000 - 1) < 0.01
    # every Hermes request carried the key; every Data Streams request was signed (else 401)
    assert all(h.get("Authorization") for h in apis.headers_seen)


def test_one_command_runs_both_sources_with_two_reporters(
    week_of_june_6, apis, project, networks, admin, reporter, quiet_logs, tmp_path
):
    """`ape run keeper oracle --source pyth:<id> --confirm-source datastreams:<id> --account
    R1 --confirm-account R2 --config oracle.toml` (the band and the metrics port in the
    file), one process over Monday's open: it pushes the gap with R1, R2
    confirms it from the second source (path a: a different reporter) and stages the 3:1
    split the v10 feed announces."""
    oracle = project.EquityOracle.deploy(admin, 8, "TSLA / USD", 2_500, sender=admin)
    # R1 the primary's key; R2 the confirming keeper's, which on this testnet holds
    # DEFAULT_ADMIN too, so that it stages the splits its v10 feed announces
    for who in (reporter, admin):
        oracle.grantRole(oracle.REPORTER_ROLE(), who, sender=admin)
    pyth = f"pyth:{PYTH_TSLA}"
    # Friday: the first round and the close (the primary alone)
    apis.pyth = recorded("pyth_friday.json")
    keeper_at(networks, reporter, oracle, FRI_1900 + 3, source=pyth)
    apis.pyth = recorded("pyth_friday_last.json")
    keeper_at(networks, reporter, oracle, FRI_CLOSE, source=pyth)
    assert oracle.latestRound() == 2 and oracle.reported_status() == MarketStatus.CLOSED
    first_block = networks.provider.chain_manager.blocks.head.number + 1

    # Monday from a minute after the open, five ticks, as Hermes and Data Streams answer then
    apis.pyth = recorded("pyth_monday_open.json")
    apis.datastreams[DS_V10] = recorded("ds_v10_monday.json")
    # the band and the metrics port from the operator's config file (flags override it)
    config = tmp_path / "oracle.toml"
    config.write_text('expect = "150:400"\nmetrics_port = 0\ndeviation_bps = 50\n')
    cli = ape_run(
        "keeper", "oracle", "--account", "TEST::1", "--confirm-account", "TEST::0",
        "--oracle", oracle.address, "--source", pyth,
        "--confirm-source", f"datastreams:{DS_V10}", "--stage-splits", "--config", str(config),
        "--start", iso(MON_OPEN + 60), "--end", iso(MON_OPEN + 360), "--no-summary",
        deployments_dir=tmp_path, node_url=week_of_june_6.url,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr[-3_000:]
    logged = [json.loads(line) for line in cli.stderr.splitlines() if line.startswith("{")]
    assert [e["event"] for e in logged if e["event"] == "metrics served"] == ["metrics served"]
    jumps = [(e["role"], e["reason"]) for e in logged if e["event"] == "jump pushed as suspect"]
    assert jumps == [("primary", "jump of 3023 bps beyond the guard (2500 bps): pushed as suspect")]
    staged = [e for e in logged if e["event"] == "split staged from the feed"]
    assert [(e["role"], e["ratio"]) for e in staged] == [("confirming", 3)]
    stopped = {e["role"]: e for e in logged if e["event"] == "keeper stopped"}
    assert stopped["primary"]["pushed"] == 1 and stopped["primary"]["ticks"] == 5
    assert stopped["confirming"]["confirming pushes"] == 1
    assert stopped["confirming"]["splits staged"] == 1

    # on chain: the gap by R1, held suspect, cleared as `confirmed` by R2; the split staged
    head = networks.provider.chain_manager.blocks.head.number
    suspect = list(oracle.FeedSuspect.range(first_block, head + 1))
    assert [(lg.round_id, lg.reporter, lg.answer) for lg in suspect] == [
        (3, reporter.address, 21_000_000_000)
    ]
    cleared = list(oracle.FeedCleared.range(first_block, head + 1))
    assert [(lg.round_id, lg.by, lg.reason) for lg in cleared] == [(4, admin.address, "confirmed")]
    assert oracle.latestRound() == 4 and oracle.latestRoundData()[1] == 21_060_000_000
    assert not oracle.suspect() and oracle.market_status() == MarketStatus.OPEN
    assert oracle.staged_split() == (3, SPLIT_AT)
    assert all(h.get("Authorization") for h in apis.headers_seen)
