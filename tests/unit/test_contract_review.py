"""`make lint`'s Vyper review aids: the committed storage layouts match the sources, a moved
slot is reported (exit 1 with the diff), and every deployable fits EIP-170 as deployed."""

import json

from synthequity.tools import contract_review as review


def test_layouts_match_and_everything_fits(capsys):
    assert review.main([]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "storage layouts unchanged" in out and "over EIP-170" not in out


def test_a_moved_slot_is_reported(tmp_path, monkeypatch, capsys):
    for f in review.LAYOUT_DIR.glob("*.json"):
        (tmp_path / f.name).write_text(f.read_text())
    doctored = tmp_path / "PerpMarket.json"
    layout = json.loads(doctored.read_text())
    layout["storage_layout"]["perp_market"]["_fund"]["slot"] += 1
    doctored.write_text(review.render(layout))
    monkeypatch.setattr(review, "LAYOUT_DIR", tmp_path)
    assert review.main([]) == 1
    out = capsys.readouterr().out
    assert "storage layout changed: PerpMarket" in " ".join(out.split())
    assert '"slot":' in out  # the diff is shown
