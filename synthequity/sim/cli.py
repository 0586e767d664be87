"""What `ape run simulate` and `python -m synthequity.sim` share: the options, the run loop
(a progress bar, Ctrl-C ends the replay at the next tick and the partial report is still
written) and the report at the end; and the in-process run (`run_local`: no node)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from synthequity.constants import DEFAULT_INSURANCE_SEED_USD
from synthequity.sim import agents as ag
from synthequity.sim.progress import ReplayProgress
from synthequity.sim.run import SimConfig, SimResult, Simulation, default_output, replace_policy

BACKENDS = ("anvil", "revm", "pyevm")
DEPLOY_LEAD_S = 3_600  # the in-process deployment, before the window's start


def _window(_ctx: Any, _param: Any, value: str) -> tuple[str, str]:
    start, sep, end = value.partition(":")
    if not sep or not start or not end:
        raise click.BadParameter("expected START:END, e.g. 2020-01-01:2020-12-31")
    return start, end


def sim_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The replay's options, in the order `--help` shows them."""
    options = [
        click.option(
            "--window",
            default="2022-09-01:2022-12-31",
            show_default=True,
            callback=_window,
            help="START:END dates to replay (default: the 2022 drawdown's last leg, TSLA -54%).",
        ),
        click.option("--agents", "n_agents", default=24, show_default=True, help="Seeded agents."),
        click.option("--seed", default=1, show_default=True),
        click.option(
            "--prints-every",
            "step_min",
            default=120,
            show_default=True,
            help="Minutes between oracle prints while the market is open.",
        ),
        click.option("--csv", "csv_path", default="data/tsla_daily.csv", show_default=True),
        click.option(
            "--symbol",
            default=None,
            help="The replayed equity's name (default: from the file, e.g. aapl_daily.csv -> "
            "AAPL); on anvil also the deployed market replayed on, when one is deployed under "
            "that name.",
        ),
        click.option(
            "--scenario",
            default=None,
            help="A synthetic scenario's JSON (data/scenarios/): its prints replace --csv and "
            "--window.",
        ),
        click.option(
            "--confirm/--no-confirm",
            default=False,
            help="Scenario: a second reporter replays the confirming source.",
        ),
        click.option(
            "--exposed", default=0, show_default=True, help="Eager 5x traders (gap exposure)."
        ),
        click.option(
            "--savers",
            default=0,
            show_default=True,
            help="Borrowers who keep their synth in the stability pool (on top of --agents).",
        ),
        click.option(
            "--redeemers",
            default=0,
            show_default=True,
            help="Peg arbitrageurs who redeem their synth when it trades under the oracle "
            "price by more than the redemption fee (on top of --agents).",
        ),
        click.option(
            "--dividends",
            default="",
            help="Cash dividends the oracle keeper stages: a CSV (data/aapl_dividends.csv) "
            "or DATE:AMOUNT,... ; the report shows who received and who paid them.",
        ),
        click.option(
            "--mix",
            "styles",
            default="",
            help="Extra agents by style on top of --agents: whales=N (near the OI cap), "
            "overnight=N (hold through every close), contrarians=N (against the skew), "
            "fleeing=N (LPs who flee a 5% drawdown), protected=N (a stop-loss and a take-profit "
            "on every position), e.g. whales=1,overnight=4.",
        ),
        click.option(
            "--keeper-inventory",
            type=click.Choice(["buy", "mint", "none"]),
            default="buy",
            show_default=True,
            help="Where the vault keeper's sTSLA comes from: buy it just in time (the "
            "insurance fund's fee synth at the oracle price, then holders' at +0.3%), mint it "
            "once at 400% CR, or none (only through the stability pool).",
        ),
        click.option(
            "--agent-every",
            "agent_every_min",
            default=0,
            show_default=True,
            help="Minutes between the agents' turns (0: every OPEN print).",
        ),
        click.option(
            "--insurance",
            "insurance_usd",
            default=DEFAULT_INSURANCE_SEED_USD,
            show_default=True,
            help="Top the insurance fund up to this many USD before the replay (the default is "
            "the deployment's seed; 0 shows each shortfall in full).",
        ),
        click.option(
            "--max-stale-open",
            "max_stale_open_min",
            default=120,
            show_default=True,
            help="Minutes the price may be stale or HALTED while the source is OPEN before the "
            "headline says ORACLE FROZEN and the exit status is 1.",
        ),
        click.option(
            "--compare-gap-policy",
            "gap_mmr_pct",
            type=float,
            default=None,
            help="Also run the same window with this maintenance margin (%) while CLOSED "
            "(raised at each day's last print) and compare bad debt.",
        ),
        click.option("--out", default=None, help="Report directory (default: reports/<run>)."),
        click.option("--charts/--no-charts", default=True, show_default=True, help="PNG charts."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _mix(text: str) -> ag.Mix:
    try:
        return ag.Mix.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--mix") from None


def make_config(
    window: tuple[str, str],
    n_agents: int,
    seed: int,
    step_min: int,
    csv_path: str,
    symbol: str | None,
    scenario: str | None,
    confirm: bool,
    exposed: int,
    savers: int,
    redeemers: int,
    dividends: str,
    styles: str,
    keeper_inventory: str,
    agent_every_min: int,
    insurance_usd: int,
    max_stale_open_min: int,
    gap_mmr_pct: float | None,
) -> tuple[SimConfig, list[int | None]]:
    """The run's config and its policies (the default, and the gap policy when asked)."""
    cfg = SimConfig(
        start=window[0],
        end=window[1],
        agents=n_agents,
        seed=seed,
        step_s=step_min * 60,
        csv=csv_path,
        symbol=(symbol or "").upper(),
        scenario=scenario or "",
        confirm=confirm,
        agent_every_s=agent_every_min * 60,
        exposed=exposed,
        savers=savers,
        redeemers=redeemers,
        dividends=dividends,
        mix=_mix(styles),
        keeper_inventory=keeper_inventory,
        insurance_usd=insurance_usd,
        max_stale_open_s=max_stale_open_min * 60,
    )
    if scenario:
        from synthequity.sim.scenarios import load as load_scenario

        sc = load_scenario(scenario)
        cfg = dataclasses.replace(cfg, start=sc.start, end=sc.end)
    return cfg, [None] + ([round(gap_mmr_pct * 100)] if gap_mmr_pct else [])


def replay(sim: Simulation, console: Console | None, label: str = "replaying") -> SimResult:
    """`sim.run()` with progress on `console` (None: quiet); SIGINT/SIGTERM end it at the
    next tick (the result says interrupted, its report is still written)."""
    import signal
    import threading

    def stop(_signum: int, _frame: object) -> None:
        sim.stop.set()
        if console is not None:
            console.print("stopping after this tick: the partial report follows", style="yellow")

    # importing ape sets SIGINT to exit(130) (ape/__init__.py) and the oracle keeper imports it
    # lazily at its first push: import it first, so that the handler below is the one kept
    import ape  # noqa: F401

    main = threading.current_thread() is threading.main_thread()
    old = [signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)] if main else []
    try:
        if console is None:
            return sim.run()
        with ReplayProgress(console, label) as progress:
            sim.on_tick = progress.on_tick
            return sim.run()
    finally:
        for s, handler in zip((signal.SIGINT, signal.SIGTERM), old, strict=False):
            signal.signal(s, handler)


def run_local(
    cfg: SimConfig,
    policies: list[int | None],
    engine: str = "revm",
    console: Console | None = None,
    addresses: list[str] | None = None,
    deployed_at: int | None = None,
    **protocol: Any,
) -> list[SimResult]:
    """The replay in-process (`synthequity.sim.boa_backend`): the protocol deployed by
    `deploy_protocol` with the chain's clock at `deployed_at` (default: an hour before the
    window's start: funding the agents takes a block each),
    one fresh deployment per policy; `protocol`: deploy_protocol's parameters."""
    from synthequity.market_hours import to_ts
    from synthequity.sim.boa_backend import deploy_stack
    from synthequity.sim.run import prepare

    results = []
    for policy in policies:
        at = deployed_at if deployed_at is not None else to_ts(cfg.start) - DEPLOY_LEAD_S
        chain, stack = deploy_stack(
            at, addresses, engine=engine, insurance_seed_usd=cfg.insurance_usd, **protocol
        )
        agents = cfg.make_agents()
        who = prepare(stack, agents, chain)
        sim = Simulation(stack, who, agents, replace_policy(cfg, policy), chain=chain)
        results.append(replay(sim, console))
        if results[-1].interrupted:
            break
    return results


def report(
    results: list[SimResult],
    cfg: SimConfig,
    out: str | None,
    console: Console,
    charts: bool = True,
) -> Path:
    """report.md (+ charts, samples.csv, summary.json), the headline table; exits 1 on an
    alarm (reconciliation, frozen oracle, interrupted)."""
    from synthequity.sim.report import headline_table, write

    path = write(results, Path(out) if out else default_output(Path("reports"), cfg), charts)
    console.print(headline_table(results))
    for r in results:
        console.print(
            f"{r.policy}: {r.ticks_done:,} ticks in {r.replay_s:,.1f} s on {r.backend}: "
            f"{r.ticks_per_s:,.1f} ticks/s (wall {r.wall_s:,.1f} s with events and "
            "reconciliation)",
            highlight=False,
        )
    console.print(f"report: {path}")
    alarms = [r.status() for r in results if r.status() != "ok"]
    if alarms:
        raise SystemExit(f"{'; '.join(alarms)}: see {path}")
    return path
