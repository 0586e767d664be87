"""The simulation's agents: who they are (drawn from a seed) and what each does at a tick,
as pure functions over plain data — the chain driver (`sim.run`) only reads the views they
need and sends what they return.

- LPs deposit into the pool at the start and stay.
- Borrowers open a vault position near a target collateral ratio (160-200%). Careful ones
  top their collateral up when their ratio falls under 160%; careless ones never do (the
  liquidation keeper's customers when TSLA rallies).
- Traders go long or short at 1-5x on a margin of their own, hold for a few days, close and
  sometimes walk away with their margin; their orders carry a 1% slippage bound.
- Savers (`--savers`, none by default) borrow at 250-300% like careful borrowers and keep
  every synth they mint in the vault's stability pool: the liquidity that lets the vault
  keeper liquidate without an inventory of its own (issue 19).
- Redeemers (`--redeemers`, none by default) are peg arbitrageurs: they mint sTSLA at
  ~300% and hold it; when the synth trades under the oracle price by more than the
  redemption fee (a seeded discount drawn at each print: no DEX in the replay), they redeem
  what keeps the fee under that discount, from the riskiest positions (issue 19).
- Styles for the stress lab's agent mixes (none by default; `Mix`): a whale who opens near
  the open-interest cap on its side; traders who open at a session's last print and close at
  the next session's first (they hold through every close); a trader who always takes the
  side against the skew; LPs who flee (redeem all they may) when their share value falls 5%
  under its peak and come back when it recovers.

Agents behave like wallet users: before sending they check what the wallet commands'
preflight checks (`scripts/perp.py`: the keeper fee comes out of margin, the fill must leave
the minimum equity after fees), top their margin up from their cash when an order needs it,
and leave the market (withdraw what is left, stop trading) when they are broke — instead of
sending what would revert, print after print.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from synthequity.model import orders as om
from synthequity.model import perp as pm
from synthequity.model.perp import slippage_bound

WAD = 10**18


class Kind(StrEnum):
    LP = "lp"
    BORROWER = "borrower"
    TRADER = "trader"
    SAVER = "saver"
    REDEEMER = "redeemer"


class Style(StrEnum):
    PLAIN = "plain"
    WHALE = "whale"  # trader: ~90% of the room left under the OI cap on its side
    OVERNIGHT = "overnight"  # trader: opens at a session's last print, closes at the next's
    CONTRARIAN = "contrarian"  # trader: the side against the skew (earns funding)
    FLEEING = "fleeing"  # LP: redeems on a 5% drawdown of its share value, back on recovery
    PROTECTED = "protected"  # trader: a stop-loss and a take-profit on every position


FLEE_DRAWDOWN_BPS = 500  # a fleeing LP's trigger: share value 5% under its peak
RETURN_BPS = 10_000  # ... and it comes back at its peak again
STOP_LOSS_BPS = 800  # a protected trader's stop-loss: 8% against its entry price
TAKE_PROFIT_BPS = 1_500  # ... and its take-profit: 15% in its favour
ORDER_DAYS = 30  # their expiry
# a redeemer's view of the synth's market price: under the oracle by |N(0, this)| bps at each
# print (a stated synthetic peg: the replay has no DEX)
PEG_NOISE_BPS = 60
REDEEM_SHARE_BPS = 2_500  # ... and what it redeems of its holding at once, at most


@dataclass(frozen=True)
class Mix:
    """How many agents of each extra style a run adds to its `agents` (drawn after them: the
    first agents are the same in every mix of a seed)."""

    whales: int = 0
    overnight: int = 0
    contrarians: int = 0
    fleeing: int = 0
    protected: int = 0

    @property
    def total(self) -> int:
        return self.whales + self.overnight + self.contrarians + self.fleeing + self.protected

    @classmethod
    def of(cls, counts: dict[str, int]) -> Mix:
        """From `{"whales": 1, ...}` (any subset); an unknown style is refused in words."""
        for key in counts:
            if key not in cls.__dataclass_fields__:
                raise ValueError(
                    f"agent mix {f'{key}={counts[key]}'!r}: want KEY=N with KEY one of "
                    f"{', '.join(cls.__dataclass_fields__)}"
                )
        return cls(**counts)

    @classmethod
    def parse(cls, text: str) -> Mix:
        """`whales=1,overnight=4,contrarians=2,fleeing=2,protected=4` (any subset; "" for
        none)."""
        counts: dict[str, int] = {}
        for part in filter(None, (x.strip() for x in text.split(","))):
            key, _, value = part.partition("=")
            if not value.isdigit():
                raise ValueError(f"agent mix {part!r}: want KEY=N")
            counts[key] = int(value)
        return cls.of(counts)

    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in vars(self).items() if v)


@dataclass(frozen=True)
class Agent:
    name: str
    kind: Kind
    cash_usd: int  # what the agent is given at the start, whole USD
    target_cr_bps: int = 0  # borrowers
    careful: bool = False  # borrowers: top up under 160%
    side: int = 0  # traders: +1 long, -1 short
    leverage_x100: int = 0  # traders: 100..500
    hold_ticks: int = 0  # traders: mean holding time
    eager: bool = False  # traders: fund and open at the first chance, hold (gap exposure)
    style: Style = Style.PLAIN


def make_agents(
    n: int,
    seed: int,
    exposed: int = 0,
    savers: int = 0,
    mix: Mix | None = None,
    redeemers: int = 0,
) -> list[Agent]:
    """`n` agents (at least one of each kind): ~15% LPs, ~35% borrowers, the rest traders;
    then `exposed` eager traders at 5x, long and short in turn, who open at the first chance
    and hold (what a gap scenario needs on the books when the gap comes); then `savers`, then
    the styles of `mix`, then `redeemers` (each drawn after the others: the first `n` agents
    are the same with or without them)."""
    rng = random.Random(seed)
    out = _base_agents(n, rng, exposed, savers)
    m = mix or Mix()
    out += [
        Agent(
            f"whale{i}",
            Kind.TRADER,
            3_000_000,
            side=1 if i % 2 == 0 else -1,
            leverage_x100=300,
            hold_ticks=rng.randrange(40, 120),
            eager=True,
            style=Style.WHALE,
        )
        for i in range(m.whales)
    ]
    out += [
        Agent(
            f"overnight{i}",
            Kind.TRADER,
            rng.randrange(5_000, 20_000, 100),
            side=1 if i % 2 == 0 else -1,
            leverage_x100=rng.randrange(200, 401, 25),
            eager=True,
            style=Style.OVERNIGHT,
        )
        for i in range(m.overnight)
    ]
    out += [
        Agent(
            f"contrarian{i}",
            Kind.TRADER,
            rng.randrange(10_000, 40_000, 100),
            side=1,
            leverage_x100=200,
            hold_ticks=rng.randrange(10, 30),
            eager=True,
            style=Style.CONTRARIAN,
        )
        for i in range(m.contrarians)
    ]
    out += [
        Agent(
            f"fleeing_lp{i}", Kind.LP, rng.randrange(100_000, 300_000, 1_000), style=Style.FLEEING
        )
        for i in range(m.fleeing)
    ]
    out += [
        Agent(
            f"protected{i}",
            Kind.TRADER,
            rng.randrange(5_000, 30_000, 100),
            side=1 if i % 2 == 0 else -1,
            leverage_x100=rng.randrange(200, 401, 25),
            hold_ticks=rng.randrange(20, 80),
            eager=True,
            style=Style.PROTECTED,
        )
        for i in range(m.protected)
    ]
    out += _careful_borrowers("redeemer", Kind.REDEEMER, redeemers, rng, 28_000, 32_000)
    return out


def _careful_borrowers(
    prefix: str, kind: Kind, n: int, rng: random.Random, cr_min_bps: int, cr_max_bps: int
) -> list[Agent]:
    """Savers and redeemers: $20k-$100k, careful, at a target CR in [min, max] (500 bps steps)."""
    return [
        Agent(
            f"{prefix}{i}",
            kind,
            rng.randrange(20_000, 100_000, 1_000),
            target_cr_bps=rng.randrange(cr_min_bps, cr_max_bps + 1, 500),
            careful=True,
        )
        for i in range(n)
    ]


def _base_agents(n: int, rng: random.Random, exposed: int, savers: int) -> list[Agent]:
    if n < 3:
        raise ValueError("the simulation needs at least 3 agents (an LP, a borrower, a trader)")
    n_lp = max(1, round(n * 0.15))
    n_borrow = max(1, round(n * 0.35))
    n_trade = n - n_lp - n_borrow
    out = [Agent(f"lp{i}", Kind.LP, rng.randrange(300_000, 600_000, 1_000)) for i in range(n_lp)]
    out += [
        Agent(
            f"borrower{i}",
            Kind.BORROWER,
            rng.randrange(5_000, 50_000, 100),
            target_cr_bps=rng.randrange(16_000, 20_001, 100),
            careful=rng.random() < 0.5,
        )
        for i in range(n_borrow)
    ]
    out += [
        Agent(
            f"trader{i}",
            Kind.TRADER,
            rng.randrange(2_000, 20_000, 100),
            side=1 if i % 2 == 0 else -1,
            leverage_x100=rng.randrange(100, 501, 25),
            hold_ticks=rng.randrange(5, 40),
        )
        for i in range(max(n_trade, 1))
    ]
    out += [
        Agent(
            f"exposed{i}",
            Kind.TRADER,
            5_000,
            side=1 if i % 2 == 0 else -1,
            leverage_x100=500,
            hold_ticks=1_000_000,
            eager=True,
        )
        for i in range(exposed)
    ]
    out += _careful_borrowers("saver", Kind.SAVER, savers, rng, 25_000, 30_000)
    return out


# ---- decisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One call for the driver: `fn` on the agent's market (vault, perp, pool) with `args`."""

    target: str  # "vault" | "perp" | "pool" | "sp" (the vault's stability pool)
    fn: str
    args: tuple[int, ...]
    why: str


@dataclass(frozen=True)
class BorrowerView:
    price_wad: int  # USD per share
    cash_units: int  # collateral token units in the wallet
    usd_per_unit: int  # wad USD per token unit (1e12 for a 6-decimal stablecoin)
    collateral_units: int
    debt_wad: int  # synth shares owed
    synth_wad: int  # synth shares held
    redemption_fee_wad: int = 0  # what redeeming a speck costs now (floor + decayed base)
    supply_wad: int = 0  # the synth's total supply (a redemption's own share raises the fee)


def borrower_step(a: Agent, v: BorrowerView, rng: random.Random) -> Action | None:
    if v.debt_wad == 0 and v.collateral_units == 0:
        put = v.cash_units * 8 // 10
        debt = put * v.usd_per_unit * 10_000 * WAD // (a.target_cr_bps * v.price_wad)
        if debt * v.price_wad // WAD < 150 * WAD:  # under the vault's minimum debt ($100)
            return None
        return Action("vault", "open", (put, debt), f"open at {a.target_cr_bps / 100:.0f}% CR")
    if v.debt_wad == 0:
        return None
    cr_bps = v.collateral_units * v.usd_per_unit * 10_000 * WAD // (v.debt_wad * v.price_wad)
    if a.careful and cr_bps < 16_000:
        # back to the target: the collateral that takes, capped by the wallet
        need = v.debt_wad * v.price_wad * a.target_cr_bps // (10_000 * WAD * v.usd_per_unit)
        add = min(max(need - v.collateral_units, 0), v.cash_units)
        if add > 0:
            return Action("vault", "deposit", (add,), f"top up at {cr_bps / 100:.0f}% CR")
    if rng.random() < 0.002 and v.synth_wad >= v.debt_wad:
        return Action("vault", "close", (), "repay everything and leave")
    return None


def saver_step(a: Agent, v: BorrowerView, rng: random.Random) -> Action | None:
    """A careful borrower (open, top up under 160%) that puts every synth it mints in the
    stability pool and stays."""
    if v.synth_wad > 0 and v.debt_wad > 0:
        return Action("sp", "deposit", (v.synth_wad,), "keep the synth in the stability pool")
    act = borrower_step(a, v, rng)
    return None if act is not None and act.fn == "close" else act


def redeemer_step(a: Agent, v: BorrowerView, rng: random.Random) -> Action | None:
    """A peg arbitrageur: a careful borrower at ~300% that keeps what it mints. At each
    print it sees the synth's market price under the oracle by a seeded discount; when that
    discount is above the redemption fee, it redeems at most `REDEEM_SHARE_BPS` of its synth,
    no more than keeps the fee (which rises by half its share of the supply) under the
    discount, and bounds the fee by the discount (`max_fee_bps`)."""
    discount_bps = int(abs(rng.gauss(0, PEG_NOISE_BPS)))
    if v.synth_wad == 0 or v.debt_wad == 0:
        act = borrower_step(a, v, rng)
        return None if act is not None and act.fn == "close" else act
    room_wad = discount_bps * 10**14 - v.redemption_fee_wad  # fee rate room, wad
    if room_wad <= 0 or v.supply_wad == 0:
        act = borrower_step(a, v, rng)  # tops up under 160%; never closes
        return None if act is not None and act.fn == "close" else act
    # the base rate's rise is half its share of the supply; 1% short of the bound (rounding)
    by_fee = room_wad * 2 * v.supply_wad // WAD * 99 // 100
    amount = min(v.synth_wad * REDEEM_SHARE_BPS // 10_000, by_fee)
    if amount * v.price_wad // WAD < WAD:  # under a dollar: not worth a transaction
        return None
    return Action(
        "vault",
        "redeem",
        (amount, discount_bps),
        f"the synth {discount_bps / 100:.2f}% under the oracle, the fee "
        f"{v.redemption_fee_wad / 1e16:.2f}%",
    )


@dataclass(frozen=True)
class TraderView:
    price_wad: int
    cash_units: int
    usd_per_unit: int
    margin_wad: int  # deposited margin (realized PnL included)
    size_wad: int  # signed shares
    pending: bool  # an order is waiting for the keeper
    entry_price_wad: int = 0
    skew_wad: int = 0  # the market's, for the fill price and fee estimate
    keeper_fee_wad: int = WAD  # escrowed from margin at every commit
    params: pm.PerpParams = field(default_factory=pm.PerpParams)
    room_long_wad: int = 2**255  # shares that may still open long under the OI caps
    room_short_wad: int = 2**255  # ... and short
    last_open: bool = False  # this is the session's last OPEN print (a close comes next)
    # its conditional orders (`PerpOrders.orders`): the kind in each slot, 0 when free (empty:
    # the deployment has no book)
    book: tuple[int, ...] = ()
    now: int = 0  # the print's time (an order's expiry counts from it)


def trading_floor_wad(v: TraderView) -> int:
    """The least margin worth trading on: twice the minimum margin plus the keeper fee (a
    smaller account pays more in fees than any move can give it)."""
    return 2 * v.params.min_margin_usd + v.keeper_fee_wad


def order_problem(v: TraderView, delta: int) -> str | None:
    """What the wallet's preflight (`scripts/perp.py` `_order`) would refuse an order of
    `delta` for — the contract's revert at commit, or its cancel at the fill (margin, the open
    interest caps as the view shows them) — else None.
    Funding owed is left out (the view has no index): the fill is checked with the margin."""
    if v.margin_wad < v.keeper_fee_wad:
        return "margin below keeper fee"
    p = v.params
    fill = pm.fill_price(v.price_wad, v.skew_wad, delta, p)
    bound = slippage_bound(v.price_wad, delta)
    if (fill > bound) if delta > 0 else (fill < bound):
        return "price"  # the skew premium alone is past the 1% slippage bound
    fee = pm.order_fee(v.skew_wad, delta, fill, p)
    pos = pm.Position(v.size_wad, v.entry_price_wad, v.margin_wad, 0)
    equity = v.margin_wad + pm.pnl(pos, v.price_wad) - fee - v.keeper_fee_wad
    new = v.size_wad + delta
    d_long, d_short = pm.oi_change(v.size_wad, new)
    if d_long > v.room_long_wad or d_short > v.room_short_wad:
        return "open interest"  # the fill would cancel it: the cap on that side is reached
    bps = p.initial_margin_bps if pm.grows(v.size_wad, new) else p.maintenance_margin_bps
    if new != 0 and equity < pm.min_equity(new, v.price_wad, bps, p):
        return "not enough margin"
    return None


def _side(a: Agent, v: TraderView) -> int:
    """The side an opening order takes: a contrarian's is against the skew."""
    if a.style is Style.CONTRARIAN and v.skew_wad != 0:
        return -1 if v.skew_wad > 0 else 1
    return a.side


def protect_step(a: Agent, v: TraderView) -> Action | None:
    """A protected trader's conditional orders: a stop-loss 8% and a take-profit 15% from its
    entry, each for the whole position, with no slippage bound (a gap fills at the open's
    price); the ones left when it is flat cancelled (their fee back to its margin)."""
    if not v.book:
        return None
    live = {kind: slot for slot, kind in enumerate(v.book) if kind}
    if v.size_wad == 0:
        if live:
            slot = min(live.values())
            return Action("orders", "cancel", (slot,), "flat: cancel what is left")
        return None
    free = om.free_slot(v.book)
    if free is None or v.margin_wad < v.keeper_fee_wad or not v.entry_price_wad:
        return None
    for kind, bps in ((om.STOP_LOSS, STOP_LOSS_BPS), (om.TAKE_PROFIT, TAKE_PROFIT_BPS)):
        if kind in live:
            continue
        up = om.trigger_above(kind, v.size_wad)
        trigger = v.entry_price_wad * (10_000 + (bps if up else -bps)) // 10_000
        delta = om.reduce_delta(v.size_wad, None)
        args = (
            free,
            kind,
            delta,
            trigger,
            om.acceptable_price(delta, trigger, None),
            v.now + ORDER_DAYS * 86_400,
            v.keeper_fee_wad,
        )
        return Action("orders", "place", args, f"{om.KIND_NAMES[kind]} at {bps / 100:g}%")
    return None


def trader_step(a: Agent, v: TraderView, rng: random.Random) -> Action | None:
    if v.pending:
        return None
    if a.style is Style.PROTECTED and (act := protect_step(a, v)) is not None:
        return act
    if v.size_wad == 0:
        units = max(v.margin_wad, 0) // v.usd_per_unit  # what a withdrawal can take out
        if v.margin_wad < trading_floor_wad(v):
            put = v.cash_units * 9 // 10
            if v.margin_wad + put * v.usd_per_unit >= trading_floor_wad(v):
                if not a.eager and rng.random() > 0.3:
                    return None
                return Action("perp", "deposit_margin", (put,), "fund the account")
            if units > 0:  # broke: take what is left and leave the market
                return Action("perp", "withdraw_margin", (units,), "broke: leave the market")
            return None
        if not a.eager and rng.random() < 0.01:
            return Action("perp", "withdraw_margin", (units,), "walk away with the margin")
        if not a.eager and rng.random() > 0.25:
            return None
        if a.style is Style.OVERNIGHT and not v.last_open:
            return None  # opens only where a close comes next
        # a little under the stated leverage: the order fee and the fill's premium come first
        size = v.margin_wad * a.leverage_x100 * 95 // (100 * 100) * WAD // v.price_wad
        side = _side(a, v)
        if a.style is Style.WHALE:  # near the cap: 90% of the room its side has left, and
            # no more than keeps its fill's skew premium under 0.8% (its bound is 1%)
            size = min(size, (v.room_long_wad if side > 0 else v.room_short_wad) * 9 // 10)
            size = min(size, max(2 * (v.params.skew_scale * 8 // 1_000 - side * v.skew_wad), 0))
        delta = side * size
        if size <= 0 or order_problem(v, delta) is not None:
            return None
        return Action(
            "perp",
            "commit_order",
            (delta, slippage_bound(v.price_wad, delta)),
            f"{'long' if side > 0 else 'short'} {a.leverage_x100 / 100:.2f}x"
            + ("" if a.style is Style.PLAIN else f" ({a.style.value})"),
        )
    hold_on = a.style is Style.OVERNIGHT and v.last_open  # the close is still to come
    leave = a.style is Style.OVERNIGHT and not v.last_open  # the next session's first print
    if not hold_on and (leave or rng.random() < 1 / max(a.hold_ticks, 1)):
        delta = -v.size_wad
        if order_problem(v, delta) is not None:
            return None  # not even the keeper fee: the liquidation keeper's now
        return Action("perp", "commit_order", (delta, slippage_bound(v.price_wad, delta)), "close")
    return None


@dataclass(frozen=True)
class LpView:
    cash_units: int
    shares: int
    share_value_wad: int = WAD  # the pool's assets per 1e18 shares (`convertToAssets`)
    peak_value_wad: int = WAD  # the highest share value this LP has seen
    max_redeem: int = 0  # shares the pool lets it redeem now (lock, what OI needs)
    fled: bool = False  # a fleeing LP that left


def lp_step(a: Agent, v: LpView) -> Action | None:
    """Deposit at the start and stay; a fleeing LP redeems what it may when its share value
    is 5% under its peak, and deposits again when the value is back at that peak."""
    if a.style is Style.FLEEING and v.shares > 0:
        drop = v.share_value_wad * 10_000 < v.peak_value_wad * (10_000 - FLEE_DRAWDOWN_BPS)
        if drop and v.max_redeem > 0:
            return Action("pool", "redeem", (v.max_redeem,), "flee a 5% drawdown")
        return None
    if v.shares == 0 and v.cash_units > 0:
        if a.style is Style.FLEEING and v.fled:
            if v.share_value_wad * 10_000 < v.peak_value_wad * RETURN_BPS:
                return None  # not recovered yet
            return Action("pool", "deposit", (v.cash_units,), "back after the recovery")
        return Action("pool", "deposit", (v.cash_units,), "provide liquidity")
    return None
