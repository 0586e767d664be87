"""The replay's headline and report (issue 15): a frozen oracle is flagged, never hidden behind
"bad debt $0.00"; the replayed equity is named from its file; bad debt is split by who
absorbed it. Built from hand-made samples (no chain): the figures are checked with plain
arithmetic."""

from __future__ import annotations

from synthequity.sim import report
from synthequity.sim.run import Check, Liquidation, Sample, SimConfig, SimResult

WAD = 10**18
DAY, HOUR = 86_400, 3_600
T0 = 1_668_000_000 - 1_668_000_000 % DAY  # a midnight UTC


def _sample(t, chain, src, status="OPEN", market="OPEN", updated_at=None, src_status="OPEN"):
    return Sample(
        t=t,
        price=chain,
        status=status,
        market_status=market,
        updated_at=t if updated_at is None else updated_at,
        answer=round(chain * 10**8),
        source_answer=round(src * 10**8),
        source_status=src_status,
        funding_rate_day=0.0,
        oi_long_usd=0.0,
        oi_short_usd=0.0,
        pool_nav_usd=100_000.0,
        insurance_usd=0.0,
        mmr_bps=1_000,
    )


def frozen_replay() -> SimResult:
    """The issue's replay: a +57% gap refused, then every print for six weeks; the chain keeps
    the pre-gap close (CLOSED) while the source rises 17x. Nothing traded, no bad debt."""
    r = SimResult(SimConfig(csv="data/gme_daily.csv", start="2020-12-01", end="2021-02-12"), "x")
    close = T0 + 21 * HOUR
    r.samples += [
        _sample(T0 + 15 * HOUR, 10.0, 10.0),
        _sample(close, 10.0, 10.0, "CLOSED", "CLOSED", src_status="CLOSED"),
    ]
    for d in range(1, 43):
        src = 15.7 * (1 + d * 0.38)  # +57% gap, then up to ~17x
        day = T0 + d * DAY
        for h in (15, 17, 19):
            r.samples.append(_sample(day + h * HOUR, 10.0, src, "CLOSED", "CLOSED", close))
        r.samples.append(
            _sample(day + 21 * HOUR, 10.0, src, "CLOSED", "CLOSED", close, src_status="CLOSED")
        )
    r.counters.update({"oracle pushes": 66, "oracle refused": 126, "oracle ticks": 192})
    r.checks.append(Check("balanced", 1, 1, "units"))
    return r


def test_headline_flags_a_frozen_oracle():
    r = frozen_replay()
    h = r.headline()
    first = r.samples[2].t
    last = r.samples[-1].t
    assert r.frozen and r.outage is not None and not r.outage.recovered
    assert r.outage.open_s == 42 * 6 * HOUR  # 15:00 -> 21:00 UTC, 42 sessions
    assert r.outage.span_s == last - first == 41 * DAY + 6 * HOUR
    assert next(iter(h)) == "status" and h["status"] == "WARNING: ORACLE FROZEN 5w 6d"
    assert h["longest stale or HALTED while source OPEN"].startswith(
        "ORACLE FROZEN 5w 6d: 1w 3d of trading"
    )
    assert "never recovered" in h["longest stale or HALTED while source OPEN"]
    assert (
        h["oracle pushes made / refused / suspect"] == "66 / 126 / 0 (of 192 reads of the sources)"
    )
    top = 15.7 * (1 + 42 * 0.38)
    assert h["largest source-chain divergence"].startswith(f"{(1 - 10.0 / top) * 100:,.1f}% at")


def test_headline_names_the_replayed_symbol_not_tsla(tmp_path):
    r = frozen_replay()
    h = r.headline()
    assert "GME (source)" in h and "GME (chain)" in h
    assert not any("TSLA" in k or "TSLA" in v for k, v in h.items())
    text = report.write([r], tmp_path, with_charts=False).read_text()
    assert text.startswith("# synthequity market replay: GME, 2020-12-01 .. 2021-02-12")
    assert "**WARNING: ORACLE FROZEN 5w 6d**" in text
    assert "TSLA" not in text
    assert "| **no** |" in text  # the outage table: never recovered


def test_bad_debt_is_split_by_who_absorbed_it():
    r = SimResult(SimConfig(scenario="data/scenarios/gap_up_140.json"), "default")
    r.samples += [_sample(T0 + 15 * HOUR, 96.0, 96.0)]
    r.checks.append(Check("balanced", 1, 1, "units"))
    r.liquidations += [
        Liquidation(1, "perp", "0xa", 2_000.0, 96.0, 2_000 * WAD, 2_000 * WAD),
        Liquidation(2, "perp", "0xb", 7_500.0, 96.0, 7_500 * WAD, 1_000 * WAD),
        Liquidation(3, "vault", "0xc", 800.0, 0.0, 800 * WAD, 300 * WAD),
        Liquidation(4, "perp", "0xd", 0.0, 96.0, 0, 0),
    ]
    h = r.headline()
    # fund: 2,000 + 1,000 + 300; pool: 6,500; uncovered (vault): 500
    assert h["bad debt"] == (
        "$10,300.00: insurance fund $3,300.00, pool $6,500.00, uncovered $500.00"
    )
    assert h["liquidations perp / vault"] == "3 / 1"
    assert "UP140 (chain)" in h and h["status"] == "ok"
