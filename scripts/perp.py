"""`ape run perp <command>`: a trader's perpetual futures account, in human units.

    ape run perp status   --network ethereum:local:foundry --account TEST::3
    ape run perp deposit  --amount 1000     |  ape run perp withdraw --amount 200
    ape run perp long     --size 2.5 [--slippage-bps 100]
    ape run perp short    --size 1
    ape run perp cancel   |  ape run perp close
    ape run perp limit    --side buy --size 2 --price 195 [--slippage-bps 50] [--days 7]
    ape run perp stop     --side sell --size 1 --price 180
    ape run perp tp       --price 250 [--size 1]   |  ape run perp sl --price 180
    ape run perp orders   |  ape run perp cancel --order 0
Orders are two-step: committed now, filled by a keeper at the next price within the slippage
bound (or cancelled, keeping your margin). Conditional orders (limit, stop, take-profit,
stop-loss) wait for a price that crosses their trigger, pushed after they were placed, and fill
at that price; one crossed while the market was closed fills at the open's price (a gap), not
at its trigger. Checks run before any gas is spent. Once a market is settled (delisted),
`close` closes at the frozen price at once and `withdraw` takes the rest."""

import click

from synthequity.model import orders as om
from synthequity.model import perp as pm
from synthequity.user.dividends import dividend_history
from synthequity.user.preflight import (
    Refused,
    balance_problem,
    fmt,
    parse_amount,
    when,
    withdraw_problem,
)
from synthequity.user.shell import Session, check, console, user_command

WAD = 10**18


@click.group()
def cli():
    """Trade an equity perpetual (up to 5x) against the LP pool."""


def _status(s: Session) -> None:
    pos = s.perp_position()
    order = [int(x) for x in s.market.pending_order(s.account)]
    lines = [f"wallet: {s.usd(s.cash())}", f"margin: ${fmt(pos.margin, 18)}"]
    if int(s.oracle.latestRound()):
        price = s.price_wad()
        p = s.perp_params()
        index = s.perp_index(price)
        mult = int(s.oracle.shares_multiplier_wad())
        lines.append(f"price: ${fmt(price, 18)} per base share")
        if mult != WAD:  # after a split or a dividend: sizes are kept in base shares
            x = fmt(mult, 18, 6)
            lines.append(
                f"1 base share = {x} {s.symbol} shares since splits and dividends (quote x {x})"
            )
        paid = dividend_history(s.oracle, s.account, market=s.market, from_block=s.deployed_at())
        if paid.ex_dates:  # a long receives, a short pays (at each ex-date)
            lines.append(
                f"dividends: received ${fmt(paid.received_wad, 18)}, paid "
                f"${fmt(paid.paid_wad, 18)} ({paid.ex_dates} ex-dates)"
            )
        if pos.size:
            upnl = pm.pnl(pos, price)
            funding = pm.funding_owed(pos.size, index, pos.funding_entry)
            equity = pm.equity(pos, price, index)
            notional = pm.notional(pos.size, price)
            need = pm.requirement(pos.size, price, p.maintenance_margin_bps)
            need += pm.keeper_reward(pos.size, price, p)
            # where `is_liquidatable` turns true, funding as accrued now ("about": it moves)
            liq = pm.liquidation_price(pos, index, p)
            lines += [
                f"size: {fmt(pos.size, 18, 6)} shares ({'long' if pos.size > 0 else 'short'}), "
                f"notional ${fmt(notional, 18)}, leverage {notional / max(equity, 1):.2f}x",
                f"entry: ${fmt(pos.entry_price, 18)}",
                f"PnL: ${fmt(upnl, 18)}, funding owed: ${fmt(funding, 18)}",
                f"equity: ${fmt(equity, 18)} (liquidated under ${fmt(need, 18)})",
                "liquidation price: "
                + ("none (no price liquidates it)" if liq is None else f"about ${fmt(liq, 18)}"),
                f"health: {equity / max(need, 1):.2f} (1.00 = liquidatable)",
                f"withdrawable: ${fmt(pm.withdrawable(pos, price, index, p), 18)}",
            ]
    if order[2]:
        lines.append(
            f"pending order: {fmt(order[0], 18, 6)} shares, worst price "
            f"${fmt(order[1], 18)}, committed at {order[2]}"
        )
    lines.append(f"market: {s.price_problem(s.market) or 'open, price fresh'}")
    console.print(f"[bold]{s.symbol} perp[/] {s.market.address} for {s.account.address}")
    for line in lines:
        console.print(f"  {line}")


@user_command
def status(s: Session):
    """Size, entry, PnL, funding, liquidation price, health."""
    _status(s)


@user_command
@click.option("--amount", required=True, help="Stablecoin to deposit as margin.")
def deposit(s: Session, amount):
    """Deposit margin (allowed while the market is closed)."""
    units = parse_amount(amount, s.decimals, "--amount")
    check(balance_problem(s.cash(), units, s.decimals, s.cash_symbol))
    s.transact(
        f"deposit margin {s.usd(units)}", s.market.deposit_margin, units, spend=(s.market, units)
    )
    _status(s)


@user_command
@click.option("--amount", required=True, help="Stablecoin to withdraw.")
def withdraw(s: Session, amount):
    """Withdraw margin not needed by the open position (unrealized profit never counts)."""
    units = parse_amount(amount, s.decimals, "--amount")
    pos = s.perp_position()
    if s.settled_at(s.market):  # frozen: a closed position's whole margin is free
        if pos.size:
            raise Refused("the market is settled: `ape run perp close` first")
        free = pos.margin
    else:
        check(s.price_problem(s.market))
        price = s.price_wad()
        free = pm.withdrawable(pos, price, s.perp_index(price), s.perp_params())
    check(withdraw_problem(free // s.upu, units, s.decimals, "margin"))
    s.transact(f"withdraw margin {s.usd(units)}", s.market.withdraw_margin, units)
    _status(s)


def _order(s: Session, delta: int, slippage_bps: int, what: str) -> None:
    check(s.price_problem(s.market))
    if int(s.market.pending_order(s.account)[2]):
        raise Refused("an order is already pending: wait for the keeper or `ape run perp cancel`")
    price, p = s.price_wad(), s.perp_params()
    pos = s.perp_position()
    new = pos.size + delta
    skew = int(s.market.skew())
    fill = pm.fill_price(price, skew, delta, p)
    bound = pm.slippage_bound(price, delta, slippage_bps)
    fee = pm.order_fee(skew, delta, fill, p)
    keeper_fee = int(s.market.params()[2])
    equity = pm.equity(pos, price, s.perp_index(price)) - fee - keeper_fee
    grows = pm.grows(pos.size, new)
    if grows and bool(s.market.paused()):
        raise Refused("the market is paused: only orders that reduce or close a position")
    # the market's check at the fill (SPEC.md §4 "Minimum size"): 5x at most to grow, outside
    # the liquidation threshold and at least the minimum margin for whatever stays open
    bps = p.initial_margin_bps if grows else p.maintenance_margin_bps
    need = pm.min_equity(new, price, bps, p)
    if new != 0 and equity < need:
        raise Refused(
            f"not enough margin: {what} needs ${fmt(need, 18)} of equity (5x at most, the "
            f"${fmt(p.min_margin_usd, 18)} minimum; you would have ${fmt(max(equity, 0), 18)} "
            "after fees); deposit more margin" + ("" if grows else ", or close the whole position")
        )
    s.transact(
        f"{what}: {fmt(delta, 18, 6)} shares",
        s.market.commit_order,
        delta,
        bound,
        lines=[
            f"expected fill ${fmt(fill, 18)} (oracle ${fmt(price, 18)}), worst accepted "
            f"${fmt(bound, 18)}",
            f"trading fee ~${fmt(fee, 18)}, keeper fee ${fmt(keeper_fee, 18)} (from margin)",
            "filled by a keeper at the next price; cancelled (margin kept) if outside the bound",
        ],
    )
    _status(s)


def order_command(name: str, sign: int):
    @user_command
    @click.option("--size", required=True, help="Shares, e.g. 2.5.")
    @click.option("--slippage-bps", default=100, show_default=True, type=click.IntRange(1, 1_000))
    def command(s: Session, size, slippage_bps):
        _order(s, sign * parse_amount(size, 18, "--size"), slippage_bps, f"{name} order")

    command.help = f"Commit a {name} order (increase a {name} or reduce the other side)."
    return command


cli.add_command(order_command("long", 1), "long")
cli.add_command(order_command("short", -1), "short")


@user_command
@click.option("--slippage-bps", default=100, show_default=True, type=click.IntRange(1, 1_000))
def close(s: Session, slippage_bps):
    """Commit an order that closes the whole position (settled market: close at the frozen
    price now)."""
    size = s.perp_position().size
    if not size:
        raise Refused("no open position")
    if frozen := s.settled_at(s.market):
        s.transact(
            f"close {fmt(size, 18, 6)} shares at the settlement price ${fmt(frozen, 18)}",
            s.market.settle_position,
            s.account.address,
            lines=["no fee, no penalty; then `ape run perp withdraw` the margin"],
        )
        _status(s)
        return
    _order(s, -size, slippage_bps, "close")


@user_command
@click.option("--order", "order_id", type=click.IntRange(0, 7), help="A conditional order's id.")
def cancel(s: Session, order_id):
    """Cancel your pending order once it is older than the market's order age (the keeper fee
    goes to whoever cancels); with --order, a conditional order (its fee back to margin)."""
    if order_id is not None:
        book = _book(s)
        o = _conditional(book, s, order_id)
        if o.kind == 0:
            raise Refused(f"no conditional order {order_id}: `ape run perp orders` lists them")
        if int(book.fill_round(s.account, order_id)):
            raise Refused(
                f"order {order_id} is triggered: a keeper may execute it until its window "
                f"({int(book.WINDOW())} s after the price) passes; cancel after that"
            )
        s.transact(
            f"cancel {_describe(o)}",
            book.cancel,
            s.account.address,
            order_id,
            lines=[f"the ${fmt(o.keeper_fee, 18)} keeper fee returns to your margin"],
        )
        _orders(s)
        return
    if not int(s.market.pending_order(s.account)[2]):
        raise Refused("no pending order")
    s.transact("cancel the pending order", s.market.cancel_order, s.account.address)
    _status(s)


# ---- conditional orders (PerpOrders) ---------------------------------------------------

GAP_NOTE = (
    "a trigger crossed while the market is closed fills at the first price after the open "
    "(a gap: maybe well past the trigger)"
)


def _book(s: Session):
    try:
        return s.contracts.need("perp_orders")
    except LookupError:
        raise Refused("no conditional-order book in this deployment: `ape run deploy`") from None


def _conditional(book, s: Session, oid: int) -> om.ConditionalOrder:
    return om.ConditionalOrder(*[int(x) for x in book.order(s.account, oid)])


def _describe(o: om.ConditionalOrder) -> str:
    side = "buy" if o.size_delta > 0 else "sell"
    whole = abs(o.size_delta) == om.SIZE_ALL
    size = "the whole position" if whole else f"{fmt(abs(o.size_delta), 18, 6)} shares"
    bound = (
        "any price"
        if o.acceptable_price in (0, om.PRICE_MAX)
        else f"worst ${fmt(o.acceptable_price, 18)}"
    )
    return (
        f"{om.KIND_NAMES[o.kind]} {side} {size} at ${fmt(o.trigger_price, 18)} ({bound}, "
        f"fee ${fmt(o.keeper_fee, 18)})"
    )


def _orders(s: Session) -> None:
    book = _book(s)
    live = [(i, _conditional(book, s, i)) for i in range(om.MAX_ORDERS)]
    live = [(i, o) for i, o in live if o.kind]
    console.print(f"[bold]{s.symbol} conditional orders[/] {book.address} for {s.account.address}")
    if not live:
        console.print("  none")
    for i, o in live:
        state = (
            "triggered: a keeper executes it" if int(book.fill_round(s.account, i)) else "waiting"
        )
        console.print(f"  #{i} {_describe(o)}, expires {when(o.expiry)}: {state}")


def _place(
    s: Session, kind: int, delta: int, trigger: int, slippage_bps, days: float, keeper_fee
) -> None:
    book = _book(s)
    slot = om.free_slot(_conditional(book, s, i).kind for i in range(om.MAX_ORDERS))
    if slot is None:
        raise Refused("all 8 order slots are in use: `ape run perp cancel --order ID` first")
    if s.settled_at(s.market):
        raise Refused("the market is settled: no new orders")
    fee = int(book.MIN_KEEPER_FEE()) if keeper_fee is None else parse_amount(keeper_fee, 18)
    if fee < int(book.MIN_KEEPER_FEE()) or fee % 10**12:
        raise Refused(f"--keeper-fee: at least ${fmt(int(book.MIN_KEEPER_FEE()), 18)}")
    margin = s.perp_position().margin
    if margin < fee:
        raise Refused(
            f"not enough margin for the ${fmt(fee, 18)} keeper fee: `ape run perp deposit` first"
        )
    acceptable = om.acceptable_price(delta, trigger, slippage_bps)
    expiry = s.now() + round(days * 86_400)
    o = om.ConditionalOrder(kind, delta, trigger, acceptable, expiry, fee)
    lines = [
        f"fills at the first price pushed from now on that crosses ${fmt(trigger, 18)}, "
        f"until {when(expiry)}",
        f"the keeper fee ${fmt(fee, 18)} is held from your margin now; margin is checked "
        "when it fills (cancelled, fee to the keeper, if it is short then)",
        GAP_NOTE,
    ]
    if kind in (om.TAKE_PROFIT, om.STOP_LOSS):
        lines.append("reduce-only: never opens or flips a position; cancelled if it is closed")
    s.transact(
        f"place #{slot}: {_describe(o)}",
        book.place,
        slot,
        kind,
        delta,
        trigger,
        acceptable,
        expiry,
        fee,
        lines=lines,
    )
    _orders(s)


def _side(side: str) -> int:
    return 1 if side == "buy" else -1


PRICE = click.option("--price", required=True, help="Trigger price, USD per base share.")
DAYS = click.option("--days", default=7.0, show_default=True, type=click.FloatRange(0.001, 365))
FEE = click.option("--keeper-fee", help="USD paid to the executor (default: the least).")


def trigger_command(kind: int, name: str, help_text: str):
    @user_command
    @click.option("--side", required=True, type=click.Choice(["buy", "sell"]))
    @click.option("--size", required=True, help="Shares, e.g. 2.5.")
    @PRICE
    @click.option("--slippage-bps", default=100, show_default=True, type=click.IntRange(0, 5_000))
    @DAYS
    @FEE
    def command(s: Session, side, size, price, slippage_bps, days, keeper_fee):
        delta = _side(side) * parse_amount(size, 18, "--size")
        if delta == 0:
            raise Refused("--size must be above 0")
        _place(s, kind, delta, parse_amount(price, 18, "--price"), slippage_bps, days, keeper_fee)

    command.help = help_text
    return command


def reduce_command(kind: int, name: str, help_text: str):
    @user_command
    @click.option("--size", help="Shares to close (default: the whole position when it fills).")
    @PRICE
    @click.option("--slippage-bps", type=click.IntRange(0, 5_000), help="Default: no bound.")
    @DAYS
    @FEE
    def command(s: Session, size, price, slippage_bps, days, keeper_fee):
        held = s.perp_position().size
        if not held:
            raise Refused(f"no open position to attach a {name} to")
        amount = None if size is None else parse_amount(size, 18, "--size")
        if amount == 0:
            raise Refused("--size must be above 0")
        trigger = parse_amount(price, 18, "--price")
        current = s.price_wad()
        above = om.trigger_above(kind, held)
        if int(s.oracle.latestRound()) and (trigger <= current if above else trigger >= current):
            where = "above" if above else "below"
            raise Refused(
                f"a {name} for this {'long' if held > 0 else 'short'} goes {where} the price "
                f"(${fmt(current, 18)})"
            )
        delta = om.reduce_delta(held, amount)
        _place(s, kind, delta, trigger, slippage_bps, days, keeper_fee)

    command.help = help_text
    return command


cli.add_command(
    trigger_command(om.LIMIT, "limit", "Buy at or below / sell at or above a price."), "limit"
)
cli.add_command(
    trigger_command(om.STOP, "stop", "Buy at or above / sell at or below a price (a breakout)."),
    "stop",
)
cli.add_command(
    reduce_command(om.TAKE_PROFIT, "take-profit", "Close all or part of the position at a gain."),
    "tp",
)
cli.add_command(
    reduce_command(om.STOP_LOSS, "stop-loss", "Close all or part of the position at a loss."),
    "sl",
)


@user_command(confirm=False)
def orders(s: Session):
    """Your conditional orders, with their state."""
    _orders(s)


for _c in (status, deposit, withdraw, close, cancel, orders):
    cli.add_command(_c)
