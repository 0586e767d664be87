"""`ape run deploy --network <any>`: deploy the protocol and record it in
deployments/<network>.json. Idempotent: what is already deployed (code present, same code
hash) is verified and skipped."""

import click
from ape.cli import ConnectedProviderCommand, account_option

from synthequity.constants import DEFAULT_INSURANCE_SEED_USD
from synthequity.deploy import DeployConfig, deploy_all, resolve_address


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option(
    "--symbols",
    default="TSLA",
    show_default=True,
    help="Comma-separated equities to deploy, e.g. TSLA,AAPL,NVDA.",
)
@click.option(
    "--admin",
    default=None,
    envvar="SYNTHEQUITY_ADMIN",
    help="DEFAULT_ADMIN address or account alias (default: the deploying account).",
)
@click.option(
    "--reporter",
    "reporters",
    multiple=True,
    help="REPORTER address or alias (TEST::1 on a local chain), repeatable.",
)
@click.option("--max-jump-bps", default=2_500, show_default=True, type=int)
@click.option(
    "--collateral",
    default=None,
    envvar="SYNTHEQUITY_COLLATERAL",
    help="USD stablecoin address (required on public networks; a mock on local).",
)
@click.option(
    "--fund-demo/--no-fund-demo",
    default=True,
    show_default=True,
    help="Local chains: 100,000 mock USD for TEST::2..9 (once).",
)
@click.option(
    "--insurance-seed",
    "insurance_seed_usd",
    default=DEFAULT_INSURANCE_SEED_USD,
    show_default=True,
    type=click.IntRange(min=0),
    help="USD the new insurance fund starts with (minted by the local mock, else sent by the "
    "deployer); docs/risk.md sizes it.",
)
def cli(
    network,
    account,
    symbols,
    admin,
    reporters,
    max_jump_bps,
    collateral,
    fund_demo,
    insurance_seed_usd,
):
    cfg = DeployConfig(
        symbols=[s.strip().upper() for s in symbols.split(",") if s.strip()],
        admin=resolve_address(admin) if admin else account.address,
        reporters=[resolve_address(r) for r in reporters],
        max_jump_bps=max_jump_bps,
        collateral=collateral,
        fund_demo=fund_demo,
        insurance_seed_usd=insurance_seed_usd,
    )
    deploy_all(account, cfg, network)
