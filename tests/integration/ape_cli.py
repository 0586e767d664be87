"""The real `ape run` commands, as an operator types them, for the integration tests."""

from __future__ import annotations

import os
import subprocess

NETWORK = "ethereum:local:foundry"


def ape_run(*args: str, deployments_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYNTHEQUITY_DEPLOYMENTS_DIR": str(deployments_dir)}
    return subprocess.run(
        ["ape", "run", *args, "--network", NETWORK],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
