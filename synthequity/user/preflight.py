"""What a wallet user is told before any gas is spent: plain checks over plain numbers, each
returning the sentence to show (or None when the action may go ahead). The commands in
`scripts/vault.py`, `scripts/perp.py` and `scripts/pool.py` run them first; a revert that
still happens is shown with the contract's own reason."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from synthequity.constants import MarketStatus
from synthequity.market_hours import MarketCalendar, utc
from synthequity.model.perp import is_locked, unlock_at

WAD = 10**18


class Refused(Exception):
    """The action would fail or lose money: the message says why, nothing was sent."""


def parse_amount(text: str | float, decimals: int, what: str = "amount") -> int:
    """ "1500" or "2.5" in human units -> integer units; refuses 0, negatives, too many
    decimals and non-numbers."""
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise Refused(f"{what}: {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise Refused(f"{what} must be more than 0 (got {text})")
    units = value * 10**decimals
    if units != units.to_integral_value():
        raise Refused(f"{what}: at most {decimals} decimals (got {text})")
    return int(units)


def fmt(units: int, decimals: int, places: int = 2) -> str:
    return f"{Decimal(units) / 10**decimals:,.{places}f}"


def price_problem(
    status: int,
    updated_at: int,
    now: int,
    max_age_s: int,
    calendar: MarketCalendar | None = None,
    has_price: bool = True,
) -> str | None:
    """Why a risk-increasing action cannot use the price now: no price, market closed (with
    the next NYSE open), halted, or stale."""
    if not has_price:
        return "no price yet: the oracle has not reported (is the oracle keeper running?)"
    if status == MarketStatus.CLOSED:
        when = ""
        if calendar is not None:
            try:
                when = f"; next NYSE open {utc(calendar.next_open(now)):%a %Y-%m-%d %H:%M} UTC"
            except ValueError:
                when = ""
        return f"market closed{when}"
    if status != MarketStatus.OPEN:
        return f"market {MarketStatus(status).name}: trading is suspended"
    age = now - updated_at
    if age > max_age_s:
        return f"stale price: last update {age} s ago (the market accepts {max_age_s} s)"
    return None


def balance_problem(have: int, need: int, decimals: int, what: str) -> str | None:
    if have < need:
        return (
            f"insufficient {what}: you have {fmt(have, decimals)}, this needs {fmt(need, decimals)}"
        )
    return None


def mint_problem(max_mintable_wad: int, want_wad: int, symbol: str) -> str | None:
    if want_wad > max_mintable_wad:
        return (
            f"below the minimum collateral ratio: at most {fmt(max_mintable_wad, 18, 6)} "
            f"{symbol} can be minted against this collateral"
        )
    return None


def withdraw_problem(withdrawable: int, want: int, decimals: int, what: str) -> str | None:
    if want > withdrawable:
        return (
            f"{what}: at most {fmt(withdrawable, decimals)} can be withdrawn now "
            "(the rest backs what you owe or hold open)"
        )
    return None


def duration(seconds: int) -> str:
    """ "1 d 2 h", "3 h 5 min", "59 s": the two largest units."""
    seconds = max(seconds, 0)
    parts = [(seconds // 86_400, "d"), (seconds % 86_400 // 3_600, "h")]
    parts += [(seconds % 3_600 // 60, "min"), (seconds % 60, "s")]
    first = next((i for i, (n, _) in enumerate(parts) if n), len(parts) - 1)
    return " ".join(f"{n} {unit}" for n, unit in parts[first : first + 2] if n) or "0 s"


def when(ts: int) -> str:
    return f"{utc(ts):%a %Y-%m-%d %H:%M:%S} UTC"


def lp_lock_state(unlock: int, now: int) -> str:
    """The `status` line of an LP's deposit lock."""
    if is_locked(unlock, now):
        return f"locked until {when(unlock)} (in {duration(unlock - now)})"
    return "unlocked: withdrawals and transfers are open"


def lp_lock_problem(unlock: int, now: int, lock_s: int) -> str | None:
    """Why an LP cannot withdraw yet: its last deposit locked the whole balance."""
    if not is_locked(unlock, now):
        return None
    return (
        f"pool: locked until {when(unlock)} (in {duration(unlock - now)}): a deposit locks "
        f"your whole pool balance for {duration(lock_s)}, so that nobody can take the fees "
        "of fills that happen while it is in for less than that"
    )


def lp_deposit_lock_note(unlock: int, now: int, lock_s: int) -> str:
    """What a deposit does to the LP's lock, shown before it is sent."""
    until = unlock_at(unlock, now, lock_s)
    return (
        f"locks your whole pool balance (this deposit and any shares you hold) until "
        f"{when(until)}, {duration(until - now)} from now: no withdrawal or transfer before"
    )


def check(*problems: str | None) -> None:
    """Raise Refused with the first problem found."""
    for p in problems:
        if p:
            raise Refused(p)
