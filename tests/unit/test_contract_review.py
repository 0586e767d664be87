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


def test_the_80_percent_line_and_the_default_code_generator(monkeypatch, capsys):
    """docs/spec.md §10: every deployable <= 19,660 bytes counted, none built with Venom."""
    assert review.SIZE_LIMIT == 19_660
    monkeypatch.setattr(review, "SIZE_LIMIT", 10_000)  # as if the protocol had grown past it
    assert review.main([]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "over the 80% line" in out and "PerpMarket" in out and "over EIP-170" not in out


def test_an_extension_must_share_its_deployables_layout(tmp_path, monkeypatch, capsys):
    real_build = review.build

    def build(path):
        b = real_build(path)
        if b.name == "PerpMarketExt":  # as if a slot had moved in the extension only
            layout = json.loads(json.dumps(b.layout))
            layout["storage_layout"]["perp_market"]["_fund"]["slot"] += 1
            return review.Build(b.name, b.path, layout, b.initcode, b.runtime)
        return b

    for f in review.LAYOUT_DIR.glob("*.json"):
        (tmp_path / f.name).write_text(f.read_text())
    monkeypatch.setattr(review, "LAYOUT_DIR", tmp_path)
    monkeypatch.setattr(review, "build", build)
    assert review.main([]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "storage differs from its deployable's: PerpMarketExt" in out
