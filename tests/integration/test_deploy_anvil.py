"""`ape run deploy` seeds the new insurance fund (docs/risk.md: the 2013-05-09 gap of the
full-history replay needed more than the penalties had): minted by the local mock, sent by the
deployer when the collateral is a real token, refused up front when the deployer cannot pay,
and never paid twice by a re-run."""

import json

import pytest
from ape_cli import ape_run

from synthequity.constants import DEFAULT_INSURANCE_SEED_USD
from synthequity.contracts import at

pytestmark = pytest.mark.integration


def say(text: str) -> str:
    return " ".join(text.split())  # rich wraps long lines in a pipe


def insurance_of(tmp_path) -> tuple[str, dict]:
    record = json.loads((tmp_path / "ethereum-local.json").read_text())
    return record["core"]["insurance"]["address"], record


def test_a_local_deployment_mints_the_seed_once(tmp_path, project):
    out = ape_run("deploy", "--account", "TEST::0", "--no-fund-demo", deployments_dir=tmp_path)
    assert out.returncode == 0, out.stderr[-2_000:]
    assert f"insurance fund seeded with {DEFAULT_INSURANCE_SEED_USD:,} USD" in say(out.stderr)
    fund, record = insurance_of(tmp_path)
    usd = at(project.MockStablecoin, record["core"]["collateral"]["address"])
    seed = DEFAULT_INSURANCE_SEED_USD * 10 ** int(usd.decimals())
    assert int(usd.balanceOf(fund)) == seed
    assert record["core"]["insurance"]["params"] == {"seed_usd": DEFAULT_INSURANCE_SEED_USD}

    again = ape_run("deploy", "--account", "TEST::0", "--no-fund-demo", deployments_dir=tmp_path)
    assert again.returncode == 0, again.stderr[-2_000:]
    assert "insurance fund and factory already deployed: verified, skipped" in say(again.stderr)
    assert "seeded" not in again.stderr
    assert insurance_of(tmp_path)[0] == fund and int(usd.balanceOf(fund)) == seed


def test_a_real_collateral_seed_comes_from_the_deployer_or_nothing_is_deployed(
    tmp_path, project, accounts
):
    deployer = accounts[0]
    token = project.MockStablecoin.deploy("Test USD", "tUSD", 6, sender=deployer)
    args = ("deploy", "--account", "TEST::0", "--collateral", token.address)

    refused = ape_run(*args, "--insurance-seed", "2500", deployments_dir=tmp_path)
    assert refused.returncode != 0
    assert (
        f"the insurance fund's seed needs 2,500 USD of the collateral in {deployer.address}; "
        "fund it, or pass --insurance-seed 0" in say(refused.stdout + refused.stderr)
    )
    assert not (tmp_path / "ethereum-local.json").exists()  # refused before any contract

    bad = ape_run(*args, "--insurance-seed", "-1", deployments_dir=tmp_path)
    assert bad.returncode == 2 and "--insurance-seed" in bad.stderr  # a usage error

    token.faucet(deployer, 3_000 * 10**6, sender=deployer)
    out = ape_run(*args, "--insurance-seed", "2500", deployments_dir=tmp_path)
    assert out.returncode == 0, out.stderr[-2_000:]
    fund, record = insurance_of(tmp_path)
    assert int(token.balanceOf(fund)) == 2_500 * 10**6
    assert int(token.balanceOf(deployer)) == 500 * 10**6  # sent by the deployer, not minted
    assert record["core"]["insurance"]["params"] == {"seed_usd": 2_500}
