"""The synthetic gap scenarios (data/scenarios/, `python -m synthequity.sim.scenarios`): the
committed files are what the seeded generator writes, byte for byte, and each shows the
event it is named after — checked on the files, with plain arithmetic."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from synthequity.constants import MarketStatus
from synthequity.market_hours import nyse
from synthequity.sim import scenarios as sc
from synthequity.sim.run import SimConfig, replayed_symbol

DIR = Path("data/scenarios")
NAMES = [s.name for s in sc.SPECS]
OPEN, CLOSED, HALTED = MarketStatus.OPEN, MarketStatus.CLOSED, MarketStatus.HALTED


def test_committed_scenarios_are_the_generators_output(tmp_path):
    written = sc.write_all(tmp_path)
    assert {p.name for p in written} == {p.name for p in DIR.glob("*_*.*") if p.suffix != ".md"}
    for p in written:
        assert (DIR / p.name).read_text() == p.read_text(), p.name
    again = tmp_path / "again"
    sc.write_all(again)
    assert all((again / p.name).read_bytes() == p.read_bytes() for p in written)


@pytest.fixture(scope="module")
def scenarios():
    return {n: sc.load(DIR / f"{n}.json") for n in NAMES}


def _last_before(prints, t):
    return max((p for p in prints if p.t < t), key=lambda p: p.t)


@pytest.mark.parametrize(
    ("name", "move"), [("gap_up_60", 0.60), ("gap_up_140", 1.40), ("gap_down_60", -0.60)]
)
def test_overnight_gap_of_the_stated_size(scenarios, name, move):
    s = scenarios[name]
    at = sc.from_iso(s.event.at)
    first = next(p for p in s.primary if p.t == at)
    close = _last_before(s.primary, at)
    assert close.status is CLOSED and first.status is OPEN
    # at the open: the gap exactly (the close carries the day's last noise)
    assert float(first.price / close.price) - 1 == pytest.approx(move, abs=0.0002)
    assert nyse().session_index_at(at) is not None and nyse().status_at(at - 60) is CLOSED
    # prints 5 minutes apart for 30 minutes after the gap, then 10 until 2 h 30: the targets
    # (30 min, 2 h) are measured at that resolution
    fine = [p.t for p in s.primary if at <= p.t < at + 150 * 60]
    assert fine == [*range(at, at + 1_800, 300), *range(at + 1_800, at + 9_000, 600)]


def test_one_print_spike_of_1000x_then_back(scenarios):
    s = scenarios["spike_1000x"]
    at = sc.from_iso(s.event.at)
    i = next(k for k, p in enumerate(s.primary) if p.t == at)
    before, spike, after = s.primary[i - 1], s.primary[i], s.primary[i + 1]
    assert spike.price / before.price > 990 and after.price / before.price < Decimal("1.01")
    big = [p for p in s.primary if p.price > 2 * before.price]
    assert big == [spike]  # one print only
    assert max(p.price for p in s.confirm) < 2 * before.price  # the second source never saw it


def test_multiday_halt_resumes_35_percent_lower(scenarios):
    s = scenarios["halt_multiday"]
    start, resumes = sc.from_iso(s.event.at), sc.from_iso(s.event.resumes)
    during = [p for p in s.primary if start <= p.t < resumes]
    sessions = {dt.datetime.fromtimestamp(p.t, dt.UTC).date() for p in during}
    assert len(sessions) == 3  # halted on three sessions (from 13:30, all day, until 10:00)
    assert {p.status for p in during} == {HALTED, CLOSED}
    assert len({p.price for p in during}) == 1  # no trade, no price
    first = next(p for p in s.primary if p.t == resumes)
    assert first.status is OPEN
    assert float(first.price / during[-1].price) - 1 == pytest.approx(-0.35, abs=0.0002)
    assert resumes - start == 44 * 3_600 + 1_800  # Monday 13:30 to Wednesday 10:00 (New York)


@pytest.mark.parametrize("name", NAMES)
def test_confirming_source_agrees_30_s_later_within_noise(scenarios, name):
    s = scenarios[name]
    assert len(s.confirm) == len(s.primary)
    for p, c in zip(s.primary, s.confirm, strict=True):
        assert c.t == p.t + sc.CONFIRM_LAG_S and c.status is p.status
        if name == "spike_1000x" and p.t == sc.from_iso(s.event.at):
            continue
        assert abs(c.price / p.price - 1) < Decimal("0.002")  # < 20 bps (3 bps noise, 1 sigma)


def test_print_source_quotes_the_latest_print_as_observed_now(scenarios):
    s = scenarios["gap_up_60"]
    src = sc.PrintReplaySource(s.primary, "p")
    p0, p1 = s.primary[0], s.primary[1]
    assert src.quote(p0.t - 1) is None
    q = src.quote(p0.t + 90)
    assert (q.price, q.observed_at, q.status) == (p0.price, p0.t + 90, OPEN)
    assert src.quote(p1.t).price == p1.price


def test_the_replayed_symbol_comes_from_the_file_never_a_default(scenarios):
    assert replayed_symbol("data/tsla_daily.csv") == "TSLA"
    assert replayed_symbol("/x/gme_daily.csv") == "GME"
    assert replayed_symbol("prices/AMC.csv") == "AMC"
    assert replayed_symbol(str(DIR / "gap_up_140.json")) == "UP140"
    assert SimConfig(csv="data/nvda_daily.csv").label == "NVDA"
    assert SimConfig(csv="data/nvda_daily.csv", symbol="NVDX").label == "NVDX"
    assert SimConfig(scenario=str(DIR / "spike_1000x.json")).label == "SPIKE"
    assert all(len(s.symbol) <= 5 for s in scenarios.values())  # the factory's key


def test_out_of_order_prints_are_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,price,status\n2023-01-03T15:00:00Z,1,OPEN\n2023-01-03T14:30:00Z,1,OPEN\n")
    with pytest.raises(ValueError, match="out of time order"):
        sc.read_prints(bad)
