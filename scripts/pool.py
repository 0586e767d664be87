"""`ape run pool <command>`: an LP's stake in an equity's liquidity pool (ERC-4626), which is
the counterparty of every perp trade.

    ape run pool status   --network ethereum:local:foundry --account TEST::4
    ape run pool deposit  --amount 10000
    ape run pool withdraw --amount 2500
Deposits and withdrawals need the market OPEN with a fresh price (the NAV includes open
positions' PnL); checks run before any gas is spent."""

import click
from ape.cli import ConnectedProviderCommand, account_option

from synthequity.user.preflight import balance_problem, fmt, parse_amount, withdraw_problem
from synthequity.user.shell import Session, check, console, run, user_command


@click.group()
def cli():
    """Provide liquidity to an equity perp market."""


def _status(s: Session) -> None:
    shares = int(s.pool.balanceOf(s.account))
    supply = int(s.pool.totalSupply())
    dec = int(s.pool.decimals())
    lines = [
        f"wallet: {s.usd(s.cash())}",
        f"shares: {fmt(shares, dec, 6)} of {fmt(supply, dec, 2)}",
        f"value: {s.usd(int(s.pool.convertToAssets(shares)))}",
        f"withdrawable now: {s.usd(int(s.pool.maxWithdraw(s.account)))}",
        f"pool NAV: {s.usd(int(s.pool.totalAssets()))}",
        f"market: {s.price_problem(s.market) or 'open, price fresh'}",
    ]
    console.print(f"[bold]{s.symbol} pool[/] {s.pool.address} for {s.account.address}")
    for line in lines:
        console.print(f"  {line}")


@cli.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--symbol", default="TSLA", show_default=True)
def status(network, account, symbol):
    """Shares, their value, what can be withdrawn now."""
    run(lambda: _status(Session(network, account, symbol)))


@user_command
@click.option("--amount", required=True, help="Stablecoin to deposit.")
def deposit(network, account, symbol, yes, amount):
    """Deposit stablecoin for pool shares at the NAV."""

    def body():
        s = Session(network, account, symbol, yes)
        units = parse_amount(amount, s.decimals, "--amount")
        check(
            balance_problem(s.cash(), units, s.decimals, s.cash_symbol), s.price_problem(s.market)
        )
        s.confirm(
            f"deposit {s.usd(units)}",
            [f"shares ~{fmt(int(s.pool.previewDeposit(units)), int(s.pool.decimals()), 6)}"],
        )
        s.approve(s.pool, units)
        s.send(s.pool.deposit, units, s.account.address)
        _status(s)

    run(body)


@user_command
@click.option("--amount", required=True, help="Stablecoin to take out.")
def withdraw(network, account, symbol, yes, amount):
    """Withdraw stablecoin, burning shares at the NAV (within the pool's free liquidity)."""

    def body():
        s = Session(network, account, symbol, yes)
        units = parse_amount(amount, s.decimals, "--amount")
        check(s.price_problem(s.market))
        check(withdraw_problem(int(s.pool.maxWithdraw(s.account)), units, s.decimals, "pool"))
        s.confirm(f"withdraw {s.usd(units)}", [])
        s.send(s.pool.withdraw, units, s.account.address, s.account.address)
        _status(s)

    run(body)


cli.add_command(deposit)
cli.add_command(withdraw)
