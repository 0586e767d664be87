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
