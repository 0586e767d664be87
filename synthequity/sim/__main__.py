"""`python -m synthequity.sim`: the market replay in-process (no node, no Ape project): the
protocol deployed by `deploy_protocol` in titanoboa and run in revm (`--engine pyevm`:
titanoboa's own EVM, ~30x slower), the same keepers, agents, report and reconciliation as
`ape run simulate` (docs/design/simulation.md). `make stress` replays the whole TSLA history."""

from __future__ import annotations

import click

from synthequity.sim.cli import make_config, report, run_local, sim_options
from synthequity.ui import make_console


@click.command()
@sim_options
@click.option(
    "--engine",
    type=click.Choice(["revm", "pyevm"]),
    default="revm",
    show_default=True,
    help="The EVM the in-process chain runs on.",
)
@click.option(
    "--deployed-at",
    type=int,
    default=None,
    help="Unix time of the deployment on the in-process chain (default: an hour before the "
    "window's start); "
    "the vault's fee index runs from it.",
)
def main(
    out: str | None, charts: bool, engine: str, deployed_at: int | None, **opts: object
) -> None:
    from synthequity import logs

    logs.configure(json_lines=False, level="WARNING")
    console = make_console()
    cfg, policies = make_config(**opts)  # type: ignore[arg-type]
    console.print(
        f"replaying {cfg.label} {cfg.start} .. {cfg.end} in-process ({engine}), "
        f"{cfg.n_agents} agents, seed {cfg.seed}",
        highlight=False,
    )
    results = run_local(cfg, policies, engine, console, deployed_at=deployed_at)
    report(results, cfg, out, console, charts)


if __name__ == "__main__":
    main()
