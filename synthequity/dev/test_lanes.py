"""`make test`: the whole suite in four parallel lanes, with a progress line while it runs.

- `boa`: the tests that need no node (the direct titanoboa state machines, property tests,
  pure keeper/model logic, the regressions deployed through `synthequity.testing`), run by
  plain pytest without Ape's plugin;
- `dapp`: the wallet dapp's unit tests, build and end-to-end browser tests (tests/dapp);
- `ape-unit` and `ape-integration` (with the Ape-driven machines and the slowest unit files,
  `SECOND_NODE`, to even the two out): everything else through `ape test`, each lane against its
  own anvil (the unit lane's on a free port through `APE_FOUNDRY_HOST`, the integration lane's
  on Ape's default), so the two never share a chain.

CI has two cores: the Ape lanes spend much of their time waiting on their node, so three lanes
finish well before one would. Each lane writes `.test-logs/<lane>.log`; a failing lane's log
is printed whole at the end and the exit status is non-zero.

    python -m synthequity.dev.test_lanes [--only boa,ape-unit] [-- extra pytest args]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# Files run by the boa lane (paths relative to the project root). A test file not listed here
# runs in an Ape lane, where it works too: this list only decides where it runs fastest.
BOA_LANE: tuple[str, ...] = (
    "tests/property",
    "tests/stateful/test_lp_machine.py",
    "tests/stateful/test_oracle_machine.py",
    "tests/stateful/test_perp_machine.py",
    "tests/stateful/test_vault_machine.py",
    "tests/unit/test_admin_logic.py",
    "tests/unit/test_conditional_orders.py",
    "tests/unit/test_contract_review.py",
    "tests/unit/test_finding_regressions_orders.py",
    "tests/unit/test_finding_regressions_pool.py",
    "tests/unit/test_finding_regressions_vault.py",
    "tests/unit/test_keeper_ops.py",
    "tests/unit/test_logs.py",
    "tests/unit/test_market_hours.py",
    "tests/unit/test_oracle_escalation.py",
    "tests/unit/test_oracle_keeper_logic.py",
    "tests/unit/test_perp_keeper_logic.py",
    "tests/unit/test_perp_model.py",
    "tests/unit/test_price_sources.py",
    "tests/unit/test_price_sources_http.py",
    "tests/unit/test_price_sources_keeper.py",
    "tests/unit/test_redemption_pool.py",
    "tests/unit/test_replay_model.py",
    "tests/unit/test_scenarios.py",
    "tests/unit/test_sim_agents.py",
    "tests/unit/test_sim_mixes.py",
    "tests/unit/test_lean_install.py",
    "tests/unit/test_sim_report.py",
    "tests/unit/test_sim_sweep.py",
    "tests/unit/test_sim_stability_pool.py",
    "tests/unit/test_sim_dividends.py",
    "tests/unit/test_testing_api.py",
    "tests/unit/test_vault_keeper_logic.py",
)
COMMON = ["-p", "no:cacheprovider", "-q", "--durations=25"]
PROGRESS = re.compile(r"\[\s*(\d+)%\]")
RESULTS = re.compile(r"^([.FEsxX]+)(?:\s+\[\s*\d+%\])?$", re.M)  # pytest -q progress rows
SUMMARY = re.compile(r"^=*\s*(\d+ (?:passed|failed|error).* in [\d.]+s[^=\n]*)", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lane:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    started: float = 0.0
    ended: float | None = None

    def start(self, logs: Path) -> None:
        self.log = logs / f"{self.name}.log"
        out = self.log.open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )

    def text(self) -> str:
        assert self.log is not None
        return self.log.read_text(errors="replace")

    def status(self) -> str:
        assert self.proc is not None
        if self.proc.poll() is None:
            text = self.text()
            rows = RESULTS.findall(text)
            done = sum(len(row) for row in rows)
            failed = sum(row.count("F") + row.count("E") for row in rows)
            found = PROGRESS.findall(text)
            pct = f" ({found[-1]}%)" if found else ""
            return f"{self.name} {done} done{pct}" + (f", {failed} FAILED" if failed else "")
        if self.ended is None:
            self.ended = time.monotonic()
        verdict = "ok" if self.proc.returncode == 0 else f"FAILED ({self.proc.returncode})"
        return f"{self.name} {verdict} in {self.ended - self.started:.0f}s"


# Ape files moved from the unit lane to the integration lane's node, to even the two out.
SECOND_NODE: tuple[str, ...] = (
    "tests/stateful",  # the short Ape-driven machines (the boa ones are in BOA_LANE)
    "tests/unit/test_bench.py",
)


def lanes(extra: list[str]) -> list[Lane]:
    boa = [f"--ignore={p}" for p in BOA_LANE]
    moved = [f"--ignore={p}" for p in SECOND_NODE]
    return [
        Lane(
            "boa", [sys.executable, "-m", "pytest", "-p", "no:ape_test", *COMMON, *BOA_LANE, *extra]
        ),
        Lane(
            "ape-unit",
            ["ape", "test", "tests/unit", *boa, *moved, *COMMON, *extra],
            {"APE_FOUNDRY_HOST": f"http://127.0.0.1:{free_port()}"},
        ),
        # Ape's default node (127.0.0.1:8545): `APE_FOUNDRY_HOST` would also override the
        # host of the nodes these tests start for themselves (`ape_cli.own_chain`).
        Lane(
            "ape-integration",
            ["ape", "test", "tests/integration", *SECOND_NODE, *boa, *COMMON, *extra],
        ),
        # the wallet dapp: Vitest, the build, and the browser tests against a driver that
        # starts its own anvil on free ports (tests/dapp)
        Lane("dapp", [sys.executable, "-m", "pytest", "-p", "no:ape_test", *COMMON, "tests/dapp"]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated lane names")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between lines")
    parser.add_argument("extra", nargs="*", help="passed to every lane's pytest")
    args = parser.parse_args(argv)
    chosen = [lane for lane in lanes(args.extra) if not args.only or lane.name in args.only]
    logs = Path(".test-logs")
    logs.mkdir(exist_ok=True)
    t0 = time.monotonic()
    for lane in chosen:
        lane.start(logs)
    print(f"make test: {len(chosen)} lanes, logs in {logs}/", flush=True)
    next_line = t0 + args.every
    while any(lane.proc is not None and lane.proc.poll() is None for lane in chosen):
        time.sleep(1.0)
        if time.monotonic() >= next_line:
            next_line += args.every
            elapsed = time.monotonic() - t0
            line = " | ".join(lane.status() for lane in chosen)
            print(f"[{elapsed // 60:02.0f}:{elapsed % 60:02.0f}] {line}", flush=True)
    failed = [lane for lane in chosen if lane.proc is not None and lane.proc.returncode != 0]
    for lane in chosen:
        text = lane.text()
        if lane in failed:
            print(f"\n======== {lane.name}: full log ========\n{text}", flush=True)
        else:
            tail = text[text.rfind("slowest") - 40 :] if "slowest" in text else text[-3000:]
            print(f"\n======== {lane.name} ========\n{tail.strip()}", flush=True)
    elapsed = time.monotonic() - t0
    print(f"\n{' | '.join(lane.status() for lane in chosen)} — {elapsed:.0f}s in all")
    for lane in chosen:
        found = SUMMARY.findall(lane.text())
        print(f"  {lane.name}: {found[-1] if found else 'no summary'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
