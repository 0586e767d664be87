"""`ape run keeper <job>`: the protocol's keepers.

    ape run keeper oracle --network ethereum:local:foundry --account TEST::1 \
        --source csv:data/tsla_daily.csv --start 2022-11-21 --end 2022-11-29
    ape run keeper oracle --network ethereum:local:foundry --account TEST::2 \
        --confirm-source http:URL#price=p&time=t     # the confirming keeper (2nd reporter)
    ape run keeper oracle --network ethereum:local:foundry --account TEST::1 \
        --source pyth:ID --confirm-source datastreams:ID --confirm-account TEST::2   # both
    ape run keeper orders --network ethereum:local:foundry --account TEST::5
    ape run keeper liquidate --network ethereum:local:foundry --account TEST::6 [--book vault] \
        [--config keeper.toml] [--shard 0/2] [--metrics-port 9101]
    ape run keeper inventory --network ethereum:local:foundry --account TEST::6 \
        --buy-fee-synth 2.5 | --collateral 5000 --mint 10
"""

import click
from ape.cli import AccountAliasPromptChoice, ConnectedProviderCommand, account_option

from synthequity.keepers.cli import run_inventory_cli, run_keeper_cli
from synthequity.keepers.oracle.cli import run_oracle_keeper


@click.group()
def cli():
    """synthequity keepers."""


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--symbol", default="TSLA", show_default=True, help="Market in deployments/.")
@click.option(
    "--oracle", "oracle_address", default=None, help="Oracle address (overrides --symbol)."
)
@click.option(
    "--source",
    default=None,
    help="Primary: csv:PATH | gbm:SEED[:S0[:SIGMA]] | http:URL | pyth:FEED_ID | "
    "datastreams:FEED_ID (keys and endpoints: SYNTHEQUITY_ORACLE_* env, "
    "docs/runbooks/price-sources.md)",
)
@click.option(
    "--confirm-source",
    default=None,
    help="The confirming keeper: read this independent source and push only while the feed "
    "is suspect (confirm it, or revert it to its anchor). Alone: a second process signing "
    "with its own --account (the more independent deployment). With --source: both roles in "
    "one process, the confirmations signed by --confirm-account.",
)
@click.option(
    "--confirm-account",
    type=AccountAliasPromptChoice(),
    default=None,
    help="With --source and --confirm-source: the second REPORTER account, which signs the "
    "confirming keeper's pushes (not the --account: the oracle's path (a) needs a different "
    "reporter).",
)
@click.option(
    "--splits",
    default=None,
    help="Splits the quotes cross, DATE:RATIO,... e.g. 2020-08-31:5,2022-08-25:3 "
    "(env SYNTHEQUITY_ORACLE_SPLITS); a CSV is then replayed unadjusted.",
)
@click.option(
    "--dividends",
    default=None,
    help="Cash dividends the quotes cross, EX_DATE:USD,... e.g. 2024-02-09:0.24, or a CSV "
    "with ex_date,amount columns (env SYNTHEQUITY_ORACLE_DIVIDENDS): the primary stages each "
    "a day ahead at least (docs/runbooks/dividends.md).",
)
@click.option(
    "--start", default=None, help="Replay from (ISO date/time, UTC); default: chain time."
)
@click.option("--end", default=None, help="Replay until (ISO date/time, UTC).")
@click.option("--step", default=60, show_default=True, help="Replay: virtual seconds per tick.")
@click.option(
    "--speed",
    default=0.0,
    show_default=True,
    help="Replay: virtual seconds per wall second (0: as fast as possible).",
)
@click.option("--deviation-bps", type=int, default=None, help="Push on this move (default 50).")
@click.option(
    "--heartbeat",
    "heartbeat_open_s",
    type=int,
    default=None,
    help="Push at least this often while OPEN, seconds (default 60).",
)
@click.option(
    "--expect",
    default=None,
    help="LO:HI in USD, e.g. 150:400: the first push (and the first after an outage) must "
    "lie within it, else it is refused (required for network sources off local chains).",
)
@click.option(
    "--stage-splits",
    is_flag=True,
    help="Stage the splits the source announces (Data Streams v10) with this account, which "
    "needs DEFAULT_ADMIN; otherwise they are logged for the admin.",
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve Prometheus /metrics and JSON /health on this port (env "
    "SYNTHEQUITY_ORACLE_METRICS_PORT).",
)
@click.option(
    "--config",
    default=None,
    help="A TOML file of settings (env SYNTHEQUITY_ORACLE_CONFIG): the flags and the "
    "environment override it (docs/runbooks/oracle-keeper.md).",
)
@click.option("--dry-run", is_flag=True, help="Decide and log, send nothing.")
@click.option(
    "--log-format", type=click.Choice(["json", "plain"]), default="json", show_default=True
)
@click.option("--summary/--no-summary", default=True, help="Print the pushes at exit.")
def oracle(network, account, **options):
    """Push an equity's price and market status into its EquityOracle."""
    run = run_oracle_keeper(network, account, **options)
    if refused := run.refused:
        raise SystemExit(f"refused {refused} push(es): see the 'push refused' log lines")


def keeper_options(fn):
    """Options shared by the order and liquidation keepers. A flag left out is decided by the
    environment (SYNTHEQUITY_KEEPER_<NAME>), then the --config file, then the default
    (synthequity/keepers/settings.py; docs/runbooks/keepers.md)."""
    for opt in reversed(
        [
            account_option(),
            click.option(
                "--config",
                default=None,
                help="TOML settings file (env SYNTHEQUITY_KEEPER_CONFIG); flags override it.",
            ),
            click.option("--symbol", default=None, help="Market [TSLA]."),
            click.option("--market", "market_address", default=None, help="PerpMarket address."),
            click.option("--vault", "vault_address", default=None, help="SynthVault address."),
            click.option(
                "--from-block",
                type=int,
                default=None,
                help="Index accounts from this block (default: the contract's deploy block).",
            ),
            click.option("--poll", type=float, default=None, help="Seconds between ticks [0.5]."),
            click.option("--max-ticks", type=int, default=None, help="Stop after N ticks."),
            click.option(
                "--max-fee-gwei", type=float, default=None, help="Send nothing above this fee."
            ),
            click.option(
                "--min-profit-usd",
                type=float,
                default=None,
                help="Skip jobs whose reward minus gas is below this [0].",
            ),
            click.option(
                "--native-usd",
                type=float,
                default=None,
                help="USD price of the gas token, for the profitability check [3000].",
            ),
            click.option(
                "--shard",
                default=None,
                help="i/N: keep only the accounts whose address hashes to i mod N [0/1].",
            ),
            click.option(
                "--metrics-port",
                type=int,
                default=None,
                help="Serve Prometheus /metrics and JSON /health on this port.",
            ),
            click.option("--batch-reads", type=int, default=None, help="eth_call per batch."),
            click.option(
                "--batch-simulations", type=int, default=None, help="eth_estimateGas per batch."
            ),
            click.option(
                "--batch-sends", type=int, default=None, help="eth_sendRawTransaction per batch."
            ),
            click.option(
                "--dry-run", is_flag=True, default=None, help="Decide and log, send nothing."
            ),
            click.option(
                "--log-format", type=click.Choice(["json", "plain"]), default=None, help="[json]"
            ),
        ]
    ):
        fn = opt(fn)
    return fn


@cli.command(cls=ConnectedProviderCommand)
@keeper_options
def orders(network, account, **options):
    """Execute committed perp orders once a newer price lands; cancel expired ones."""
    run_keeper_cli(network, account, jobs="orders", **options)


@cli.command(cls=ConnectedProviderCommand)
@keeper_options
@click.option(
    "--book",
    type=click.Choice(["all", "perp", "vault"]),
    default=None,
    help="Perp positions below maintenance, vault ones below the liquidation ratio, or both [all].",
)
def liquidate(network, account, **options):
    """Liquidate perp and vault positions, riskiest first (vault: within the sTSLA inventory)."""
    run_keeper_cli(network, account, jobs="liquidate", **options)


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--symbol", default="TSLA", show_default=True, help="Which vault's synth.")
@click.option("--collateral", default="0", help="Collateral to deposit, USD (human units).")
@click.option("--mint", default="0", help="Synth to mint, shares (human units).")
@click.option(
    "--min-cr", default=200.0, show_default=True, help="Refuse to leave the keeper below this CR %."
)
@click.option(
    "--buy-fee-synth",
    default="0",
    help="Synth to buy from the insurance fund's stability fees at the oracle price, shares "
    "(human units): inventory without a position of the keeper's own.",
)
def inventory(network, account, **options):
    """Show, buy or mint the synth inventory a vault liquidation burns."""
    run_inventory_cli(network, account, **options)
