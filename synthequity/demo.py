"""`make demo`: a local chain whose clock starts at the replay window, the protocol deployed
with `ape run deploy`, the oracle keeper replaying real TSLA prices with `ape run keeper
oracle`, and a report read back from the chain with `ape run report oracle` — the commands a
user would type, in order."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from synthequity.devchain import DEFAULT_PORT, Anvil
from synthequity.market_hours import to_ts

NETWORK = "ethereum:local:foundry"
CSV = "data/tsla_daily.csv"
# Thanksgiving week 2022: a US holiday (Thu), an early close (Fri 13:00), a weekend.
WINDOW = ("2022-11-21", "2022-11-29")


def step(title: str, cmd: list[str]) -> None:
    print(f"\n==> {title}\n$ {' '.join(cmd)}", flush=True)
    t0 = time.time()
    # the demo's chain is thrown away at the end: keep its records out of deployments/
    env = {**os.environ, "SYNTHEQUITY_DEPLOYMENTS_DIR": ".devchain/deployments"}
    subprocess.run(cmd, check=True, env=env)
    print(f"    ({time.time() - t0:.1f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--start", default=WINDOW[0])
    ap.add_argument("--end", default=WINDOW[1])
    ap.add_argument("--step", default="300", help="virtual seconds between keeper ticks")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = ap.parse_args(argv)

    Path(".devchain").mkdir(exist_ok=True)
    # a new chain every run (anvil's genesis is the same each time): old records are stale
    shutil.rmtree(".devchain/deployments", ignore_errors=True)
    t0 = time.time()
    print(f"==> local chain (anvil) with its clock at {args.start} 00:00 UTC", flush=True)
    with Anvil(port=args.port, timestamp=to_ts(args.start), log=Path(".devchain/anvil.log")):
        step(
            "deploy",
            [
                "ape",
                "run",
                "deploy",
                "--network",
                NETWORK,
                "--account",
                "TEST::0",
                "--reporter",
                "TEST::1",
            ],
        )
        step(
            f"oracle keeper replays {CSV} from {args.start} to {args.end}",
            [
                "ape",
                "run",
                "keeper",
                "oracle",
                "--network",
                NETWORK,
                "--account",
                "TEST::1",
                "--source",
                f"csv:{CSV}",
                "--start",
                args.start,
                "--end",
                args.end,
                "--step",
                args.step,
                "--log-format",
                "plain",
                "--no-summary",
            ],
        )
        step(
            "report, read back from the chain",
            ["ape", "run", "report", "oracle", "--network", NETWORK, "--csv", CSV],
        )
    print(f"\ndemo finished in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
