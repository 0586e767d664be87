"""Issue 19 in the replay: with savers keeping their sTSLA in the stability pool and a vault
keeper holding no sTSLA at all, TSLA's January 2020 rally (+79% in five weeks) liquidates the
careless borrowers through the pool — every vault liquidation, none refused — and the books
still balance to the wei; and (issue 17) the default keeper, which buys its sTSLA just in
time (the insurance fund's fee synth, then holders'), does the same with no savers. The
in-process replay (`python -m synthequity.sim`, revm)."""

from __future__ import annotations

from synthequity.testing.replay import run_replay

RALLY = ("--window", "2020-01-02:2020-02-07", "--agents", "12", "--seed", "3")
ARGS = (*RALLY, "--savers", "3", "--keeper-inventory", "none", "--no-charts")


def _replay(out, *args: str) -> dict:
    """`python -m synthequity.sim ARGS --out OUT` (in-process chain); its summary.json."""
    return run_replay(out, *args, timeout_s=600)[0]


def test_a_replay_liquidates_through_the_stability_pool_without_keeper_inventory(tmp_path):
    summary = _replay(tmp_path, *ARGS)
    counters = summary["counters"]
    vault = summary["liquidations_vault"]
    assert vault >= 5 and counters["vault liquidations through the stability pool"] == vault
    assert counters["saver deposit"] >= 3  # each saver put its synth in the pool
    assert summary["balanced"] and summary["agent_reverts"] == 0
    # docs/spec.md §9: nothing left liquidatable after a print's keepers, on either book
    assert not any(k.startswith("left liquidatable") for k in counters), counters
    flows = dict(summary["flows"])
    assert "keeper -> vault" not in flows  # the keeper minted no inventory
    assert flows["vault -> stability pool"] > 0  # the seized collateral went to the pool
    report = (tmp_path / "report.md").read_text()
    assert "through the stability pool" in report and "redemption floor (peg)" in report
    assert "| left liquidatable after a print (perp / vault) | 0 / 0 |" in report


def test_redeemers_redeem_past_the_fee_and_the_report_shows_the_implied_peg(tmp_path):
    """Issue 19: two peg arbitrageurs (`--redeemers 2`) through the same rally redeem when
    the synth's (seeded) market discount is above the fee, bounding the fee by it: none is
    refused, the fees are at least the 0.5% floor and at most 3% of the synth's oracle value
    (the discounts they act on are rarely above 2%), the report's implied peg is paid /
    (paid + fee) from the events, and the books balance to the wei."""
    summary = _replay(tmp_path, *RALLY, "--redeemers", "2", "--no-charts")
    n, synth, paid, fee = summary["redemptions"]
    assert n == summary["counters"]["redeemer redeem"] >= 10
    assert summary["balanced"] and summary["agent_reverts"] == 0
    assert synth > 0 and paid > 0
    gross = paid + fee  # the collateral the synth was worth at the oracle price
    assert 0.005 * gross - n <= fee <= 0.03 * gross  # the floor, and at most the discounts
    report = (tmp_path / "report.md").read_text()
    peg = f"{100 * paid / gross:.2f}% of its oracle value"
    assert f"| redemptions (implied peg) | {n:,}: " in report and peg in report


def test_without_inventory_or_savers_the_report_shows_the_positions_left_liquidatable(tmp_path):
    """The same rally with nobody to repay the vault's liquidations: the per-print check
    counts every vault position the keeper could not liquidate, and the report lists them."""
    summary = _replay(tmp_path, *RALLY, "--keeper-inventory", "none", "--no-charts")
    assert summary["liquidations_vault"] == 0
    assert summary["counters"]["left liquidatable after a print: vault"] > 0
    assert "### Left liquidatable after a print's keepers" in (tmp_path / "report.md").read_text()


def test_a_keeper_that_buys_its_synth_just_in_time_liquidates_everyone_and_stays_flat(tmp_path):
    """The default keeper (`--keeper-inventory buy`) through the same rally with no savers:
    before each print's liquidations it buys what they need — the insurance fund's fee
    synth at the oracle price, then from the agents holding sTSLA at the oracle price +
    0.3% — so nothing is left liquidatable; it mints nothing, so it never takes over a
    borrower's short, and the liquidations pay it more than it spent."""
    summary = _replay(tmp_path, *RALLY, "--no-charts")
    counters = summary["counters"]
    assert summary["liquidations_vault"] >= 5
    assert counters["keeper: fee synth bought from the fund"] > 0
    assert counters["keeper: synth bought from holders"] > 0
    assert "keeper: synth holders could not sell" not in counters
    assert not any(k.startswith("left liquidatable") for k in counters), counters
    flows = dict(summary["flows"])
    assert "keeper -> vault" not in flows  # no position of its own
    spent = flows["keeper -> borrowers"] + flows["keeper -> insurance fund"]
    assert flows["vault -> keeper"] > spent > flows["keeper -> borrowers"] > 0
    assert summary["balanced"] and summary["agent_reverts"] == 0
