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

from synthequity.model import perp as pm
from synthequity.model.perp import slippage_bound

WAD = 10**18


class Kind(StrEnum):
    LP = "lp"
    BORROWER = "borrower"
    TRADER = "trader"
    SAVER = "saver"


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


def make_agents(n: int, seed: int, exposed: int = 0, savers: int = 0) -> list[Agent]:
    """`n` agents (at least one of each kind): ~15% LPs, ~35% borrowers, the rest traders;
    then `exposed` eager traders at 5x, long and short in turn, who open at the first chance
    and hold (what a gap scenario needs on the books when the gap comes); then `savers`
    (drawn after the others: the first `n` agents are the same with or without them)."""
    if n < 3:
        raise ValueError("the simulation needs at least 3 agents (an LP, a borrower, a trader)")
    rng = random.Random(seed)
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
    out += [
        Agent(
            f"saver{i}",
            Kind.SAVER,
            rng.randrange(20_000, 100_000, 1_000),
            target_cr_bps=rng.randrange(25_000, 30_001, 500),
            careful=True,
        )
        for i in range(savers)
    ]
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


def trading_floor_wad(v: TraderView) -> int:
    """The least margin worth trading on: twice the minimum margin plus the keeper fee (a
    smaller account pays more in fees than any move can give it)."""
    return 2 * v.params.min_margin_usd + v.keeper_fee_wad


def order_problem(v: TraderView, delta: int) -> str | None:
    """What the wallet's preflight (`scripts/perp.py` `_order`) would refuse an order of
    `delta` for — the contract's revert at commit, or its cancel at the fill — else None.
    Funding owed is left out (the view has no index): the fill is checked with the margin."""
    if v.margin_wad < v.keeper_fee_wad:
        return "margin below keeper fee"
    p = v.params
    fill = pm.fill_price(v.price_wad, v.skew_wad, delta, p)
    fee = pm.order_fee(v.skew_wad, delta, fill, p)
    pos = pm.Position(v.size_wad, v.entry_price_wad, v.margin_wad, 0)
    equity = v.margin_wad + pm.pnl(pos, v.price_wad) - fee - v.keeper_fee_wad
    new = v.size_wad + delta
    bps = p.initial_margin_bps if pm.grows(v.size_wad, new) else p.maintenance_margin_bps
    if new != 0 and equity < pm.min_equity(new, v.price_wad, bps, p):
        return "not enough margin"
    return None


def trader_step(a: Agent, v: TraderView, rng: random.Random) -> Action | None:
    if v.pending:
        return None
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
        # a little under the stated leverage: the order fee and the fill's premium come first
        size = v.margin_wad * a.leverage_x100 * 95 // (100 * 100) * WAD // v.price_wad
        delta = a.side * size
        if size == 0 or order_problem(v, delta) is not None:
            return None
        return Action(
            "perp",
            "commit_order",
            (delta, slippage_bound(v.price_wad, delta)),
            f"{'long' if a.side > 0 else 'short'} {a.leverage_x100 / 100:.2f}x",
        )
    if rng.random() < 1 / max(a.hold_ticks, 1):
        delta = -v.size_wad
        if order_problem(v, delta) is not None:
            return None  # not even the keeper fee: the liquidation keeper's now
        return Action("perp", "commit_order", (delta, slippage_bound(v.price_wad, delta)), "close")
    return None


@dataclass(frozen=True)
class LpView:
    cash_units: int
    shares: int


def lp_step(a: Agent, v: LpView) -> Action | None:
    if v.shares == 0 and v.cash_units > 0:
        return Action("pool", "deposit", (v.cash_units,), "provide liquidity")
    return None
