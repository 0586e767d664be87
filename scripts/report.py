"""`ape run report <what>`: tables read from the chain."""

import statistics
from decimal import Decimal

import click
from ape.cli import ConnectedProviderCommand

from synthequity.deployments import MarketContracts
from synthequity.keepers.oracle.sources import load_daily_bars
from synthequity.reports.oracle import (
    closes_mismatched,
    pushes_from_chain,
    summarize,
    summary_table,
)
from synthequity.ui import make_console

console = make_console()


@click.group()
def cli():
    """Reports read from the chain."""


@cli.command(cls=ConnectedProviderCommand)
@click.option("--symbol", default="TSLA", show_default=True)
@click.option("--csv", "csv_path", default=None, help="Compare closes with this daily file.")
def oracle(network, symbol, csv_path):
    """Every push of a market's oracle, per day, from PricePushed events."""
    try:
        market = MarketContracts.load(network, symbol)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    feed = market.oracle
    pushes = pushes_from_chain(feed, market.block("oracle") or 0)
    if not pushes:
        raise SystemExit("no pushes on chain yet")
    days = summarize(pushes)
    closes: dict = {}
    if csv_path:
        closes = {d: b.close for d, b in load_daily_bars(csv_path).items()}
    console.print(summary_table(days, closes, f"{feed.description()} — pushes read from chain"))
    gas = [p.gas_used for p in pushes if p.gas_used]
    console.print(
        f"rounds {pushes[0].round_id}..{pushes[-1].round_id} ({len(pushes)} pushes); "
        f"push gas min/median/max {min(gas):,}/{int(statistics.median(gas)):,}/{max(gas):,} "
        f"(target <= 45,000); latest {Decimal(pushes[-1].answer) / 10**8} "
        f"{pushes[-1].status.name}"
    )
    if csv_path:
        bad = closes_mismatched(days, closes)
        checked = sum(1 for d in days if d.closing_price is not None and d.day in closes)
        if bad:
            raise SystemExit(f"pushed closes differ from {csv_path} on {bad}")
        console.print(f"[green]every pushed close ({checked} sessions) equals the file's close[/]")
