"""`ape run deploy` then `ape run simulate` as a user runs them (what `make demo` does, on a
shorter window): a chain whose clock starts at the window, real TSLA prints, seeded agents and
the real keepers; the report and its charts are written and the reconciliation balances to the
wei. Its own anvil: the replay moves the chain's clock to 2022."""

from __future__ import annotations

import re

import pytest
from ape_cli import ape_run, free_port

from synthequity.dev.devchain import Anvil
from synthequity.market_hours import to_ts

pytestmark = pytest.mark.integration


def test_simulate_replays_a_window_and_reconciles_to_the_wei(tmp_path):
    node = Anvil(port=free_port(), timestamp=to_ts("2022-09-01"), chain_id=31339)

    def ape(*args: str):
        return ape_run(
            *args,
            deployments_dir=tmp_path / "deployments",
            node_url=node.url,
            timeout=600,
        )

    out = tmp_path / "report"
    with node:
        deployed = ape("deploy", "--account", "TEST::0", "--reporter", "TEST::1")
        assert deployed.returncode == 0, deployed.stderr[-3000:]
        # a week with a rally (+8.7%) and a Labor Day holiday (2022-09-05)
        sim = ape(
            "simulate",
            "--window",
            "2022-09-01:2022-09-09",
            "--agents",
            "9",
            "--compare-gap-policy",
            "15",
            "--out",
            str(out),
        )
    assert sim.returncode == 0, sim.stdout[-3000:] + sim.stderr[-3000:]
    report = (out / "report.md").read_text()
    assert report.count("balanced to the wei") == 2  # both policies
    assert "FAILED" not in report
    for chart in ("price_funding", "open_interest", "pool_insurance", "liquidations", "vault_cr"):
        assert (out / f"{chart}.png").stat().st_size > 5_000
        assert (out / f"{chart}_1.png").exists()
    # the replay really ran: prints, fills by the keeper, the holiday closed
    pushes, refused, suspect = map(
        int,
        re.search(
            r"\| oracle pushes made / refused / suspect \| (\d+) / (\d+) / (\d+)", report
        ).groups(),
    )
    assert refused == suspect == 0  # no jump beyond the guard in that week
    assert "| status | ok |" in report and "TSLA (chain)" in report
    filled = int(re.search(r"\| orders filled / cancelled \| (\d+) /", report).group(1))
    assert pushes >= 6 * 5 and filled >= 3
    samples = (out / "samples.csv").read_text().splitlines()
    assert not any(line.startswith(str(to_ts("2022-09-05") + 14 * 3600)) for line in samples)
    assert "Gap-risk policies compared" in report
    assert "headline numbers" in sim.stdout
