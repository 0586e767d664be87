"""`ape run simulate`: replay a window of real TSLA prices on a local chain with seeded agents
and the real keepers; write reports/<run>/report.md with charts and a reconciliation of every
collateral token unit. The chain's clock must start at the window (`make demo` does this)."""

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
    "--compare-gap-policy",
    "gap_mmr_pct",
    type=float,
    default=None,
    help="Also run the same window with this maintenance margin (%) while CLOSED "
    "(raised at each day's last print) and compare bad debt.",
)
@click.option("--out", default=None, help="Report directory (default: reports/<run>).")
def cli(network, window, n_agents, seed, step_min, csv_path, gap_mmr_pct, out):
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
        load_stack,
        prepare,
        replace_policy,
    )

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
    )
    test = accounts.test_accounts
    try:  # deployed by `ape run deploy` (as `make demo` does): nothing is deployed here
        stack = load_stack(network, cfg.symbol, admin=test[0], reporter=test[1], keeper=test[5])
    except LookupError as exc:
        raise SystemExit(f"refused: {exc}") from None
    agents = ag.make_agents(cfg.agents, cfg.seed)
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
    if not all(r.balanced for r in results):
        raise SystemExit("the reconciliation does not balance: see the report")
