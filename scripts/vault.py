"""`ape run vault <command>`: a borrower's vault position, in human units.

    ape run vault status  --network ethereum:local:foundry --account TEST::2
    ape run vault open    --collateral 1500 --mint 2.5
    ape run vault deposit --amount 500     |  ape run vault withdraw --amount 200
    ape run vault mint    --amount 1       |  ape run vault burn --amount 1
    ape run vault close
    ape run vault redeem --amount 2.5 [--max-fee 1.5]    (synth for collateral at the oracle price)
    ape run vault sp-deposit --amount 5  |  sp-withdraw --amount 5 (or --all)  |  sp-claim
    ape run vault sp-status
Every command checks what it can before spending gas (balance, market hours, price age, the
minimum collateral ratio) and asks before sending (`--yes` to skip)."""

import click

from synthequity.contracts import flat
from synthequity.model.vault import (
    VaultParams,
    liquidation_price,
    plan_redemption,
    redemption_fee_wad,
)
from synthequity.user.dividends import dividend_history
from synthequity.user.preflight import (
    balance_problem,
    fmt,
    mint_problem,
    parse_amount,
    withdraw_problem,
)
from synthequity.user.shell import Session, check, console, user_command
from synthequity.user.sorted_list import hints_for, sorted_entries

WAD = 10**18


@click.group()
def cli():
    """Mint and repay synthetic equities against stablecoin collateral."""


def _status(s: Session) -> None:
    held, debt = (int(x) for x in s.vault.position(s.account))
    lines = [
        f"wallet: {s.usd(s.cash())}, {fmt(int(s.synth.balanceOf(s.account)), 18, 6)} "
        f"{s.synth_symbol}",
        f"collateral: {s.usd(held)}",
        f"debt: {fmt(debt, 18, 6)} {s.synth_symbol}",
    ]
    if int(s.oracle.latestRound()):
        price = s.price_wad()
        mcr, liq = flat(s.vault.risk_params())[:2]
        mult = int(s.oracle.shares_multiplier_wad())
        lines.append(f"price: ${fmt(price, 18)} per base share")
        if mult != WAD:  # after a split or a dividend: sizes and debts are in base shares
            x = fmt(mult, 18, 6)
            lines.append(
                f"1 {s.synth_symbol} = {x} {s.symbol} shares since splits and dividends"
                f" (quote x {x})"
            )
        paid = dividend_history(
            s.oracle, s.account, synth=s.synth, vault=s.vault, from_block=s.deployed_at()
        )
        if paid.ex_dates:  # what the synth held received, what the debt paid (at each)
            lines.append(
                f"dividends: received ${fmt(paid.received_wad, 18)} on the {s.synth_symbol} "
                f"held, paid ${fmt(paid.paid_wad, 18)} on the debt ({paid.ex_dates} ex-dates)"
            )
        if debt:
            cr = held * s.upu * 10_000 // (debt * price // WAD)
            liq_price = liquidation_price(
                held, debt, VaultParams(*flat(s.vault.risk_params())), s.upu
            )
            lines += [
                f"collateral ratio: {cr / 100:.2f}% (minimum {mcr / 100:.0f}%, "
                f"liquidated under {liq / 100:.0f}%)",
                f"liquidation price: ${fmt(liq_price or 0, 18)}",
                f"mintable now: {fmt(int(s.vault.max_mintable(s.account)), 18, 6)} "
                f"{s.synth_symbol}",
            ]
    problem = s.price_problem(s.vault)
    lines.append(f"market: {problem or 'open, price fresh'}")
    console.print(f"[bold]{s.symbol} vault[/] {s.vault.address} for {s.account.address}")
    for line in lines:
        console.print(f"  {line}")


@user_command
def status(s: Session):
    """Collateral, debt, collateral ratio, liquidation price."""
    _status(s)


def _hints(s: Session, held: int, debt: int) -> tuple[str, str]:
    """The sorted-list hints for a call that leaves the position at `held` units and `debt`:
    without them the vault walks its list from the head (gas grows with every position)."""
    return hints_for(s.vault, s.account, held, debt, s.upu)


def _limit(s: Session, held: int, debt: int) -> int:
    """Synth mintable at the MCR for `held` collateral units and `debt` (the vault's rule)."""
    mcr = flat(s.vault.risk_params())[0]
    limit = held * s.upu * 10_000 * WAD // (s.price_wad() * mcr)
    return max(limit - debt, 0)


@user_command
@click.option("--collateral", required=True, help="Stablecoin to deposit, e.g. 1500.")
@click.option("--mint", "mint_amount", required=True, help="Synth to mint, e.g. 2.5.")
def open(s: Session, collateral, mint_amount):
    """Deposit collateral and mint in one transaction."""
    add = parse_amount(collateral, s.decimals, "--collateral")
    want = parse_amount(mint_amount, 18, "--mint")
    check(balance_problem(s.cash(), add, s.decimals, s.cash_symbol), s.price_problem(s.vault))
    held, debt = (int(x) for x in s.vault.position(s.account))
    check(mint_problem(_limit(s, held + add, debt), want, s.synth_symbol))
    s.transact(
        f"open: deposit {s.usd(add)}, mint {fmt(want, 18, 6)} {s.synth_symbol}",
        s.vault.open,
        add,
        want,
        *_hints(s, held + add, debt + want),
        lines=[f"price ${fmt(s.price_wad(), 18)}"],
        spend=(s.vault, add),
    )
    _status(s)


@user_command
@click.option("--amount", required=True, help="Stablecoin to add.")
def deposit(s: Session, amount):
    """Add collateral (allowed while the market is closed)."""
    add = parse_amount(amount, s.decimals, "--amount")
    check(balance_problem(s.cash(), add, s.decimals, s.cash_symbol))
    held, debt = (int(x) for x in s.vault.position(s.account))
    s.transact(
        f"deposit {s.usd(add)}",
        s.vault.deposit,
        add,
        *_hints(s, held + add, debt),
        spend=(s.vault, add),
    )
    _status(s)


@user_command
@click.option("--amount", required=True, help="Synth to mint.")
def mint(s: Session, amount):
    """Mint more synth against the collateral already deposited."""
    want = parse_amount(amount, 18, "--amount")
    check(s.price_problem(s.vault))
    check(mint_problem(int(s.vault.max_mintable(s.account)), want, s.synth_symbol))
    held, debt = (int(x) for x in s.vault.position(s.account))
    hints = _hints(s, held, debt + want)
    s.transact(f"mint {fmt(want, 18, 6)} {s.synth_symbol}", s.vault.mint, want, *hints)
    _status(s)


@user_command
@click.option("--amount", required=True, help="Synth to repay.")
def burn(s: Session, amount):
    """Repay debt with synth from the wallet (allowed while the market is closed)."""
    want = parse_amount(amount, 18, "--amount")
    held_synth = int(s.synth.balanceOf(s.account))
    held, debt = (int(x) for x in s.vault.position(s.account))
    check(
        balance_problem(held_synth, want, 18, s.synth_symbol),
        None if want <= debt else f"you owe {fmt(debt, 18, 6)} {s.synth_symbol}: burn at most that",
    )
    hints = _hints(s, held, debt - want)
    s.transact(f"burn {fmt(want, 18, 6)} {s.synth_symbol}", s.vault.burn, want, *hints)
    _status(s)


@user_command
@click.option("--amount", required=True, help="Stablecoin to take out.")
def withdraw(s: Session, amount):
    """Take collateral out, keeping the position at or above the minimum ratio."""
    want = parse_amount(amount, s.decimals, "--amount")
    check(s.price_problem(s.vault))
    held, debt = (int(x) for x in s.vault.position(s.account))
    mcr = flat(s.vault.risk_params())[0]
    locked = -(-debt * s.price_wad() * mcr // (10_000 * WAD * s.upu)) if debt else 0
    check(withdraw_problem(max(held - locked, 0), want, s.decimals, "collateral"))
    hints = _hints(s, held - want, debt)
    s.transact(f"withdraw {s.usd(want)}", s.vault.withdraw, want, *hints)
    _status(s)


@user_command
def close(s: Session):
    """Repay all debt from the wallet's synth and take every unit of collateral back."""
    held, debt = (int(x) for x in s.vault.position(s.account))
    if not held and not debt:
        raise SystemExit("nothing to close")
    have = int(s.synth.balanceOf(s.account))
    # fees accrue by the second: the debt when mined is a little above the debt now
    check(balance_problem(have, debt, 18, s.synth_symbol))
    s.transact(
        f"close: repay {fmt(debt, 18, 6)} {s.synth_symbol}, get {s.usd(held)}",
        s.vault.close,
        _hints(s, 0, 0)[0],
    )
    _status(s)


def _fee_bps(fee_wad: int) -> float:
    return fee_wad * 10_000 / WAD


@user_command
@click.option("--amount", required=True, help="Synth to redeem, e.g. 2.5.")
@click.option(
    "--max-fee",
    "max_fee",
    default=None,
    help="The highest fee to accept, in percent (default: today's fee + 0.5 points).",
)
def redeem(s: Session, amount, max_fee):
    """Burn synth for collateral worth it at the oracle price, less the redemption fee, taken
    from the riskiest positions at or above the liquidation ratio (hints computed here)."""
    want = parse_amount(amount, 18, "--amount")
    check(
        balance_problem(int(s.synth.balanceOf(s.account)), want, 18, s.synth_symbol),
        s.price_problem(s.vault),
    )
    price = s.price_wad()
    params = VaultParams(*flat(s.vault.risk_params()))
    plan = plan_redemption(
        sorted_entries(s.vault), want, price, params, s.upu, int(s.vault.rate_index())
    )
    check(
        None
        if plan.redeemed
        else "nothing to redeem: no position at or above the liquidation ratio has debt above "
        "the minimum"
    )
    fee_wad = redemption_fee_wad(
        int(s.vault.redemption_base_rate()), 0, 0, plan.redeemed, int(s.synth.totalSupply())
    )
    bound_bps = (
        int(float(max_fee) * 100) if max_fee is not None else int(_fee_bps(fee_wad) + 50) + 1
    )
    check(
        None
        if fee_wad * 10_000 <= bound_bps * WAD
        else f"the fee is {_fee_bps(fee_wad) / 100:.2f}% now, above --max-fee "
        f"{bound_bps / 100:.2f}%"
    )
    paid = plan.collateral - plan.collateral * fee_wad // WAD
    lines = [
        f"price ${fmt(price, 18)}; fee {_fee_bps(fee_wad) / 100:.3f}% "
        f"(at most {bound_bps / 100:.2f}%)",
        f"from {len(plan.taken)} position(s), riskiest first",
    ]
    if plan.redeemed < want:
        lines.append(
            f"only {fmt(plan.redeemed, 18, 6)} {s.synth_symbol} redeemable in one call now "
            "(the rest stays in your wallet)"
        )
    s.transact(
        f"redeem {fmt(plan.redeemed, 18, 6)} {s.synth_symbol} for about {s.usd(paid)}",
        s.vault.redeem,
        plan.redeemed,
        bound_bps,
        plan.first_hint,
        plan.partial_hint,
        lines=lines,
    )
    console.print(
        f"wallet: {s.usd(s.cash())}, {fmt(int(s.synth.balanceOf(s.account)), 18, 6)} "
        f"{s.synth_symbol}"
    )


def _pool(s: Session):
    return s.contracts.need("stability_pool")


def _sp_status(s: Session) -> None:
    sp = _pool(s)
    active, waiting, gains = (int(x) for x in sp.deposit_of(s.account))
    console.print(f"[bold]{s.synth_symbol} stability pool[/] {sp.address} for {s.account.address}")
    for line in (
        f"deposit taking part: {fmt(active, 18, 6)} {s.synth_symbol}",
        f"waiting to join (a deposit joins after the next full hour): "
        f"{fmt(waiting, 18, 6)} {s.synth_symbol}",
        f"collateral gains to claim: {s.usd(gains)}",
        f"pool: {fmt(int(sp.total_deposits()), 18, 6)} {s.synth_symbol} taking part, "
        f"{fmt(int(sp.pending_deposits()), 18, 6)} waiting",
    ):
        console.print(f"  {line}")


@user_command(confirm=False)
def sp_status(s: Session):
    """Your stability-pool deposit, what waits to join, and your collateral gains."""
    _sp_status(s)


@user_command
@click.option("--amount", required=True, help="Synth to deposit.")
def sp_deposit(s: Session, amount):
    """Put synth in the stability pool: it absorbs liquidations for their collateral at the
    penalty's discount, from the second hour-window after this one."""
    want = parse_amount(amount, 18, "--amount")
    sp = _pool(s)
    check(balance_problem(int(s.synth.balanceOf(s.account)), want, 18, s.synth_symbol))
    s.confirm(f"stability pool: deposit {fmt(want, 18, 6)} {s.synth_symbol}", [])
    if int(s.synth.allowance(s.account, sp)) < want:
        s.send(s.synth.approve, sp, want)
    s.send(sp.deposit, want)
    _sp_status(s)


@user_command
@click.option("--amount", default=None, help="Synth to take out.")
@click.option("--all", "everything", is_flag=True, help="Take all of it out.")
def sp_withdraw(s: Session, amount, everything):
    """Take synth out of the stability pool (no price needed), with your gains."""
    sp = _pool(s)
    active, waiting, _ = (int(x) for x in sp.deposit_of(s.account))
    if everything == (amount is not None):
        raise click.UsageError("give --amount or --all")
    want = active + waiting if everything else parse_amount(amount, 18, "--amount")
    check(
        None
        if 0 < want <= active + waiting
        else f"you have {fmt(active + waiting, 18, 6)} {s.synth_symbol} in the pool"
    )
    s.transact(f"stability pool: withdraw {fmt(want, 18, 6)} {s.synth_symbol}", sp.withdraw, want)
    _sp_status(s)


@user_command
def sp_claim(s: Session):
    """Take your collateral gains from the stability pool."""
    sp = _pool(s)
    gains = int(sp.deposit_of(s.account)[2])
    check(None if gains else "no gains to claim")
    s.transact(f"stability pool: claim {s.usd(gains)}", sp.claim)
    _sp_status(s)


for _c in (status, open, deposit, mint, burn, withdraw, close, redeem):
    cli.add_command(_c)
for _name, _c in (
    ("sp-status", sp_status),
    ("sp-deposit", sp_deposit),
    ("sp-withdraw", sp_withdraw),
    ("sp-claim", sp_claim),
):
    cli.add_command(_c, name=_name)
