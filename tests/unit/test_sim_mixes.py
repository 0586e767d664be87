"""Issue 17's agent mixes in the replay (`python -m synthequity.sim --mix ...`, in-process):
a whale near the open-interest cap, traders who hold through every close, contrarians
against the skew, LPs who flee a drawdown — each acts, nothing an agent sends reverts, the
orders the cap cancels are counted by reason, and the books balance to the wei."""

from __future__ import annotations

from test_sim_stability_pool import _replay

MIX = "whales=1,overnight=4,contrarians=2,fleeing=2"
ARGS = ("--window", "2023-01-03:2023-02-28", "--mix", MIX, "--no-charts")


def test_every_style_acts_and_the_books_balance(tmp_path):
    summary = _replay(tmp_path, *ARGS)
    c = summary["counters"]
    assert summary["agents"] == 24 + 9 and summary["balanced"]
    assert summary["agent_reverts"] == 0
    assert c["trader commit_order (whale)"] >= 1
    assert c["trader commit_order (contrarian)"] >= 1
    # each overnight trader opens at a session's last print and closes at the next one's
    assert c["trader commit_order (overnight)"] >= 20
    assert c["lp deposit (fleeing)"] >= 2 and c["lp redeem (fleeing)"] >= 1  # the 2023 rally (+90%)
    # near the whale, the cap cancels some orders at the fill: counted by their reason only
    cancelled = {k: v for k, v in c.items() if k.startswith("orders cancelled: ")}
    assert set(cancelled) <= {"orders cancelled: open interest"}
    assert sum(cancelled.values()) == c.get("orders cancelled", 0)
    assert not any(k.startswith("left liquidatable") for k in c), c
    flows = dict(summary["flows"])
    assert flows["whales -> market"] > 0 and flows["pool -> fleeing_lps"] > 0


def test_protected_traders_stop_out_through_the_keeper_and_gaps_fill_at_the_open(tmp_path):
    """Issue 20 in the replay: traders with a stop-loss and a take-profit on every position
    through TSLA's Q4 2022 fall (-55%). The keeper executes their triggered orders; the report
    counts the fills by kind and those at the first price after a close (gaps); the books
    balance to the wei and nothing an agent sends reverts."""
    summary = _replay(
        tmp_path, "--window", "2022-10-03:2022-12-30", "--mix", "protected=6", "--no-charts"
    )
    c = summary["counters"]
    assert summary["agents"] == 24 + 6 and summary["balanced"], summary["checks"]
    assert summary["agent_reverts"] == 0
    assert c["trader place (protected)"] == c["conditional orders placed"] >= 20
    assert c["conditional fills: stop-loss"] >= 5 and c["conditional fills: take-profit"] >= 1
    assert c.get("conditional gap fills at the open: stop-loss", 0) >= 1
    # every executed order filled (its margin and the slippage bound allowed it: none set)
    assert not any(k.endswith("cancelled by the market") for k in c), c
    assert not any(k.startswith("left liquidatable") for k in c), c
    report = (tmp_path / "report.md").read_text()
    assert "| conditional fills: stop-loss |" in report
