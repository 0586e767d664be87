"""`ape run simulate`: replay a window of an equity's daily prices (`--csv`, TSLA by default)
or a synthetic gap scenario (`--scenario data/scenarios/NAME.json`) on a local chain with
seeded agents and the real keepers; write reports/<run>/report.md with charts, the oracle's
health (pushes made / refused / suspect, the longest stale-or-HALTED time while the source was
OPEN, the largest divergence), bad debt and who absorbed it, and a reconciliation of every
collateral token unit. The chain's clock must start at the window (`make demo` does this).

Exit status: 0; 1 when the reconciliation does not balance or the oracle was frozen (unusable
while the source was OPEN) longer than `--max-stale-open` minutes."""

import click
from ape.cli import ConnectedProviderCommand

from synthequity.ui import make_console

console = make_console()


def _window(_ctx, _param, value: str) -> tuple[str, str]:
    start, sep, end = value.partition(":")
    if not sep or not start or not end:
        raise click.BadParameter("expected START:END, e.g. 2020-01-01:2020-12-31")
    return start, end


@click.command(cls=ConnectedProviderCommand)
@click.option(
    "--window",
    default="2022-09-01:2022-12-31",
    show_default=True,
    callback=_window,
    help="START:END dates to replay (default: the 2022 drawdown's last leg, TSLA -54%).",
)
@click.option("--agents", "n_agents", default=24, show_default=True, help="Seeded agents.")
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--prints-every",
    "step_min",
    default=120,
    show_default=True,
    help="Minutes between oracle prints while the market is open.",
)
@click.option("--csv", "csv_path", default="data/tsla_daily.csv", show_default=True)
@click.option(
    "--symbol",
    default=None,
    help="The replayed equity's name (default: from the file, e.g. aapl_daily.csv -> AAPL); "
    "also the deployed market replayed on, when one is deployed under that name.",
)
@click.option(
    "--market",
    "market_symbol",
    default=None,
    help="The deployed market to replay on (default: --symbol's, else the only one deployed).",
)
@click.option(
    "--scenario",
    default=None,
    help="A synthetic scenario's JSON (data/scenarios/): its prints replace --csv/--window.",
)
@click.option(
    "--confirm/--no-confirm",
    default=False,
    help="Scenario: a second reporter (TEST::6) replays the confirming source.",
)
@click.option("--exposed", default=0, show_default=True, help="Eager 5x traders (gap exposure).")
@click.option(
    "--agent-every",
    "agent_every_min",
    default=0,
    show_default=True,
    help="Minutes between the agents' turns (0: every OPEN print).",
)
@click.option(
    "--insurance",
    "insurance_usd",
    default=0,
    show_default=True,
    help="Top the insurance fund up to this many USD before the replay.",
)
@click.option(
    "--max-stale-open",
    "max_stale_open_min",
    default=120,
    show_default=True,
    help="Minutes the price may be stale or HALTED while the source is OPEN before the "
    "headline says ORACLE FROZEN and the exit status is 1.",
)
@click.option(
    "--compare-gap-policy",
    "gap_mmr_pct",
    type=float,
    default=None,
    help="Also run the same window with this maintenance margin (%) while CLOSED "
    "(raised at each day's last print) and compare bad debt.",
)
@click.option("--out", default=None, help="Report directory (default: reports/<run>).")
def cli(
    network,
    window,
    n_agents,
    seed,
    step_min,
    csv_path,
    symbol,
    market_symbol,
    scenario,
    confirm,
    exposed,
    agent_every_min,
    insurance_usd,
    max_stale_open_min,
    gap_mmr_pct,
    out,
):
    import dataclasses
    from pathlib import Path

    from ape import accounts, chain
    from ape.logging import logger
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from synthequity import logs
    from synthequity.sim import agents as ag
    from synthequity.sim.report import headline_table, write
    from synthequity.sim.run import (
        SimConfig,
        Simulation,
        default_output,
        deployed_market,
        load_stack,
        prepare,
        replace_policy,
    )
    from synthequity.sim.scenarios import load as load_scenario

    if not network.is_local:
        raise SystemExit("the simulation moves the chain's clock: run it on a local chain")
    logger.set_level("WARNING")
    logs.configure(json_lines=False, level="WARNING")
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
        insurance_usd=insurance_usd,
        max_stale_open_s=max_stale_open_min * 60,
    )
    if scenario:
        sc = load_scenario(scenario)
        cfg = dataclasses.replace(cfg, start=sc.start, end=sc.end)
    test = accounts.test_accounts
    on = deployed_market(network, market_symbol or cfg.label)
    if on != cfg.label:
        console.print(f"replaying {cfg.label}'s prices on the market deployed as {on}")
    try:  # deployed by `ape run deploy` (as `make demo` does): nothing is deployed here
        stack = load_stack(
            network, on, admin=test[0], reporter=test[1], keeper=test[5], confirmer=test[6]
        )
    except LookupError as exc:
        raise SystemExit(f"refused: {exc}") from None
    agents = ag.make_agents(cfg.agents, cfg.seed, exposed=cfg.exposed)
    console.print(f"funding {len(agents)} agents ...")
    who = prepare(stack, agents)
    policies = [None] + ([round(gap_mmr_pct * 100)] if gap_mmr_pct else [])
    snapshot = chain.snapshot() if len(policies) > 1 else None
    results = []
    for i, policy in enumerate(policies):
        if i and snapshot is not None:
            chain.restore(snapshot)
        run_cfg = replace_policy(cfg, policy)
        with Progress(
            TextColumn("{task.description:<34}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("replaying", total=None)

            def on_tick(done, total, what, task=task, progress=progress):
                progress.update(task, completed=done, total=total, description=what)
                if not console.is_terminal and (done % max(total // 20, 1) == 0 or done == total):
                    console.print(f"  {done:>5}/{total} ticks  {what}")  # logs and CI

            sim = Simulation(stack, who, agents, run_cfg, on_tick=on_tick)
            results.append(sim.run())
    path = write(results, Path(out) if out else default_output(Path("reports"), cfg))
    console.print(headline_table(results))
    console.print(f"report: {path}")
    alarms = [r.status() for r in results if r.status() != "ok"]
    if alarms:
        raise SystemExit(f"{'; '.join(alarms)}: see {path}")
