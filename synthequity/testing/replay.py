"""Run the market replay as its users do, `python -m synthequity.sim ... --out DIR` (the
in-process chain), for tests: its summary.json, and its stderr for the keepers' log lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_replay(out: Path, *args: str, timeout_s: int = 900) -> tuple[dict[str, Any], str]:
    """The replay of `args` written to `out`: (summary.json, stderr); a failed run fails the
    test with the end of its output."""
    done = subprocess.run(
        [sys.executable, "-m", "synthequity.sim", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "summary.json").read_text()), done.stderr
