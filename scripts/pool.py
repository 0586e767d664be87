"""`ape run pool <command>`: an LP's stake in an equity's liquidity pool (ERC-4626), which is
the counterparty of every perp trade.

    ape run pool status   --network ethereum:local:foundry --account TEST::4
    ape run pool deposit  --amount 10000
    ape run pool withdraw --amount 2500
Deposits and withdrawals need the market OPEN with a fresh price (the NAV includes open
positions' PnL). A deposit locks the whole balance for the pool's `deposit_lock_s` (1 day by
default: no just-in-time LP); `status` shows until when. Checks run before any gas is
spent."""

import click

from synthequity.user.preflight import (
    Refused,
    balance_problem,
    fmt,
    lp_deposit_lock_note,
    lp_lock_problem,
    lp_lock_state,
    parse_amount,
    withdraw_problem,
)
from synthequity.user.shell import Session, check, console, user_command


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
        f"lock: {lp_lock_state(int(s.pool.unlock_at(s.account)), s.now())}",
        f"pool NAV: {s.usd(int(s.pool.totalAssets()))}",
        f"market: {s.price_problem(s.market) or 'open, price fresh'}",
    ]
    console.print(f"[bold]{s.symbol} pool[/] {s.pool.address} for {s.account.address}")
    for line in lines:
        console.print(f"  {line}")


@user_command(confirm=False)
def status(s: Session):
    """Shares, their value, what can be withdrawn now."""
    _status(s)


@user_command
@click.option("--amount", required=True, help="Stablecoin to deposit.")
def deposit(s: Session, amount):
    """Deposit stablecoin for pool shares at the NAV."""
    units = parse_amount(amount, s.decimals, "--amount")
    check(balance_problem(s.cash(), units, s.decimals, s.cash_symbol), s.price_problem(s.market))
    s.transact(
        f"deposit {s.usd(units)}",
        s.pool.deposit,
        units,
        s.account.address,
        lines=[
            f"shares ~{fmt(int(s.pool.previewDeposit(units)), int(s.pool.decimals()), 6)}",
            lp_deposit_lock_note(
                int(s.pool.unlock_at(s.account)), s.now(), int(s.pool.deposit_lock_s())
            ),
        ],
        spend=(s.pool, units),
    )
    _status(s)


@user_command
@click.option("--amount", required=True, help="Stablecoin to take out.")
def withdraw(s: Session, amount):
    """Withdraw stablecoin, burning shares at the NAV (within the pool's free liquidity), once
    the last deposit's lock has ended."""
    units = parse_amount(amount, s.decimals, "--amount")
    if not s.settled_at(s.market):
        check(s.price_problem(s.market))
    elif not s.market.lp_open():
        raise Refused("the market is settled: LPs withdraw once every position is closed")
    unlock, lock_s = int(s.pool.unlock_at(s.account)), int(s.pool.deposit_lock_s())
    check(lp_lock_problem(unlock, s.now(), lock_s))
    check(withdraw_problem(int(s.pool.maxWithdraw(s.account)), units, s.decimals, "pool"))
    s.transact(
        f"withdraw {s.usd(units)}", s.pool.withdraw, units, s.account.address, s.account.address
    )
    _status(s)


cli.add_command(status)
cli.add_command(deposit)
cli.add_command(withdraw)
