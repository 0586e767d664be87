"""A local anvil node for the demo, the benches and the integration tests, started with the
clock where a replay needs it (`--timestamp`), stopped cleanly — or killed, for the tests that
crash it.

    python -m synthequity.dev.devchain [--port 8545] -- ape run bench_keepers --network <local>

runs a command against a fresh node (Ape connects to an anvil already listening on its port)
and stops the node after it. Unlike the node ape-foundry starts itself, this one runs without
`--steps-tracing`, several times faster for bulk transactions."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

DEFAULT_PORT = 8545
MNEMONIC = "test test test test test test test test test test test junk"


class DevChainError(RuntimeError):
    pass


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def rpc(url: str, method: str, params: list | None = None, timeout: float = 2.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    req = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        out = json.loads(resp.read())
    if "error" in out:
        raise DevChainError(f"{method}: {out['error']}")
    return out["result"]


class Anvil:
    """`with Anvil(timestamp=...) as node:` runs anvil on 127.0.0.1:`port`."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        timestamp: int | None = None,
        state: Path | None = None,
        accounts: int = 12,
        log: Path | None = None,
        chain_id: int | None = None,
        prune_history: int | None = None,
        load_state: Path | None = None,
    ):
        self.load_state_file = load_state  # a JSON state to start from (`anvil_dumpState`)
        self.chain_id = chain_id
        self.prune_history = prune_history
        self.port = port
        self.timestamp = timestamp
        self.state = state
        self.accounts = accounts
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        binary = shutil.which("anvil")
        if binary is None:
            raise DevChainError(
                "anvil not found on PATH: run `make install` (npm's "
                "@foundry-rs/anvil puts it in node_modules/.bin)"
            )
        cmd = [
            binary,
            "--port",
            str(self.port),
            "--mnemonic",
            MNEMONIC,
            "--accounts",
            str(self.accounts),
            "--balance",
            "10000",
            "--base-fee",
            "0",
            "--gas-price",
            "0",
        ]
        if self.timestamp is not None:
            cmd += ["--timestamp", str(self.timestamp)]
        if self.chain_id is not None:
            cmd += ["--chain-id", str(self.chain_id)]
        if self.prune_history is not None:
            # only the last N states, in memory: a long run (thousands of blocks over thousands
            # of accounts) otherwise keeps a full state copy per block, in memory and then on
            # disk under ~/.foundry/anvil/tmp — tens of gigabytes at 10,000 accounts. N > 0:
            # a call at "latest" must survive the next block landing meanwhile.
            cmd += ["--prune-history", str(self.prune_history)]
        if self.state is not None:
            cmd += ["--state", str(self.state)]  # load at start, dump at exit
        if self.load_state_file is not None:
            cmd += ["--load-state", str(self.load_state_file)]
        return cmd

    def start(self, timeout_s: float = 30.0) -> Anvil:
        if port_in_use(self.port):
            raise DevChainError(
                f"port {self.port} is busy: stop the process using it "
                "(another anvil?) and try again"
            )
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        # its own process group: npm's `anvil` is a node wrapper around the real binary, and a
        # stop (or a crash, `kill`) must take both down
        self.proc = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DevChainError(f"anvil exited with {self.proc.returncode}")
            try:
                rpc(self.url, "eth_chainId")
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise DevChainError(f"anvil did not answer on {self.url} within {timeout_s} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the node and its wrapper: a crash, not a shutdown (nothing is dumped)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def dump_state(self) -> str:
        return str(rpc(self.url, "anvil_dumpState", timeout=60))

    def load_state(self, state: str) -> None:
        if rpc(self.url, "anvil_loadState", [state], timeout=60) is not True:
            raise DevChainError("anvil_loadState refused the state")

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def restart_from_state(url: str, path: Path) -> Anvil | None:
    """Replace the node `main` started with a fresh process started from its own state; the
    new node (the caller stops it), or None when the node is not ours to restart.

    Why: after a few thousand transactions from distinct impersonated senders, anvil 1.7.1's
    miner stops including transactions (it mines empty blocks, dozens a second, while the pool
    holds ready ones; reproduced with plain transfers). A node restarted from its dumped state
    mines normally."""
    pgid = os.environ.get("SYNTHEQUITY_DEVCHAIN_PGID")
    if not pgid:
        return None
    dumped = str(rpc(url, "anvil_dumpState", timeout=300))
    raw = bytes.fromhex(dumped.removeprefix("0x"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    os.killpg(int(pgid), signal.SIGTERM)
    port = int(url.rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while port_in_use(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    prune = int(os.environ.get("SYNTHEQUITY_DEVCHAIN_PRUNE", "0")) or None
    return Anvil(port=port, prune_history=prune, load_state=path).start(timeout_s=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run a command against a fresh local anvil.")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument(
        "--prune-history", type=int, default=64, help="states kept in memory (0: keep all)"
    )
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = ap.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command given")
    with Anvil(port=args.port, prune_history=args.prune_history or None) as node:
        assert node.proc is not None
        env = {
            **os.environ,
            "APE_FOUNDRY_HOST": node.url,  # ape-foundry connects to it
            "SYNTHEQUITY_DEVCHAIN_PGID": str(node.proc.pid),  # see restart_from_state
            "SYNTHEQUITY_DEVCHAIN_PRUNE": str(args.prune_history),
        }
        return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main())
