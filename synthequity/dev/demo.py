"""`make demo`: a local chain whose clock starts at the replay window, the protocol deployed
with `ape run deploy`, then `ape run simulate`: the 2022 drawdown replayed by the oracle
keeper with seeded LPs, borrowers and traders and the order and liquidation keepers, ending
with reports/<run>/report.md and its headline numbers — the commands a user would type."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from synthequity.dev.devchain import DEFAULT_PORT, Anvil
from synthequity.market_hours import to_ts
from synthequity.sim.run import replayed_symbol

NETWORK = "ethereum:local:foundry"
# The last leg of the 2022 drawdown (TSLA -54%), with Thanksgiving (a holiday and an early
# close), weekends and nights CLOSED.
WINDOW = ("2022-09-01", "2022-12-31")


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
    ap.add_argument("--agents", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prints-every", type=int, default=120, help="minutes between prints")
    ap.add_argument("--csv", default="data/tsla_daily.csv", help="daily bars to replay")
    ap.add_argument(
        "--symbol", default=None, help="the equity's name (default: from the file's name)"
    )
    ap.add_argument("--compare-gap-policy", type=float, default=None, help="MMR %% while CLOSED")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = ap.parse_args(argv)
    symbol = (args.symbol or replayed_symbol(args.csv)).upper()
    if not 0 < len(symbol) <= 5:
        ap.error(f"--symbol {symbol!r}: a market's symbol has 1 to 5 characters")

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
                "--symbols",
                symbol,
            ],
        )
        step(
            f"market replay of {symbol} {args.start} .. {args.end}: oracle, agents, order and "
            "liquidation keepers",
            [
                "ape",
                "run",
                "simulate",
                "--network",
                NETWORK,
                "--window",
                f"{args.start}:{args.end}",
                "--agents",
                str(args.agents),
                "--seed",
                str(args.seed),
                "--prints-every",
                str(args.prints_every),
                "--csv",
                args.csv,
                "--symbol",
                symbol,
                *(
                    ["--compare-gap-policy", str(args.compare_gap_policy)]
                    if args.compare_gap_policy
                    else []
                ),
            ],
        )
    print(f"\ndemo finished in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
