"""The keeper commands as an operator types them, after `ape run deploy`: `inventory` mints the
sTSLA a vault liquidation burns (and refuses to leave the keeper's own position risky) or buys
the insurance fund's fee synth;
`liquidate` watches the perp market and the vault; `orders` the perp market."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

from ape_cli import NETWORK, ape_run, free_port

from synthequity.contracts import at


def keeper_cmd(job, *extra, tmp_path):
    return ape_run(
        "keeper",
        job,
        "--account",
        "TEST::5",
        *extra,
        deployments_dir=tmp_path,
    )


def test_keeper_commands_after_deploy(tmp_path, project, accounts, chain):
    deployed = ape_run(
        "deploy", "--account", "TEST::0", "--reporter", "TEST::1", deployments_dir=tmp_path
    )
    assert deployed.returncode == 0, deployed.stderr[-2_000:]
    record = json.loads((tmp_path / "ethereum-local.json").read_text())
    tsla = record["markets"]["TSLA"]
    market, vault = tsla["perp"]["address"], tsla["vault"]["address"]
    synth = at(project.SynthToken, tsla["synth"]["address"])
    operator = accounts[5]

    loop = ("--max-ticks", "2", "--poll", "0.1", "--dry-run", "--log-format", "plain")
    for job, books in (("liquidate", ("perp", "vault")), ("orders", ("perp",))):
        out = keeper_cmd(job, *loop, tmp_path=tmp_path)
        assert out.returncode == 0, out.stderr[-2_000:]
        text = out.stderr + out.stdout
        for book in books:
            address = market if book == "perp" else vault
            assert f"{job} keeper ({book}) on {address}" in text
        assert "keeper stopped" in text

    # inventory: show, refuse a risky mint, then mint at a safe CR
    shown = keeper_cmd("inventory", tmp_path=tmp_path)
    assert shown.returncode == 0, shown.stderr[-2_000:]
    assert "sTSLA inventory of" in shown.stderr + shown.stdout
    assert "no debt" in " ".join((shown.stderr + shown.stdout).split())  # rich wraps lines
    before = synth.balanceOf(operator)
    risky = keeper_cmd("inventory", "--collateral", "100", "--mint", "1000", tmp_path=tmp_path)
    assert risky.returncode != 0 and "refused" in risky.stderr + risky.stdout
    assert synth.balanceOf(operator) == before  # nothing sent

    # a price, collateral in the operator's wallet: mint 5 sTSLA at 500%
    oracle = at(project.EquityOracle, tsla["oracle"]["address"])
    collateral = at(project.MockStablecoin, record["core"]["collateral"]["address"])
    collateral.faucet(operator, 5_000 * 10 ** collateral.decimals(), sender=operator)
    oracle.push_price(200 * 10**8, chain.blocks.head.timestamp, 2, sender=accounts[1])
    minted = keeper_cmd("inventory", "--collateral", "5000", "--mint", "5", tmp_path=tmp_path)
    assert minted.returncode == 0, minted.stderr[-2_000:]
    assert synth.balanceOf(operator) == before + 5 * 10**18
    assert "CR 500.0%" in " ".join((minted.stderr + minted.stdout).split())  # rich wraps lines

    # a month of stability fee, minted to the insurance fund when the position is touched:
    # buy some of it at the oracle price (inventory with no position of one's own)
    vault_c = at(project.SynthVault, vault)
    fund = vault_c.INSURANCE()
    chain.pending_timestamp = chain.blocks.head.timestamp + 30 * 86_400
    oracle.push_price(200 * 10**8, chain.pending_timestamp, 2, sender=accounts[1])
    collateral.faucet(operator, 100 * 10 ** collateral.decimals(), sender=operator)
    vault_c.mint(10**15, sender=operator)  # touches the position: its fee minted to the fund
    assert synth.balanceOf(fund) > 10**15  # 5 x 1%/year x 30 days ~ 0.0041
    too_much = keeper_cmd("inventory", "--buy-fee-synth", "1", tmp_path=tmp_path)
    assert too_much.returncode != 0
    assert "refused: the insurance fund holds" in " ".join(
        (too_much.stderr + too_much.stdout).split()
    )
    held, paid_before = synth.balanceOf(operator), collateral.balanceOf(fund)
    bought = keeper_cmd("inventory", "--buy-fee-synth", "0.001", tmp_path=tmp_path)
    assert bought.returncode == 0, bought.stderr[-2_000:]
    assert synth.balanceOf(operator) == held + 10**15
    # paid to the fund at $200 a share, rounded up: 0.2 USD
    assert collateral.balanceOf(fund) - paid_before == 2 * 10 ** collateral.decimals() // 10
    assert "bought 0.001000 fee synth" in " ".join((bought.stderr + bought.stdout).split())


def test_a_keeper_runs_from_its_config_file_and_answers_metrics_and_health(tmp_path):
    """`ape run keeper liquidate --config keeper.toml`, as an operator on a host runs it: the
    file picks the book, the shard and the metrics port (the flags only the account); while
    it runs, /metrics and /health answer from its own process."""
    deployed = ape_run(
        "deploy", "--account", "TEST::0", "--reporter", "TEST::1", deployments_dir=tmp_path
    )
    assert deployed.returncode == 0, deployed.stderr[-2_000:]
    port = free_port()
    config = tmp_path / "keeper.toml"
    config.write_text(
        f'book = "perp"\nshard = "0/1"\nmetrics_port = {port}\npoll = 0.2\nmax_ticks = 150\n'
        'log_format = "plain"\ndry_run = true\n'
        # the suite's chain clock is not the wall's (tests move it): /health's block age off
        "health_max_block_age_s = 1e9\n[batch]\nreads = 5\n"
    )
    env = {**os.environ, "SYNTHEQUITY_DEPLOYMENTS_DIR": str(tmp_path)}
    cmd = ["ape", "run", "keeper", "liquidate", "--account", "TEST::5", "--config", str(config)]
    proc = subprocess.Popen(
        [*cmd, "--network", NETWORK], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        metrics = health = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    metrics = r.read().decode()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    health = (r.status, json.loads(r.read()))
                if "synthequity_keeper_last_block" in metrics:
                    break
            except urllib.error.HTTPError as exc:  # 503: not healthy (yet)
                health = (exc.code, json.loads(exc.read()))
                time.sleep(0.5)
            except OSError:  # not listening yet
                time.sleep(0.5)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.decode()
    assert proc.returncode == 0, text[-2_000:]
    assert metrics is not None and health is not None, text[-2_000:]
    assert 'market="TSLA"' in metrics and "synthequity_keeper_last_block" in metrics
    assert health[0] == 200 and health[1]["ok"] is True, health
    assert health[1]["keepers"]["perp"]["alive"] is True
    assert "liquidate keeper (perp)" in text and "liquidate keeper (vault)" not in text
    assert "metrics served" in text
