"""The wallet dapp (dapp/): its formulas against `synthequity.model` (Vitest over vectors the
Python model writes), then the production build and the end-to-end tests in headless Chromium
against `python -m synthequity.dev.dapp` (anvil on a free port, the protocol deployed, the
oracle, order and liquidation keepers running). Run by the `dapp` lane of `make test`, without
Ape's pytest plugin: every chain here is the driver's own."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAPP = ROOT / "dapp"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], cwd: Path, timeout: int, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env or dict(os.environ)
    )
    assert out.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{out.stdout[-6000:]}\n{out.stderr[-4000:]}"
    )
    return out.stdout


@pytest.fixture(scope="module")
def built() -> Path:
    """Vectors and sessions from Python, ABIs from the compiled contracts, then `vite build`."""
    run([sys.executable, "-m", "synthequity.dev.dapp_data"], ROOT, 120)
    out = run(["npm", "run", "build", "--silent"], DAPP, 300)
    assert "kB gzipped" in out  # scripts/size.mjs printed the bundle's size
    print(out.strip().splitlines()[-1])
    return DAPP / "dist"


def test_model_formulas_match_python_vectors(built: Path) -> None:
    out = run(["npx", "vitest", "run"], DAPP, 180)
    assert "passed" in out


def test_dapp_build_writes_a_static_folder_for_a_recorded_deployment(
    built: Path, tmp_path: Path, monkeypatch
) -> None:
    """`make dapp-build NETWORK=<key> RPC_URL=<url>`: the built page plus its config.json for
    a testnet's record (addresses, chain, a public RPC for read-only mode; the faucet button
    only for the mock stablecoin this project deployed); a missing record is refused."""
    from synthequity.dev import dapp_build

    records = tmp_path / "deployments"
    records.mkdir()
    monkeypatch.setenv("SYNTHEQUITY_DEPLOYMENTS_DIR", str(records))
    market = {k: {"address": f"0x{i:040x}", "block": 7} for i, k in enumerate(
        ("oracle", "vault", "synth", "perp", "pool", "stability_pool"), start=1
    )}  # fmt: skip
    for key, block in (("ethereum-sepolia", None), ("arbitrum-sepolia", 5)):
        record = {
            "network": key,
            "chain_id": 11155111,
            "core": {"collateral": {"address": f"0x{99:040x}", "block": block}},
            "markets": {"TSLA": market},
        }
        (records / f"{key}.json").write_text(json.dumps(record))
    dist = tmp_path / "dist"
    shutil.copytree(built, dist)
    rpc = "https://rpc.example/sepolia"
    args = ["--network", "ethereum-sepolia", "--rpc-url", rpc, "--dist", str(dist)]
    assert dapp_build.main(args) == 0
    cfg = json.loads((dist / "config.json").read_text())
    assert (cfg["rpcUrl"], cfg["chainId"], cfg["devApi"]) == (rpc, 11155111, False)
    assert cfg["faucet"] is False  # a stablecoin given to the deploy: no faucet button
    assert cfg["deployment"]["markets"]["TSLA"]["stability_pool"]["address"] == f"0x{6:040x}"
    assert (dist / "index.html").exists()
    args = ["--network", "arbitrum-sepolia", "--rpc-url", rpc, "--dist", str(dist)]
    assert dapp_build.main(args) == 0
    assert json.loads((dist / "config.json").read_text())["faucet"] is True  # the mock's
    with pytest.raises(SystemExit, match="missing: deploy first"):
        dapp_build.main(["--network", "base-sepolia", "--rpc-url", rpc, "--dist", str(dist)])


def test_wallet_flows_in_chromium(built: Path, tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)"
    anvil, app = free_port(), free_port()
    ready = tmp_path / "ready.json"
    env = {k: v for k, v in os.environ.items() if k != "APE_FOUNDRY_HOST"}
    log = (tmp_path / "driver.log").open("wb")
    driver = subprocess.Popen(
        [
            *[sys.executable, "-m", "synthequity.dev.dapp", "--port", str(anvil)],
            *["--app-port", str(app), "--state-dir", str(tmp_path / "chain")],
            *["--ready-file", str(ready)],
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not ready.exists():
            assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-6000:]
            assert time.monotonic() < deadline, "the dapp driver did not come up in 180 s"
            time.sleep(0.5)
        urls = json.loads(ready.read_text())
        t0 = time.monotonic()
        shots = ROOT / "reports" / "dapp"
        out = run(
            ["node", "--test", "--test-reporter=spec", "e2e/"],
            DAPP,
            240,
            {**env, "APP_URL": urls["app"], "RPC_URL": urls["rpc"], "REPORT_DIR": str(shots)},
        )
        print(out[-3000:])
        took = time.monotonic() - t0
        print(f"e2e in {took:.0f} s; screenshots in {shots}")
        assert took < 180, f"the browser tests took {took:.0f} s (issue 18: under 3 minutes)"
        screens = {"markets", "vault", "perp", "pool", "history", "dev", "vault-closed"}
        screens |= {"markets-halted", "vault-dividend"}
        assert screens <= {p.stem for p in shots.glob("*.png")}
    finally:
        os.killpg(driver.pid, signal.SIGTERM)
        try:
            driver.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(driver.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(tmp_path / "chain", ignore_errors=True)
