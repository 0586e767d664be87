"""`ape run bench [--strict]`: receipt gas of the SPEC.md §10 operations on a local chain."""

import click
from ape.cli import ConnectedProviderCommand

from synthequity.dev.bench import Actors, run
from synthequity.ui import make_console


@click.command(cls=ConnectedProviderCommand)
@click.option("--strict", is_flag=True, help="Exit non-zero when an operation is above target.")
@click.option(
    "--keeper-accounts",
    default=1_000,
    show_default=True,
    help="Open positions for the keeper's check rate (0: skip; 10,000: make bench-keepers).",
)
def cli(network, strict, keeper_accounts):
    from ape import accounts, chain, project
    from ape.logging import logger

    logger.set_level("WARNING")
    if not network.is_local:
        raise SystemExit("the bench deploys fresh contracts: run it on a local network")
    test = accounts.test_accounts
    table, over = run(Actors(test[0], test[1], test[7], test[6], test[8]), project, chain)
    console = make_console()
    console.print(table)
    if over:
        console.print(f"[red]above target:[/] {', '.join(over)} (see docs/design for why)")
    if keeper_accounts:
        from synthequity.dev.bench_keepers import run_scale

        actors = {"admin": test[0], "reporter": test[1], "lp": test[9], "keeper": test[5]}
        r = run_scale(project, chain, actors, n=keeper_accounts, seed=1, block_time=2)
        console.print(
            f"liquidation keeper: {r.tracked:,} accounts checked in {r.check_seconds:.3f} s "
            f"= [bold]{r.accounts_per_s:,} accounts/s[/] through the batch view; "
            f"{r.liquidations:,}/{r.liquidatable_by_model:,} liquidatable positions liquidated, "
            f"blocks {r.first_block_after_price}-{r.last_block_after_price} after the price"
        )
    if over and strict:
        raise SystemExit(1)
