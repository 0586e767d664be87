"""The real `ape run` commands, as an operator types them, and nodes of their own for the
integration tests that need one (a clock in the past, a node to kill)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator

from synthequity.dev.devchain import Anvil

NETWORK = "ethereum:local:foundry"


def ape_run(
    *args: str, deployments_dir, node_url: str | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    """`ape run ARGS --network ethereum:local:foundry` (against `node_url` when given)."""
    env = {**os.environ, "SYNTHEQUITY_DEPLOYMENTS_DIR": str(deployments_dir)}
    if node_url:
        env["APE_FOUNDRY_HOST"] = node_url
    return subprocess.run(
        ["ape", "run", *args, "--network", NETWORK],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def ape_points_at(networks, url: str) -> Iterator[None]:
    """The test's Ape session connected to the node at `url`, and APE_FOUNDRY_HOST (which
    ape-foundry prefers to `provider_settings`) pointing at it meanwhile."""
    host = os.environ.get("APE_FOUNDRY_HOST")
    os.environ["APE_FOUNDRY_HOST"] = url
    try:
        with networks.ethereum.local.use_provider(
            "foundry", provider_settings={"host": url}, disconnect_after=True
        ):
            yield
    finally:
        if host is None:
            os.environ.pop("APE_FOUNDRY_HOST", None)
        else:
            os.environ["APE_FOUNDRY_HOST"] = host


@contextlib.contextmanager
def own_chain(networks, chain_id: int, timestamp: int | None = None) -> Iterator[Anvil]:
    """A node of the test's own (its own chain id: Ape keys caches and snapshots by chain
    id), with the test's Ape session connected to it (`ape_points_at`)."""
    node = Anvil(port=free_port(), chain_id=chain_id, timestamp=timestamp)
    node.start()
    try:
        with ape_points_at(networks, node.url):
            yield node
    finally:
        node.stop()
