"""`ape run bench_keepers [--accounts 10000]`: the liquidation keeper against N open positions
on a local chain — accounts checked per second, blocks from price to liquidation, and every
position the model says is liquidatable found and liquidated."""

import click
from ape.cli import ConnectedProviderCommand
from rich.table import Table

from synthequity.dev.bench_keepers import run_scale
from synthequity.logs import configure
from synthequity.ui import make_console


@click.command(cls=ConnectedProviderCommand)
@click.option("--accounts", "n", default=10_000, show_default=True, help="Open positions.")
@click.option("--seed", default=1, show_default=True, help="Leverage draw.")
@click.option("--fall", default=0.15, show_default=True, help="Price fall, fraction.")
@click.option(
    "--block-time",
    default=2,
    show_default=True,
    help="Seconds per block after setup (0: automine).",
)
def cli(network, n, seed, fall, block_time):
    from ape import accounts, chain, project
    from ape.logging import logger

    logger.set_level("WARNING")
    configure(json_lines=False, level="WARNING")  # the keeper's warnings, with their fields
    if not network.is_local:
        raise SystemExit("the keeper bench impersonates accounts: run it on a local anvil")
    test = accounts.test_accounts
    actors = {"admin": test[0], "reporter": test[1], "lp": test[9], "keeper": test[5]}
    result = run_scale(project, chain, actors, n=n, seed=seed, fall=fall, block_time=block_time)
    table = Table(title=f"liquidation keeper at {n:,} accounts (batch view, 500 per call)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in result.rows():
        table.add_row(*row)
    make_console().print(table)
    if result.missed or result.flagged_by_keeper != result.liquidatable_by_model:
        raise SystemExit(f"the keeper missed {len(result.missed)} liquidatable positions")
