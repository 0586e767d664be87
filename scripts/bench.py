"""`ape run bench [--strict]`: receipt gas of the SPEC.md §10 operations on a local chain."""

import click
from ape.cli import ConnectedProviderCommand

from synthequity.bench import Actors, run
from synthequity.ui import make_console


@click.command(cls=ConnectedProviderCommand)
@click.option("--strict", is_flag=True, help="Exit non-zero when an operation is above target.")
def cli(network, strict):
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
        if strict:
            raise SystemExit(1)
