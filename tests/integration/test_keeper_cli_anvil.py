"""The keeper commands as an operator types them, after `ape run deploy`: `inventory` mints the
sTSLA a vault liquidation burns (and refuses to leave the keeper's own position risky);
`liquidate` watches the perp market and the vault; `orders` the perp market."""

import json

from ape_cli import ape_run

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
    assert "no debt" in shown.stderr + shown.stdout
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
