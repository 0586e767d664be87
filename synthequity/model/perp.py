"""Reference model of the perpetual market's math (SPEC.md §4): fill price from skew, maker /
taker fees, funding velocity with an exact cumulative index, equity, margin requirements,
liquidation size, keeper reward, pool NAV from aggregates.

Integer arithmetic in 1e18 (`_wad`) with the rounding SPEC.md §1 asks for: owed to the
protocol (fees, funding paid, requirements, liquidation size) rounds up, paid out (funding
received, PnL paid, rewards) rounds down. The contract mirrors these functions; the tests
compare the two and check the worked examples by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

WAD = 10**18
BPS = 10_000
DAY = 86_400


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def mul_up(a: int, b: int) -> int:
    """a x b / 1e18, rounded away from zero (owed to the protocol)."""
    q = ceil_div(abs(a * b), WAD)
    return q if a * b >= 0 else -q


def mul_down(a: int, b: int) -> int:
    """a x b / 1e18, rounded toward zero (paid out)."""
    q = abs(a * b) // WAD
    return q if a * b >= 0 else -q


@dataclass(frozen=True)
class PerpParams:
    skew_scale: int = 1_000_000 * WAD  # shares
    taker_fee_bps: int = 10
    maker_fee_bps: int = 2
    initial_margin_bps: int = 2_000  # 5x
    maintenance_margin_bps: int = 1_000
    liquidation_penalty_bps: int = 100  # of notional, to the insurance fund
    keeper_reward_share_bps: int = 2_000  # of the penalty ...
    min_keeper_fee: int = 2 * WAD  # ... clamped to [2, 100] USD
    max_keeper_fee: int = 100 * WAD
    max_funding_velocity: int = 3 * WAD // 100  # per day, per day
    max_funding_rate: int = 10 * WAD // 100  # per day


# ---- pricing ------------------------------------------------------------------------------


def premium(skew: int, p: PerpParams) -> int:
    """skew / skew_scale (signed wad)."""
    q = abs(skew) * WAD // p.skew_scale
    return q if skew >= 0 else -q


def fill_price(price: int, skew: int, delta: int, p: PerpParams) -> int:
    """Synthetix v2: P x (1 + (premium(skew) + premium(skew + delta)) / 2), rounded against
    the trader (up for a buy, down for a sell)."""
    avg = premium(skew, p) + premium(skew + delta, p)  # twice the average premium
    num = price * (2 * WAD + avg)
    return ceil_div(num, 2 * WAD) if delta > 0 else num // (2 * WAD)


def slippage_bound(price_wad: int, size_delta: int, bps: int = 100) -> int:
    """The worst fill price an order accepts (its `acceptable_price`): `bps` above the price
    for a buy, below it for a sell."""
    return (
        price_wad * (10_000 + bps) // 10_000
        if size_delta > 0
        else price_wad * (10_000 - bps) // 10_000
    )


def order_fee(skew: int, delta: int, fill: int, p: PerpParams) -> int:
    """Taker fee on the part of `delta` that grows |skew|, maker fee on the part that shrinks
    it; on notional at the fill price; rounded up."""
    if delta == 0:
        return 0
    if skew == 0 or (skew > 0) == (delta > 0):
        taker, maker = abs(delta), 0
    else:
        maker = min(abs(delta), abs(skew))
        taker = abs(delta) - maker
    fee = taker * fill * p.taker_fee_bps + maker * fill * p.maker_fee_bps
    return ceil_div(fee, WAD * BPS)


# ---- funding velocity -------------------------------------------------------------------------


def funding_velocity(skew: int, p: PerpParams) -> int:
    """dr/dt in rate per day per day: clamp(skew / skew_scale, -1, 1) x max velocity."""
    prop = max(-WAD, min(WAD, premium(skew, p)))
    v = abs(prop) * p.max_funding_velocity // WAD
    return v if prop >= 0 else -v


@dataclass(frozen=True)
class FundingState:
    rate: int  # per day (signed wad); positive: longs pay shorts
    index: int  # cumulative funding per share (signed, USD wad)
    updated_at: int  # seconds


def accrue_funding(
    state: FundingState, skew: int, price: int, now: int, p: PerpParams
) -> FundingState:
    """Advance the rate along its velocity, capped at ±max rate, and the index by the integral
    of rate x price over [updated_at, now]: a trapezoid while the rate moves, a rectangle once
    it sits at the cap (exact for the piecewise-linear rate, up to integer rounding)."""
    dt = now - state.updated_at
    if dt <= 0:
        return state
    cap = p.max_funding_rate
    v = funding_velocity(skew, p)
    r0 = max(-cap, min(cap, state.rate))
    if v == 0:
        t_move = dt
    else:
        room = (cap - r0) if v > 0 else (-cap - r0)  # same sign as v, or zero at the cap
        t_move = min(dt, room * DAY // v)
    r_end = max(-cap, min(cap, r0 + v * t_move // DAY))
    area = (r0 + r_end) * t_move // 2 + r_end * (dt - t_move)  # (rate per day) x seconds
    return FundingState(r_end, state.index + area * price // (DAY * WAD), now)


def funding_owed(size: int, index_now: int, index_entry: int) -> int:
    """What a position owes (positive) or is owed (negative) since it last settled."""
    return mul_up(size, index_now - index_entry)


# ---- positions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    size: int  # signed shares, wad
    entry_price: int  # USD wad (fill price of the trades that built it)
    margin: int  # USD wad
    funding_entry: int  # index at the last settlement


def pnl(pos: Position, price: int) -> int:
    """Unrealized PnL at the oracle price (paid out: rounded toward zero)."""
    return mul_down(pos.size, price - pos.entry_price)


def equity(pos: Position, price: int, index: int) -> int:
    return pos.margin + pnl(pos, price) - funding_owed(pos.size, index, pos.funding_entry)


def notional(size: int, price: int) -> int:
    return mul_up(abs(size), price)


def requirement(size: int, price: int, margin_bps: int) -> int:
    return ceil_div(notional(size, price) * margin_bps, BPS)


def keeper_reward(size: int, price: int, p: PerpParams) -> int:
    penalty = notional(size, price) * p.liquidation_penalty_bps // BPS
    reward = penalty * p.keeper_reward_share_bps // BPS
    return max(p.min_keeper_fee, min(p.max_keeper_fee, reward))


def is_liquidatable(pos: Position, price: int, index: int, p: PerpParams) -> bool:
    """equity < notional x MMR + keeper reward."""
    if pos.size == 0:
        return False
    return equity(pos, price, index) < (
        requirement(pos.size, price, p.maintenance_margin_bps) + keeper_reward(pos.size, price, p)
    )


def withdrawable(pos: Position, price: int, index: int, p: PerpParams) -> int:
    """margin + min(0, PnL - funding) - IMR x notional: unrealized profit never counts."""
    upnl = pnl(pos, price) - funding_owed(pos.size, index, pos.funding_entry)
    free = pos.margin + min(0, upnl) - requirement(pos.size, price, p.initial_margin_bps)
    return max(free, 0)


def liquidation_size(pos: Position, price: int, index: int, p: PerpParams) -> int:
    """Shares to close (same sign as the position) so that what remains is back at the IMR
    after the penalty and the keeper's reward; the whole position when that is impossible.

    Closing q at the oracle price realizes its PnL without changing equity; it costs
    penalty x |q| x P, and the keeper reward K is paid once:
        E - pen |q| P - K >= imr (|S| - |q|) P  =>  |q| >= (imr |S| P - E + K) / ((imr - pen) P)
    """
    size = abs(pos.size)
    e = equity(pos, price, index)
    k = keeper_reward(pos.size, price, p)
    imr, pen = p.initial_margin_bps, p.liquidation_penalty_bps
    need = imr * size * price // BPS - e * WAD + k * WAD
    q = ceil_div(need * BPS, (imr - pen) * price) if need > 0 else 0
    if q >= size or e - k <= 0:
        q = size
    return q if pos.size > 0 else -q


# ---- pool NAV from aggregates --------------------------------------------------------------


@dataclass(frozen=True)
class Aggregates:
    """Maintained in the one function that changes positions (GMX v1 lesson)."""

    sum_size: int  # Σ size (the skew)
    sum_size_entry: int  # Σ size x entry price / 1e18
    sum_size_funding: int  # Σ size x funding_entry / 1e18


def net_trader_pnl(agg: Aggregates, price: int) -> int:
    """Σ size x (P - entry) = P x Σ size - Σ size x entry."""
    return agg.sum_size * price // WAD - agg.sum_size_entry


def net_funding_owed_by_traders(agg: Aggregates, index: int) -> int:
    """Σ size x (index - funding_entry) = index x Σ size - Σ size x funding_entry."""
    return agg.sum_size * index // WAD - agg.sum_size_funding


def pool_nav(pool_assets: int, agg: Aggregates, price: int, index: int) -> int:
    """Assets - what traders are up + what traders owe in funding."""
    return pool_assets - net_trader_pnl(agg, price) + net_funding_owed_by_traders(agg, index)


@dataclass(frozen=True)
class MarketParams:
    """`PerpMarket`'s parameters around the math (SPEC.md §4 defaults)."""

    math: PerpParams = PerpParams()
    order_max_age: int = 120  # seconds
    order_keeper_fee: int = WAD  # 1 USD, escrowed from margin at commit
    max_oi_long_usd: int = 50_000_000 * WAD
    max_oi_short_usd: int = 50_000_000 * WAD
    max_skew_to_pool_bps: int = 5_000  # each side's OI <= 50% of the pool's NAV

    def as_tuple(self) -> tuple:
        import dataclasses

        return (
            dataclasses.astuple(self.math),
            self.order_max_age,
            self.order_keeper_fee,
            self.max_oi_long_usd,
            self.max_oi_short_usd,
            self.max_skew_to_pool_bps,
        )
