"""The simulation's report: `report.md`, its PNG charts and `samples.csv`, written to
`reports/<run>/`; and the headline table printed at the end of `ape run simulate`."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path

from rich.table import Table

from synthequity.model import replay as rp
from synthequity.sim.run import Sample, SimResult


def _dates(ts: list[int]) -> list[dt.datetime]:
    return [dt.datetime.fromtimestamp(t, dt.UTC) for t in ts]


def _utc(t: int) -> str:
    return f"{dt.datetime.fromtimestamp(t, dt.UTC):%Y-%m-%d %H:%M}"


def charts(r: SimResult, out: Path, tag: str = "") -> list[str]:
    """Five PNGs; their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = _dates([s.t for s in r.samples])
    files: list[str] = []

    def save(fig: object, name: str) -> None:
        path = out / f"{name}{tag}.png"
        fig.tight_layout()  # type: ignore[attr-defined]
        fig.savefig(path, dpi=110)  # type: ignore[attr-defined]
        plt.close(fig)  # type: ignore[arg-type]
        files.append(path.name)

    label = r.config.label
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(x, [s.price for s in r.samples], color="tab:blue", label=f"{label} (chain)")
    src = [(d, s.source_answer / 1e8) for d, s in zip(x, r.samples, strict=True) if s.source_answer]
    if src:
        ax.plot(*zip(*src, strict=True), color="tab:green", lw=0.7, ls="--", label="source")
    for o in rp.outages(r.oracle_samples(), r.max_age_open_s):
        ax.axvspan(*_dates([o.start, o.end]), color="tab:red", alpha=0.15)
    ax.set_ylabel("USD")
    ax.legend(loc="upper left", title="red: stale or HALTED while the source is OPEN")
    ax2 = ax.twinx()
    ax2.plot(x, [s.funding_rate_day * 100 for s in r.samples], color="tab:orange", lw=0.8)
    ax2.set_ylabel("funding rate, % per day", color="tab:orange")
    ax.set_title("price and funding rate")
    save(fig, "price_funding")

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(x, [s.oi_long_usd for s in r.samples], label="long", color="tab:green")
    ax.plot(x, [s.oi_short_usd for s in r.samples], label="short", color="tab:red")
    ax.set_ylabel("USD notional")
    ax.set_title("open interest by side")
    ax.legend()
    save(fig, "open_interest")

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(x, [s.pool_nav_usd for s in r.samples], label="pool NAV", color="tab:purple")
    ax.set_ylabel("pool NAV, USD")
    ax2 = ax.twinx()
    ax2.plot(x, [s.insurance_usd for s in r.samples], color="tab:gray", label="insurance fund")
    ax2.set_ylabel("insurance fund, USD", color="tab:gray")
    ax.set_title("pool NAV and insurance fund")
    save(fig, "pool_insurance")

    fig, ax = plt.subplots(figsize=(9, 4))
    for book, color in (("perp", "tab:red"), ("vault", "tab:blue")):
        ev = sorted(q.t for q in r.liquidations if q.book == book)
        if ev:
            ax.step(_dates(ev), range(1, len(ev) + 1), where="post", color=color, label=book)
    ax.set_ylabel("liquidations (cumulative)")
    ax2 = ax.twinx()
    bad = sorted((q.t, q.bad_debt_usd) for q in r.liquidations)
    if bad:
        total, ys = 0.0, []
        for _, b in bad:
            total += b
            ys.append(total)
        ax2.step(_dates([t for t, _ in bad]), ys, where="post", color="black", lw=0.8)
    ax2.set_ylim(bottom=0)
    ax2.set_ylabel("bad debt, USD (cumulative)")
    ax.set_title("liquidations and bad debt")
    if r.liquidations:
        ax.legend(loc="upper left")
    save(fig, "liquidations")

    fig, ax = plt.subplots(figsize=(9, 4))
    if r.vault_crs:
        ax.hist(r.vault_crs, bins=20, color="tab:blue")
    ax.axvline(150, color="tab:orange", ls="--", label="MCR 150%")
    ax.axvline(125, color="tab:red", ls="--", label="liquidation 125%")
    ax.set_xlabel("collateral ratio at the end, %")
    ax.set_ylabel("vault positions")
    ax.legend()
    ax.set_title("distribution of vault collateral ratios")
    save(fig, "vault_cr")
    return files


def write(results: list[SimResult], out: Path, with_charts: bool = True) -> Path:
    """report.md (+ charts and samples CSV per run) in `out`; the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    main = results[0]
    cfg = main.config
    if cfg.scenario:
        what = (
            f"{cfg.label}: the synthetic scenario `{cfg.scenario}` (its own intraday prints"
            + (", and a second reporter replaying its confirming source" if cfg.confirm else "")
            + ") replayed by the oracle keeper"
        )
    else:
        what = (
            f"{cfg.label} daily bars from `{cfg.csv}` replayed by the oracle keeper "
            f"({cfg.step_s // 60}-minute prints in NYSE sessions, CLOSED overnight, on "
            "weekends and holidays)"
        )
    lines = [
        f"# synthequity market replay: {cfg.label}, {cfg.start} .. {cfg.end}",
        "",
        f"{what}, {cfg.n_agents} seeded agents (seed {cfg.seed}), "
        "the order keeper and the liquidation keepers (perp and vault) running against the chain.",
        "",
    ]
    alarms = [r.status() for r in results if r.status() != "ok"]
    if alarms:
        lines += [f"**{a}**" for a in alarms] + [""]
    for i, r in enumerate(results):
        tag = "" if i == 0 else f"_{i}"
        files = charts(r, out, tag) if with_charts else []
        (out / f"summary{tag}.json").write_text(json.dumps(r.summary(), indent=1))
        with (out / f"samples{tag}.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            fields = [f.name for f in dataclasses.fields(Sample)]
            w.writerow(fields)
            w.writerows([getattr(s, f) for f in fields] for s in r.samples)
        lines += [f"## Policy: {r.policy}", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in r.headline().items()]
        lines += ["", "### Oracle outages (stale or HALTED while the source was OPEN)", ""]
        lines += ["| from (UTC) | to (UTC) | trading time | calendar span | recovered |"]
        lines += ["|---|---|---:|---:|---|"]
        for o in rp.outages(r.oracle_samples(), r.max_age_open_s):
            lines.append(
                f"| {_utc(o.start)} | {_utc(o.end)} | {rp.fmt_duration(o.open_s)} | "
                f"{rp.fmt_duration(o.span_s)} | {'yes' if o.recovered else '**no**'} |"
            )
        shortfalls = [q for q in r.liquidations if q.bad_debt_wad > 0]
        lines += ["", "### Bad debt and who absorbed it (from the contracts' events)", ""]
        lines += ["| time (UTC) | book | account | bad debt | insurance fund | pool / uncovered |"]
        lines += ["|---|---|---|---:|---:|---:|"]
        for q in shortfalls:
            fund = min(q.insurance_wad, q.bad_debt_wad)
            lines.append(
                f"| {_utc(q.t)} | {q.book} | {q.account[:10]} | ${q.bad_debt_wad / 1e18:,.2f} | "
                f"${fund / 1e18:,.2f} | ${(q.bad_debt_wad - fund) / 1e18:,.2f} |"
            )
        if r.left_liquidatable:
            lines += ["", "### Left liquidatable after a print's keepers (the first 20)", ""]
            lines += ["| time (UTC) | book | account |", "|---|---|---|"]
            lines += [
                f"| {_utc(t)} | {book} | {who[:10]} |" for t, book, who in r.left_liquidatable
            ]
        lines += ["", "### Reconciliation (collateral token, to the wei)", ""]
        lines += ["| check | expected | actual | |", "|---|---:|---:|---|"]
        for c in r.checks:
            verdict = "ok" if c.ok else "**FAILED**"
            if c.ok and not c.exact:
                verdict = f"ok (slack {c.actual - c.expected:,} {c.unit})"
            lines.append(f"| {c.what} | {c.expected:,} | {c.actual:,} | {verdict} |")
        unit = 10**r.decimals
        lines += ["", "### Flows during the run (collateral token)", "", "| flow | USD |"]
        lines += ["|---|---:|"]
        lines += [f"| {k} | {v / unit:,.2f} |" for k, v in r.flows]
        lines += ["", "### What happened", "", "| counter | n |", "|---|---:|"]
        lines += [f"| {k} | {v:,} |" for k, v in sorted(r.counters.items())]
        lines += [""] + [f"![{f}]({f})" for f in files] + [""]
    if len(results) > 1:
        lines += ["## Gap-risk policies compared", "", "| policy | liquidations | bad debt |"]
        lines += ["|---|---:|---:|"]
        lines += [
            f"| {r.policy} | {len(r.liquidations):,} | ${r.bad_debt_usd:,.2f} |" for r in results
        ]
        lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def headline_table(results: list[SimResult]) -> Table:
    table = Table(title=f"market replay of {results[0].config.label}: headline numbers")
    table.add_column("")
    for r in results:
        table.add_column(r.policy, justify="right")
    for key in results[0].headline():
        table.add_row(key, *[r.headline()[key] for r in results])
    return table
