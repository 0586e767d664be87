"""The fast in-process replay (`python -m synthequity.sim`: deploy_protocol in titanoboa, run in
revm) gives the SAME numbers as the replay through a node (`ape run deploy` + `ape run
simulate` on anvil), to the wei: the same seed and prints, a week of 2022 (a +8.7% rally and
a holiday). What differs is only how long it took and what `ape run deploy` minted besides
(the demo accounts' USD: the supply checks' totals). Its own anvil, whose clock starts at the
window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from ape_cli import ape_run, free_port

from synthequity.dev.devchain import Anvil
from synthequity.market_hours import to_ts

pytestmark = pytest.mark.integration

WINDOW = "2022-09-01:2022-09-09"
ARGS = ("--window", WINDOW, "--agents", "9", "--seed", "3", "--no-charts")
TIMING = {"backend", "ticks_per_s", "replay_s", "wall_s", "checks"}
# checks whose totals include what `ape run deploy` funds besides the replay (demo accounts)
SUPPLY = ("holders whose balance", "Σ holder balances", "totalSupply ==")


def _rpc(url: str, method: str, params: list) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as answer:
        return json.loads(answer.read())["result"]


def test_anvil_and_in_process_replays_agree_to_the_wei(tmp_path):
    # an hour before the window, 1 s per block from genesis (deploying takes ~100 blocks): the
    # vault's fee index starts at its deployment block's time, which the in-process chain
    # then deploys at
    genesis = to_ts(WINDOW.split(":")[0]) - 3_600
    node = Anvil(port=free_port(), timestamp=genesis, chain_id=31341)
    with node:
        _rpc(node.url, "anvil_setBlockTimestampInterval", [1])
        deployed = ape_run(
            "deploy",
            "--account",
            "TEST::0",
            "--reporter",
            "TEST::1",
            deployments_dir=tmp_path / "deployments",
            node_url=node.url,
        )
        assert deployed.returncode == 0, deployed.stderr[-3000:]
        record = json.loads((tmp_path / "deployments" / "ethereum-local.json").read_text())
        at = genesis + record["markets"]["TSLA"]["vault"]["block"]
        argv = [sys.executable, "-m", "synthequity.sim", *ARGS, "--deployed-at", str(at)]
        fast = subprocess.Popen(  # in-process, no node: runs while anvil replays
            [*argv, "--out", str(tmp_path / "revm")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
        slow = ape_run(
            "simulate",
            *ARGS,
            "--out",
            str(tmp_path / "anvil"),
            deployments_dir=tmp_path / "deployments",
            node_url=node.url,
            timeout=600,
        )
    printed, _ = fast.communicate(timeout=600)
    assert slow.returncode == 0, slow.stdout[-3000:] + slow.stderr[-3000:]
    assert fast.returncode == 0, printed[-3000:]
    a = json.loads((tmp_path / "anvil" / "summary.json").read_text())
    b = json.loads((tmp_path / "revm" / "summary.json").read_text())
    assert (a["backend"], b["backend"]) == ("anvil", "revm")
    # the replay did something worth comparing: prints, fills, agents' money moving
    assert a["ticks"] == 31 and a["oracle_pushes"] > 31 and a["orders_filled"] >= 5
    assert a["balanced"] and b["balanced"] and a["agent_reverts"] == 0
    assert {k: v for k, v in a.items() if k not in TIMING} == {
        k: v for k, v in b.items() if k not in TIMING
    }
    for ca, cb in zip(a["checks"], b["checks"], strict=True):
        assert ca[0].split(" (of")[0] == cb[0].split(" (of")[0] and ca[3] and cb[3]
        if not ca[0].startswith(SUPPLY):
            assert ca[1:] == cb[1:], ca[0]  # the books: to the wei
    # every sample of the series: price, statuses, funding, OI, pool NAV, insurance fund
    assert (tmp_path / "anvil" / "samples.csv").read_text() == (
        tmp_path / "revm" / "samples.csv"
    ).read_text()
    assert "ticks/s" in printed
