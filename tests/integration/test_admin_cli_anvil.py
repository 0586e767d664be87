"""`ape run admin`: DEFAULT_ADMIN of a whole deployment moves to a new account in two steps,
as an operator types it — status, a proposal (idempotent), refusals, the acceptance."""

import json

import pytest
from ape_cli import ape_run

from synthequity.admin import administered
from synthequity.contracts import at

pytestmark = pytest.mark.integration
DEFAULT_ADMIN = b"\x00" * 32


def say(text: str) -> str:
    return " ".join(text.split())


def test_a_deployment_changes_admin_in_two_steps(tmp_path, project, accounts):
    deployed = ape_run("deploy", "--account", "TEST::0", "--no-fund-demo", deployments_dir=tmp_path)
    assert deployed.returncode == 0, deployed.stderr[-2_000:]
    record = json.loads((tmp_path / "ethereum-local.json").read_text())
    targets = administered(record)
    assert [t.label for t in targets] == [
        "insurance",
        "factory",
        "TSLA oracle",
        "TSLA vault",
        "TSLA perp",
        "TSLA pool",
    ]
    contracts = [at(getattr(project, t.contract), t.address) for t in targets]
    deployer, multisig = accounts[0], accounts[5]

    def admin(*args, account):
        out = ape_run("admin", *args, "--account", account, deployments_dir=tmp_path)
        return out.returncode, say(out.stdout + out.stderr)

    rc, text = admin("status", account="TEST::0")
    assert rc == 0 and text.count(" yes ") == 6, text
    rc, text = admin("transfer", "--to", "TEST::0", "--yes", account="TEST::0")
    assert rc == 1 and "already the admin" in text
    rc, text = admin("transfer", "--to", multisig.address, "--yes", account="TEST::6")
    assert rc == 1 and "is admin of none of these contracts" in text

    rc, text = admin("transfer", "--to", multisig.address, "--yes", account="TEST::0")
    assert rc == 0 and "[6/6] TSLA pool: transfer_admin sent" in text, text
    for c in contracts:  # proposed, nothing moved yet
        assert c.pending_admin() == multisig.address
        assert c.hasRole(DEFAULT_ADMIN, deployer) and not c.hasRole(DEFAULT_ADMIN, multisig)
    rc, text = admin("transfer", "--to", multisig.address, "--yes", account="TEST::0")
    assert rc == 0 and "nothing to send" in text  # re-running sends only what is missing

    rc, text = admin("accept", "--yes", account="TEST::6")
    assert rc == 1 and "no contract proposes" in text
    rc, text = admin("accept", "--yes", account="TEST::5")
    assert rc == 0 and "[6/6] TSLA pool: accept_admin sent" in text, text
    for c in contracts:
        assert c.hasRole(DEFAULT_ADMIN, multisig) and not c.hasRole(DEFAULT_ADMIN, deployer)
        assert int(c.pending_admin(), 16) == 0
    rc, text = admin("status", account="TEST::0")
    assert rc == 0 and " yes " not in text
