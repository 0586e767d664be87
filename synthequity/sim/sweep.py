"""`python -m synthequity.sim.sweep`: many in-process replays — seeds x windows x parameter
sets x agent mixes — in parallel over local processes (`--workers N`) or on a Dask cluster
(`--scheduler tcp://host:8786`; `pip install 'synthequity[sweep]'`), into one table
(runs.csv + runs.parquet, one row per run), a daily series per run (series.parquet) and
report.md with plots per parameter set: bad debt and insurance fund over time, liquidations
by shortfall, LP vs trader return, worst pool-NAV drawdown.

A run is a plain dict (`RunSpec.as_dict`) and its result too: what crosses a process or a
network is data, the replay itself is `synthequity.sim.cli.run_local`."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from synthequity.constants import DEFAULT_INSURANCE_SEED_USD
from synthequity.sim.agents import Mix

# parameters a sweep may set, by the object deploy_protocol takes them in
VAULT_KEYS = ("mcr_bps", "liquidation_ratio_bps", "liquidation_penalty_bps", "stability_fee_bps")
PERP_MATH_KEYS = (
    "skew_scale",
    "taker_fee_bps",
    "initial_margin_bps",
    "maintenance_margin_bps",
    "liquidation_penalty_bps_perp",
    "keeper_reward_share_bps",
    "max_funding_velocity",
    "max_funding_rate",
    "min_margin_usd",
)
MARKET_KEYS = ("max_oi_long_usd", "max_oi_short_usd", "max_skew_to_pool_bps")
OTHER_KEYS = ("max_jump_bps", "insurance_usd")
KEYS = VAULT_KEYS + PERP_MATH_KEYS + MARKET_KEYS + OTHER_KEYS


# the flows' names of the agents who trade on the perp market (sim.run.reconcile's groups)
TRADER_GROUPS = ("traders", "exposeds", "whales", "overnights", "contrarians", "protecteds")
AGENT_GROUPS = (*TRADER_GROUPS, "borrowers", "savers")  # who may sell the keeper sTSLA


def vault_keeper_net(flows: dict[str, int]) -> int:
    """The vault keeper's net in collateral units over a run, from the reconciliation's flows:
    what liquidations paid it (directly, or as the stability pool's reward) less what it put
    in the vault (a minted inventory) and paid for sTSLA (the fund's fee synth, agents')."""
    paid_in = ("vault -> keeper", "stability pool -> keeper")
    paid_out = (
        "keeper -> vault",
        "keeper -> insurance fund",
        *(f"keeper -> {g}" for g in AGENT_GROUPS),
    )
    return sum(flows.get(k, 0) for k in paid_in) - sum(flows.get(k, 0) for k in paid_out)


@dataclass(frozen=True)
class RunSpec:
    seed: int
    start: str
    end: str
    params_name: str = "default"
    params: dict[str, int] = field(default_factory=dict)
    mix_name: str = "default"
    agents: int = 24
    exposed: int = 0
    styles: str = ""  # sim.agents.Mix: whales=N,overnight=N,contrarians=N,fleeing=N
    step_s: int = 7_200
    csv: str = "data/tsla_daily.csv"
    engine: str = "revm"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def protocol_kwargs(params: dict[str, int]) -> dict[str, Any]:
    """deploy_protocol's keyword arguments for a parameter set (unknown keys refused)."""
    from synthequity.model.perp import MarketParams, PerpParams
    from synthequity.model.vault import VaultParams

    unknown = set(params) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown parameters {sorted(unknown)}; known: {', '.join(KEYS)}")
    out: dict[str, Any] = {}
    vault = {k: v for k, v in params.items() if k in VAULT_KEYS}
    if vault:
        out["vault_params"] = dataclasses.replace(VaultParams(), **vault)
    math = {
        ("liquidation_penalty_bps" if k == "liquidation_penalty_bps_perp" else k): v
        for k, v in params.items()
        if k in PERP_MATH_KEYS
    }
    market = {k: v for k, v in params.items() if k in MARKET_KEYS}
    if math or market:
        out["perp_params"] = dataclasses.replace(
            MarketParams(), math=dataclasses.replace(PerpParams(), **math), **market
        )
    if "max_jump_bps" in params:
        out["max_jump_bps"] = params["max_jump_bps"]
    return out


def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """One replay (in this process) -> {"row": the table's row, "series": daily rows}."""
    from synthequity import logs
    from synthequity.sim.cli import run_local
    from synthequity.sim.run import SimConfig

    logs.configure(json_lines=False, level="ERROR")
    s = RunSpec(**spec)
    cfg = SimConfig(
        start=s.start,
        end=s.end,
        agents=s.agents,
        seed=s.seed,
        step_s=s.step_s,
        csv=s.csv,
        exposed=s.exposed,
        mix=Mix.parse(s.styles),
        insurance_usd=s.params.get("insurance_usd", DEFAULT_INSURANCE_SEED_USD),
    )
    t0 = time.perf_counter()
    (r,) = run_local(cfg, [None], s.engine, None, **protocol_kwargs(s.params))
    summary = r.summary()
    flows = dict(summary["flows"])
    trader_in = sum(flows.get(f"{g} -> market", 0) for g in TRADER_GROUPS)
    trader_out = sum(flows.get(f"market -> {g}", 0) for g in TRADER_GROUPS)
    # margin still in the market at the end (the books' check, token units): not lost
    left = next((c[1] for c in summary["checks"] if c[0].startswith("market balance")), 0)
    nav0 = summary["pool_nav_start_usd"]
    row = {
        "run": f"{s.params_name}/{s.mix_name}/{s.start}_{s.end}/seed{s.seed}",
        **{k: v for k, v in s.as_dict().items() if k != "params"},
        "params": json.dumps(s.params, sort_keys=True),
        **{
            k: v
            for k, v in summary.items()
            if not isinstance(v, list | dict) and k not in ("start", "end", "seed", "agents")
        },
        "lp_return": summary["pool_nav_end_usd"] / nav0 - 1 if nav0 else 0.0,
        "trader_return": (trader_out + left) / trader_in - 1 if trader_in else 0.0,
        "worker_s": time.perf_counter() - t0,
        # docs/spec.md §9: positions a print's keepers left liquidatable (0 is the target)
        **{
            f"left_liquidatable_{book}": summary["counters"].get(
                f"left liquidatable after a print: {book}", 0
            )
            for book in ("perp", "vault")
        },
        # the vault keeper's sTSLA bought just in time (from the fund's fee synth, from
        # holders), and the prints where neither had enough
        "keeper_fee_synth_buys": summary["counters"].get(
            "keeper: fee synth bought from the fund", 0
        ),
        "keeper_buys": summary["counters"].get("keeper: synth bought from holders", 0),
        "keeper_buys_short": summary["counters"].get("keeper: synth holders could not sell", 0),
        "vault_keeper_net_usd": vault_keeper_net(flows) / 10**r.decimals,
    }
    for k in ("bad_debt_wad", "bad_debt_insurance_wad", "bad_debt_pool_wad"):
        row[k.replace("_wad", "_usd")] = row.pop(k) / 1e18
    row["bad_debt_uncovered_usd"] = row.pop("bad_debt_uncovered_wad") / 1e18
    series: list[dict[str, Any]] = []
    bad, liq = 0.0, sorted(r.liquidations, key=lambda x: x.t)
    i = 0
    day = None
    for smp in r.samples:  # the last sample of each UTC day
        while i < len(liq) and liq[i].t <= smp.t:
            bad += liq[i].bad_debt_usd
            i += 1
        d = smp.t // 86_400
        point = {
            "run": row["run"],
            "t": smp.t,
            "price": smp.price,
            "pool_nav_usd": smp.pool_nav_usd,
            "insurance_usd": smp.insurance_usd,
            "bad_debt_usd": bad,
        }
        if d == day:
            series[-1] = point
        else:
            series.append(point)
            day = d
    liquidations = [
        {"run": row["run"], "t": x.t, "book": x.book, "bad_debt_usd": x.bad_debt_usd}
        for x in r.liquidations
    ]
    return {"row": row, "series": series, "liquidations": liquidations}


def _styles(mix: dict[str, int]) -> Mix:
    """A mix's extra agent styles: its keys beside `agents` and `exposed`."""
    return Mix.of({k: n for k, n in mix.items() if k not in ("agents", "exposed")})


def specs(
    seeds: list[int],
    windows: list[tuple[str, str]],
    param_sets: dict[str, dict[str, int]],
    mixes: dict[str, dict[str, int]],
    **common: Any,
) -> list[RunSpec]:
    """Every (parameter set, agent mix, window, seed); a mix: {"agents": N, "exposed": K, and
    any of sim.agents.Mix's styles: "whales", "overnight", "contrarians", "fleeing",
    "protected"}."""
    out = []
    for (pname, pset), (mname, mix), (start, end), seed in itertools.product(
        param_sets.items(), mixes.items(), windows, seeds
    ):
        styles = _styles(mix).label()
        agents, exposed = mix.get("agents", 24), mix.get("exposed", 0)
        out.append(RunSpec(seed, start, end, pname, pset, mname, agents, exposed, styles, **common))
    return out


def execute(
    runs: list[RunSpec], workers: int = 1, scheduler: str | None = None, progress: Any = None
) -> list[dict[str, Any]]:
    """Every run's result, in `runs`' order: on the Dask cluster at `scheduler`, else over
    `workers` local processes (1: in this one)."""
    todo = [r.as_dict() for r in runs]
    if scheduler:
        from distributed import Client, as_completed

        with Client(scheduler) as client:
            futures = client.map(run_spec, todo, pure=False)
            index = {f.key: k for k, f in enumerate(futures)}
            out: list[Any] = [None] * len(todo)
            for f in as_completed(futures):
                out[index[f.key]] = f.result()
                if progress:
                    progress(out[index[f.key]])
            return out
    if workers <= 1:
        results = []
        for spec in todo:
            results.append(run_spec(spec))
            if progress:
                progress(results[-1])
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")  # a fresh EVM per process
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        results = []
        for res in pool.map(run_spec, todo):
            results.append(res)
            if progress:
                progress(res)
        return results


def write(results: list[dict[str, Any]], out: Path, charts: bool = True) -> Path:
    """runs.csv, runs.parquet, series.parquet, liquidations.parquet and report.md in `out`."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    runs = pd.DataFrame([r["row"] for r in results])
    series = pd.DataFrame([p for r in results for p in r["series"]])
    liqs = pd.DataFrame(
        [x for r in results for x in r["liquidations"]],
        columns=["run", "t", "book", "bad_debt_usd"],
    )
    runs.to_csv(out / "runs.csv", index=False)
    runs.to_parquet(out / "runs.parquet", index=False)
    series.to_parquet(out / "series.parquet", index=False)
    liqs.to_parquet(out / "liquidations.parquet", index=False)
    by = runs.groupby("params_name")
    table = by.agg(
        runs=("run", "count"),
        balanced=("balanced", "all"),
        liquidations_perp=("liquidations_perp", "sum"),
        liquidations_vault=("liquidations_vault", "sum"),
        bad_debt_usd=("bad_debt_usd", "sum"),
        bad_debt_max_usd=("bad_debt_usd", "max"),
        uncovered_usd=("bad_debt_uncovered_usd", "sum"),
        pool_absorbed_usd=("bad_debt_pool_usd", "sum"),
        worst_nav_drawdown=("pool_nav_max_drawdown", "max"),
        lp_return_mean=("lp_return", "mean"),
        trader_return_mean=("trader_return", "mean"),
        agent_reverts=("agent_reverts", "sum"),
    )
    lines = [
        "# synthequity sweep",
        "",
        f"{len(runs)} runs: seeds {sorted(set(runs['seed']))}, windows "
        f"{sorted(set(runs['start'] + '..' + runs['end']))}, parameter sets "
        f"{sorted(set(runs['params_name']))}, agent mixes {sorted(set(runs['mix_name']))}.",
        "",
        "## Per parameter set",
        "",
        _markdown(table.reset_index()),
        "",
        "## Runs",
        "",
        _markdown(
            runs[
                [
                    "run",
                    "status",
                    "ticks",
                    "liquidations_perp",
                    "liquidations_vault",
                    "bad_debt_usd",
                    "bad_debt_insurance_usd",
                    "bad_debt_pool_usd",
                    "bad_debt_uncovered_usd",
                    "pool_nav_max_drawdown",
                    "lp_return",
                    "trader_return",
                    "balanced",
                    "ticks_per_s",
                ]
            ]
        ),
        "",
        "Trader return: (margin paid back to traders + margin left in the market at the end) "
        "/ (margin they deposited) - 1, from the collateral token's Transfer logs and the "
        "market's books (open positions' unrealized PnL is left out).",
        "",
    ]
    if charts:
        lines += [f"![{f}]({f})" for f in _charts(runs, series, liqs, out)]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _markdown(df: Any) -> str:
    cols = list(df.columns)
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for rec in df.itertuples(index=False):
        cells = [f"{v:,.4g}" if isinstance(v, float) else str(v) for v in rec]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _charts(runs: Any, series: Any, liqs: Any, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import datetime as dt

    import matplotlib.pyplot as plt

    files = []
    names = sorted(set(runs["params_name"]))
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for name in names:
        ids = set(runs[runs["params_name"] == name]["run"])
        for k, (_, s) in enumerate(series[series["run"].isin(ids)].groupby("run")):
            x = [dt.datetime.fromtimestamp(t, dt.UTC) for t in s["t"]]
            label = name if k == 0 else None
            axes[0].plot(x, s["bad_debt_usd"], lw=0.8, label=label, color=f"C{names.index(name)}")
            axes[1].plot(x, s["insurance_usd"], lw=0.8, label=label, color=f"C{names.index(name)}")
    axes[0].set_ylabel("bad debt, USD (cumulative)")
    axes[1].set_ylabel("insurance fund, USD")
    axes[0].legend(title="parameter set")
    axes[0].set_title("bad debt and insurance fund over time (one line per run)")
    files.append(_save(fig, out / "bad_debt_insurance.png", plt))

    fig, ax = plt.subplots(figsize=(9, 4))
    for name in names:
        ids = set(runs[runs["params_name"] == name]["run"])
        vals = liqs[liqs["run"].isin(ids)]["bad_debt_usd"]
        if len(vals):
            ax.hist(vals, bins=30, alpha=0.5, label=name)
    ax.set_xlabel("shortfall per liquidation, USD (0: fully covered by the position)")
    ax.set_ylabel("liquidations")
    ax.legend()
    ax.set_title("liquidations by shortfall")
    files.append(_save(fig, out / "liquidations.png", plt))

    fig, ax = plt.subplots(figsize=(7, 5))
    for name in names:
        sub = runs[runs["params_name"] == name]
        ax.scatter(sub["trader_return"] * 100, sub["lp_return"] * 100, label=name)
    ax.set_xlabel("trader return, %")
    ax.set_ylabel("LP return (pool NAV), %")
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.legend()
    ax.set_title("LP return vs trader return, per run")
    files.append(_save(fig, out / "returns.png", plt))

    fig, ax = plt.subplots(figsize=(7, 4))
    worst = runs.groupby("params_name")["pool_nav_max_drawdown"].max() * 100
    ax.bar(list(worst.index), list(worst.values))
    ax.set_ylabel("worst pool-NAV drawdown, %")
    ax.set_title("worst drawdown of the pool's NAV, per parameter set")
    files.append(_save(fig, out / "drawdown.png", plt))
    return files


def _save(fig: Any, path: Path, plt: Any) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


# ---- the command ------------------------------------------------------------------------


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def _named(text: str, what: str) -> tuple[str, dict[str, int]]:
    """NAME:key=value,key=value"""
    name, _, rest = text.partition(":")
    values: dict[str, int] = {}
    for item in filter(None, rest.split(",")):
        k, sep, v = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{what} {text!r}: expected NAME:key=value,...")
        values[k.strip()] = int(float(v))
    return name, values


@click.command()
@click.option("--seeds", default="1", show_default=True, help="e.g. 1-10 or 1,3,5")
@click.option(
    "--window",
    "windows",
    multiple=True,
    default=("2022-09-01:2022-12-31",),
    show_default=True,
    help="START:END; repeat for several.",
)
@click.option(
    "--params",
    "param_sets",
    multiple=True,
    help="NAME:key=value,... a parameter set beside the defaults; repeat for several. Keys: "
    + ", ".join(KEYS),
)
@click.option(
    "--mix",
    "mixes",
    multiple=True,
    help="NAME:agents=N,exposed=K,whales=N,overnight=N,contrarians=N,fleeing=N an agent mix "
    "(default: 24 agents, no eager 5x traders, no extra styles; sim.agents).",
)
@click.option("--prints-every", "step_min", default=120, show_default=True)
@click.option("--csv", "csv_path", default="data/tsla_daily.csv", show_default=True)
@click.option("--engine", type=click.Choice(["revm", "pyevm"]), default="revm")
@click.option("--workers", default=1, show_default=True, help="Local processes.")
@click.option("--scheduler", default=None, help="A Dask scheduler (tcp://host:8786).")
@click.option("--out", default="reports/sweep", show_default=True)
@click.option("--charts/--no-charts", default=True, show_default=True)
def main(
    seeds: str,
    windows: tuple[str, ...],
    param_sets: tuple[str, ...],
    mixes: tuple[str, ...],
    step_min: int,
    csv_path: str,
    engine: str,
    workers: int,
    scheduler: str | None,
    out: str,
    charts: bool,
) -> None:
    from synthequity.ui import make_console

    console = make_console()
    sets = {"default": {}} | dict(_named(p, "--params") for p in param_sets)
    for pset in sets.values():
        protocol_kwargs(pset)  # refuse unknown keys before anything runs
    mix: dict[str, dict[str, int]] = {}
    for m in mixes:
        name, v = _named(m, "--mix")
        try:  # refuse an unknown style before anything runs
            _styles(v)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--mix") from None
        mix[name] = v
    runs = specs(
        _seeds(seeds),
        [tuple(w.split(":", 1)) for w in windows],  # type: ignore[misc]
        sets,
        mix or {"default": {"agents": 24}},
        step_s=step_min * 60,
        csv=csv_path,
        engine=engine,
    )
    where = scheduler or f"{workers} local process{'es' if workers > 1 else ''}"
    console.print(f"{len(runs)} runs on {where}", highlight=False)
    t0, done = time.perf_counter(), [0]

    def progress(res: dict[str, Any]) -> None:
        done[0] += 1
        row = res["row"]
        console.print(
            f"  {done[0]}/{len(runs)} {row['run']}: {row['status']}, bad debt "
            f"${row['bad_debt_usd']:,.2f} (uncovered ${row['bad_debt_uncovered_usd']:,.2f}), "
            f"{row['ticks_per_s']:.1f} ticks/s, {time.perf_counter() - t0:,.0f} s",
            highlight=False,
        )
        console.file.flush()

    results = execute(runs, workers, scheduler, progress)
    path = write(results, Path(out), charts)
    console.print(f"report: {path} ({time.perf_counter() - t0:,.0f} s)")
    if not all(r["row"]["balanced"] for r in results):
        raise SystemExit("RECONCILIATION FAILED in some runs: see the report")


if __name__ == "__main__":
    main()
