"""The oracle keeper against a real node (anvil) and a local HTTP price endpoint: a replayed
Friday session, the weekend close, and Monday's reopen; a gap beyond the guard pushed as suspect
and confirmed by a second keeper with its own reporter account; and the real
`ape run keeper oracle` / `ape run deploy` commands as subprocesses."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
from decimal import Decimal

import ape
import pytest
from ape_cli import NETWORK, ape_run

from synthequity.constants import MarketStatus
from synthequity.contracts import at
from synthequity.keepers.oracle.runner import ApeFeedIO, OracleKeeper, replay_schedule
from synthequity.keepers.oracle.sources import BarReplaySource, DailyBar, HttpJsonSource
from synthequity.testing.http_source import PriceServer

pytestmark = pytest.mark.integration


def bars(friday: dt.date, monday: dt.date, monday_open: str = "182") -> dict:
    return {
        friday: DailyBar(friday, Decimal("180"), Decimal("184"), Decimal("178"), Decimal("183.2")),
        monday: DailyBar(
            monday, Decimal(monday_open), Decimal("190"), Decimal("120"), Decimal("186.5")
        ),
    }


def replay_over_http(
    oracle, reporter, calendar, prices: BarReplaySource, start, end, step, confirm_only=False
):
    """Run the in-process keeper (the confirming keeper if `confirm_only`) with an HTTP source
    that serves `prices` at virtual time."""
    with PriceServer() as server:
        source = HttpJsonSource(server.url + "#price=quote.price&time=quote.ts", calendar=calendar)
        keeper = OracleKeeper(
            io=ApeFeedIO(oracle, reporter), source=source, warp=True, confirm_only=confirm_only
        )

        def ticks():
            for t in replay_schedule(calendar, start, end, step):
                q = prices.quote(t)
                server.payload = {"quote": {"price": str(q.price), "ts": q.observed_at}}
                yield t

        keeper.run(ticks())
        assert server.requests == keeper.metrics["ticks"]
    return keeper


@pytest.fixture
def guard(project, oracle, admin):
    return project.GuardConsumer.deploy(oracle, 120, sender=admin)


def test_replayed_session_with_close_and_reopen(
    oracle, reporter, guard, calendar, weekend_gap, chain
):
    friday, monday = weekend_gap
    f_open, f_close = calendar.session(friday)
    m_open, _m_close = calendar.session(monday)
    prices = BarReplaySource(bars(friday, monday), calendar)

    keeper = replay_over_http(oracle, reporter, calendar, prices, f_open, m_open + 3_600, 600)

    rounds = [oracle.getRoundData(r) for r in range(1, oracle.latestRound() + 1)]
    statuses = [oracle.round_status(r) for r in range(1, oracle.latestRound() + 1)]
    times = [r[3] for r in rounds]
    # Friday: an OPEN print every 10 minutes, then the CLOSED push at the close
    friday_open = [
        t for t, s in zip(times, statuses, strict=True) if s == MarketStatus.OPEN and t < f_close
    ]
    assert friday_open[0] == f_open and len(friday_open) == (f_close - f_open) // 600
    close_round = statuses.index(MarketStatus.CLOSED) + 1
    assert oracle.getRoundData(close_round)[1:4] == (18_320_000_000, f_close, f_close)
    # nothing during the weekend; the reopen prints Monday's open
    assert not [t for t in times if f_close < t < m_open]
    reopen = times.index(m_open) + 1
    assert oracle.getRoundData(reopen)[1] == 18_200_000_000
    assert statuses[reopen - 1] == MarketStatus.OPEN
    assert not oracle.suspect()
    assert keeper.metrics["pushed"] == len(rounds) and keeper.metrics.get("refused", 0) == 0
    assert max(p.gas_used for p in keeper.pushes) <= 45_000
    # a consumer can trade Monday, within the freshness bound
    assert guard.price_for_risk() > 0


def test_weekend_reads_closed_to_consumers(oracle, reporter, guard, calendar, weekend_gap, chain):
    friday, monday = weekend_gap
    _f_open, f_close = calendar.session(friday)
    prices = BarReplaySource(bars(friday, monday), calendar)
    replay_over_http(oracle, reporter, calendar, prices, f_close - 1_800, f_close + 86_400, 600)
    assert oracle.market_status() == MarketStatus.CLOSED
    assert guard.mark_price() == 18_320 * 10**16
    with ape.reverts("market closed"):
        guard.price_for_risk()


def test_gap_beyond_the_guard_is_pushed_suspect_and_confirmed_by_a_second_keeper(
    oracle, reporter, reporter2, guard, calendar, weekend_gap, chain
):
    """A -34.5% Monday gap: the primary pushes it (it used to refuse it, leaving Friday's close
    on chain); the chain holds it HALTED; the confirming keeper — its own source, its own
    reporter account — confirms it a minute later and the market trades on it."""
    friday, monday = weekend_gap
    _f_open, f_close = calendar.session(friday)
    m_open, _ = calendar.session(monday)
    prices = BarReplaySource(bars(friday, monday, monday_open="120"), calendar)  # -34.5% gap
    keeper = replay_over_http(oracle, reporter, calendar, prices, f_close - 600, m_open + 1, 600)
    assert keeper.metrics.get("refused", 0) == 0 and keeper.metrics["suspect pushes"] == 1
    assert oracle.latestRoundData()[1] == 12_000_000_000  # the gap is on chain ...
    assert oracle.market_status() == MarketStatus.HALTED  # ... HALTED to consumers
    assert oracle.escalation()[:2] == (18_320_000_000, 12_000_000_000)
    with ape.reverts("market halted"):
        guard.price_for_risk()
    agreeing = BarReplaySource(bars(friday, monday, monday_open="120.5"), calendar)
    confirmer = replay_over_http(
        oracle, reporter2, calendar, agreeing, m_open + 60, m_open + 61, 600, confirm_only=True
    )
    assert confirmer.metrics["confirming pushes"] == 1
    confirmed = oracle.latestRoundData()[1]
    assert confirmer.pushes[-1].answer == confirmed  # the second source's print, ~$120.50
    assert abs(confirmed - 12_050_000_000) < 12_050_000_000 // 1_000
    assert oracle.market_status() == MarketStatus.OPEN and not oracle.suspect()
    assert guard.price_for_risk() == confirmed * 10**10


def test_keeper_cli_replays_and_dry_runs(oracle, calendar, weekend_gap, tmp_path, chain):
    friday, monday = weekend_gap
    f_open, _ = calendar.session(friday)
    m_open, _ = calendar.session(monday)
    start = dt.datetime.fromtimestamp(f_open - 600, dt.UTC).isoformat(timespec="seconds")
    end = dt.datetime.fromtimestamp(m_open + 1_800, dt.UTC).isoformat(timespec="seconds")
    common = [
        "keeper",
        "oracle",
        "--account",
        "TEST::1",
        "--oracle",
        oracle.address,
        "--source",
        "gbm:11",
        "--start",
        start,
        "--end",
        end,
        "--step",
        "1800",
        "--log-format",
        "json",
        "--no-summary",
    ]

    dry = ape_run(*common, "--dry-run", deployments_dir=tmp_path)
    assert dry.returncode == 0, dry.stderr[-2_000:]
    assert oracle.latestRound() == 0
    events = [json.loads(line) for line in dry.stderr.splitlines() if line.startswith("{")]
    assert any(e["event"] == "push (dry run)" for e in events)

    real = ape_run(*common, deployments_dir=tmp_path)
    assert real.returncode == 0, real.stderr[-2_000:]
    events = [json.loads(line) for line in real.stderr.splitlines() if line.startswith("{")]
    stopped = [e for e in events if e["event"] == "keeper stopped"][-1]
    assert stopped["pushed"] == oracle.latestRound() > 0
    statuses = {oracle.round_status(r) for r in range(1, oracle.latestRound() + 1)}
    assert statuses == {MarketStatus.CLOSED, MarketStatus.OPEN}

    # both roles in one process need a second reporter account, not the same one twice
    both = ape_run(
        *common, "--confirm-source", "gbm:12", "--confirm-account", "TEST::1", "--dry-run",
        deployments_dir=tmp_path,
    )  # fmt: skip
    assert both.returncode != 0
    assert "--confirm-account is the same account as --account" in both.stderr + both.stdout
    # the confirming keeper as its own process (and account)
    as_confirmer = ["--confirm-source" if a == "--source" else a for a in common]
    as_confirmer[as_confirmer.index("TEST::1")] = "TEST::2"
    idle = ape_run(*as_confirmer, "--dry-run", deployments_dir=tmp_path)
    assert idle.returncode == 0, idle.stderr[-2_000:]
    events = [json.loads(line) for line in idle.stderr.splitlines() if line.startswith("{")]
    assert not any(e["event"] == "push (dry run)" for e in events)  # the feed is not suspect


def test_deploy_cli_is_idempotent(tmp_path, project):
    args = ("deploy", "--account", "TEST::0", "--reporter", "TEST::1", "--symbols", "TSLA,AAPL")
    first = ape_run(*args, deployments_dir=tmp_path)
    assert first.returncode == 0, first.stderr[-2_000:]
    record = json.loads((tmp_path / "ethereum-local.json").read_text())
    second = ape_run(*args, deployments_dir=tmp_path)
    assert second.returncode == 0, second.stderr[-2_000:]
    out = second.stderr + second.stdout
    assert "TSLA oracle already at" in out and "sAAPL vault already at" in out
    assert "AAPL perp already at" in out
    again = json.loads((tmp_path / "ethereum-local.json").read_text())
    assert again == record  # nothing redeployed, nothing rewritten
    tsla = record["markets"]["TSLA"]
    feed = at(project.EquityOracle, tsla["oracle"]["address"])
    assert feed.hasRole(feed.REPORTER_ROLE(), tsla["oracle"]["reporters"][0])
    vault = at(project.SynthVault, tsla["vault"]["address"])
    assert vault.oracle() == feed.address
    assert vault.SYNTH() == tsla["synth"]["address"]
    assert vault.COLLATERAL() == record["core"]["collateral"]["address"]
    factory = at(project.SynthFactory, record["core"]["factory"]["address"])
    assert factory.vaults("sAAPL") == record["markets"]["AAPL"]["vault"]["address"]
    insurance = at(project.InsuranceFund, record["core"]["insurance"]["address"])
    assert insurance.hasRole(insurance.MARKET_ROLE(), vault)
    market = at(project.PerpMarket, tsla["perp"]["address"])
    assert factory.perps("TSLA") == market.address and market.POOL() == tsla["pool"]["address"]
    assert market.oracle() == feed.address
    assert insurance.hasRole(insurance.MARKET_ROLE(), market)


def test_live_keeper_stops_cleanly_on_sigterm(oracle, tmp_path):
    env = {**os.environ, "SYNTHEQUITY_DEPLOYMENTS_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [
            "ape",
            "run",
            "keeper",
            "oracle",
            "--network",
            NETWORK,
            "--account",
            "TEST::1",
            "--oracle",
            oracle.address,
            "--source",
            "gbm:5",
            "--log-format",
            "json",
            "--no-summary",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = []
    try:
        for line in proc.stderr:  # wait for the first push, then ask it to stop
            lines.append(line)
            if '"event": "pushed"' in line:
                proc.send_signal(signal.SIGTERM)
                break
        _, out = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines += out.splitlines()
    events = [json.loads(x)["event"] for x in lines if x.startswith("{")]
    assert proc.returncode == 0
    assert events.count("pushed") >= 1
    assert "shutdown requested" in events and events[-1] == "keeper stopped"
    assert oracle.latestRound() >= 1


def test_deploy_cli_discards_records_of_another_chain(tmp_path):
    stale = {
        "network": "ethereum-local",
        "genesis": "0x" + "ab" * 32,
        "markets": {
            "TSLA": {"oracle": {"address": "0x" + "11" * 20, "block": 1, "code_hash": "0x00"}}
        },
    }
    (tmp_path / "ethereum-local.json").write_text(json.dumps(stale))
    run = ape_run("deploy", "--account", "TEST::0", deployments_dir=tmp_path)
    assert run.returncode == 0, run.stderr[-2_000:]
    assert "previous records discarded" in run.stderr + run.stdout
    record = json.loads((tmp_path / "ethereum-local.json").read_text())
    assert (
        record["markets"]["TSLA"]["oracle"]["address"]
        != stale["markets"]["TSLA"]["oracle"]["address"]
    )
