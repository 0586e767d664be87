"""A local anvil node for the demo and the integration tests, started with the clock where a
replay needs it (`--timestamp`), and stopped cleanly."""

from __future__ import annotations

import json
import shutil
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
    ):
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
        if self.state is not None:
            cmd += ["--state", str(self.state)]  # load at start, dump at exit
        return cmd

    def start(self, timeout_s: float = 30.0) -> Anvil:
        if port_in_use(self.port):
            raise DevChainError(
                f"port {self.port} is busy: stop the process using it "
                "(another anvil?) and try again"
            )
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
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
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
