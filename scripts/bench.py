"""`ape run bench`: receipt gas of the SPEC.md §10 operations on a local chain."""

import click
from ape.cli import ConnectedProviderCommand

from synthequity.bench import Actors, run
from synthequity.ui import make_console


@click.command(cls=ConnectedProviderCommand)
def cli(network):
    from ape import accounts, chain, project
    from ape.logging import logger

    logger.set_level("WARNING")
    if not network.is_local:
        raise SystemExit("the bench deploys fresh contracts: run it on a local network")
    test = accounts.test_accounts
    table, over = run(Actors(test[0], test[1], test[7], test[6], test[8]), project, chain)
    make_console().print(table)
    if over:
        raise SystemExit(f"above target: {', '.join(over)}")
