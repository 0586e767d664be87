"""Reference model of the perpetual market (SPEC.md §4).

Pure math first — fill price from skew, maker / taker fees, funding velocity with an exact
cumulative index, equity, margin requirements, liquidation size and price, keeper reward, pool
NAV from aggregates — then `PerpModel`, an executable model of the whole `PerpMarket` contract
(with its `LiquidityPool` and the `InsuranceFund`'s `cover`): one method per entry point, each
returning the transaction's outcome and updating the positions, orders, aggregates, funding
and every token balance to the unit.

Integer arithmetic in 1e18 (`_wad`) with the rounding SPEC.md §1 asks for: owed to the
protocol (fees, funding paid, requirements, liquidation size) rounds up, paid out (funding
received, PnL paid, rewards) rounds down. The contract mirrors these functions; the tests
compare the two and check the worked examples by hand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
    # SPEC.md §4 "Minimum size": every open position keeps at least this much equity after a
    # fill or a withdrawal; 10x `min_keeper_fee`, so that funding or a move must eat $18 of a
    # minimum position before a liquidation can pay its keeper more than the position holds
    min_margin_usd: int = 20 * WAD


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


def min_equity(size: int, price: int, margin_bps: int, p: PerpParams) -> int:
    """The equity a position of `size` must keep after a fill or a withdrawal (SPEC.md §4
    "Minimum size"): `margin_bps` x notional (the IMR to grow or withdraw, the MMR to keep a
    reduced position), outside the liquidation threshold (MMR x notional + keeper reward),
    and at least `min_margin_usd`. Zero for no position."""
    if size == 0:
        return 0
    return max(
        requirement(size, price, margin_bps),
        requirement(size, price, p.maintenance_margin_bps) + keeper_reward(size, price, p),
        p.min_margin_usd,
    )


def grows(old_size: int, new_size: int) -> bool:
    """A trade from `old_size` to `new_size` adds risk: it grows |size|, or opens or flips a
    position (a close or a reduction does not)."""
    return new_size != 0 and (abs(new_size) > abs(old_size) or (new_size > 0) != (old_size > 0))


def withdrawable(pos: Position, price: int, index: int, p: PerpParams) -> int:
    """margin + min(0, PnL - funding) - `min_equity` at the IMR: unrealized profit never
    counts, and an open position stays outside the liquidation threshold and at the minimum
    margin."""
    upnl = pnl(pos, price) - funding_owed(pos.size, index, pos.funding_entry)
    free = pos.margin + min(0, upnl) - min_equity(pos.size, price, p.initial_margin_bps, p)
    return max(free, 0)


def liquidation_size(pos: Position, price: int, index: int, p: PerpParams) -> int:
    """Shares to close (same sign as the position) so that what remains is back at the IMR
    after the penalty and the keeper's reward; the whole position when that is impossible,
    or when the rest would not be healthy (SPEC.md §7.4: within the liquidation threshold or
    below `min_margin_usd`, e.g. under ~$20 of notional, where IMR - MMR is less than the
    minimum reward).

    Closing q at the oracle price realizes its PnL without changing equity; it costs
    penalty x |q| x P, and the keeper reward K is paid once:
        E - pen |q| P - K >= imr (|S| - |q|) P  =>  |q| >= (imr |S| P - E + K) / ((imr - pen) P)

    The market passes the position realized at `price` (its margin then is its equity, the
    sub-unit dust of a realized gain already off it)."""
    size = abs(pos.size)
    e = equity(pos, price, index)
    k = keeper_reward(pos.size, price, p)
    imr, pen = p.initial_margin_bps, p.liquidation_penalty_bps
    need = imr * size * price // BPS - e * WAD + k * WAD
    q = min(size, ceil_div(need * BPS, (imr - pen) * price)) if need > 0 else 0
    if q < size:
        left = e - k - notional(q, price) * pen // BPS  # what the rest keeps
        if left < min_equity(size - q, price, p.maintenance_margin_bps, p):
            q = size
    return q if pos.size > 0 else -q


def liquidation_price(pos: Position, index: int, p: PerpParams) -> int | None:
    """The oracle price (wad, per base share) at which `is_liquidatable` turns true, the
    funding index held at `index`: for a long the highest price at which it is liquidatable,
    for a short the lowest. None for a flat position, or a long that no price liquidates
    (its equity at a price of 0 still covers the keeper's minimum reward).

    Found by bisection over `is_liquidatable` itself rather than by solving the inequality, so
    that it agrees with the contract's boundary to the wei (the keeper reward's clamp and every
    rounding included): `is_liquidatable` holds at the returned price and not one wei on the
    safe side of it."""
    if pos.size == 0:
        return None

    def hit(price: int) -> bool:
        return is_liquidatable(pos, price, index, p)

    long = pos.size > 0
    if hit(0) != long:  # a long safe at 0, or a short liquidatable at any price
        return None if long else 0
    safe_side = max(pos.entry_price, 1)
    while hit(safe_side) == long:  # grow until the other side of the boundary
        safe_side *= 2
        if safe_side > 2**200:
            return None
    lo, hi = 0, safe_side  # long: hit(lo), not hit(hi); short: not hit(lo), hit(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if hit(mid) == long:
            lo = mid
        else:
            hi = mid
    return lo if long else hi


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
    max_skew_to_pool_bps: int = 2_500  # each side's OI <= 25% of the pool's NAV (docs/risk.md)

    def as_tuple(self) -> tuple[tuple[int, ...], int, int, int, int, int]:
        return (
            dataclasses.astuple(self.math),
            self.order_max_age,
            self.order_keeper_fee,
            self.max_oi_long_usd,
            self.max_oi_short_usd,
            self.max_skew_to_pool_bps,
        )

    @classmethod
    def from_tuple(cls, t: Any) -> MarketParams:
        """From `PerpMarket.params()` as a client returns it (nested tuples)."""
        return cls(PerpParams(*(int(x) for x in t[0])), *(int(x) for x in t[1:6]))


MICRO = 10**12  # keeper fees and the minimum margin are stored in whole micro-USD
MAX_MIN_MARGIN_USD = 10_000 * WAD  # the highest `min_margin_usd` a market may ask


def params_problem(mp: MarketParams) -> str | None:
    """The revert reason of `PerpParamsCodec.pack` (`set_params`, the constructor) for `mp`,
    in the codec's order; None when the parameters are within their hard bounds."""
    m = mp.math
    checks: tuple[tuple[bool, str], ...] = (
        (m.skew_scale > 0, "perp: skew scale"),
        (0 < m.maintenance_margin_bps < m.initial_margin_bps, "perp: margin bounds"),
        (m.initial_margin_bps <= BPS, "perp: margin bounds"),
        (m.liquidation_penalty_bps < m.maintenance_margin_bps, "perp: penalty bounds"),
        (m.taker_fee_bps < 1_000 and m.maker_fee_bps <= m.taker_fee_bps, "perp: fee bounds"),
        (m.max_funding_rate > 0 and m.max_funding_velocity > 0, "perp: funding bounds"),
        (m.min_keeper_fee <= m.max_keeper_fee, "perp: keeper bounds"),
        (10 <= mp.order_max_age <= 3_600, "perp: order age"),
        (0 < mp.max_skew_to_pool_bps <= BPS, "perp: pool cap"),
        (0 <= mp.order_keeper_fee <= 10 * WAD, "perp: keeper fee"),
        (mp.order_keeper_fee % MICRO == 0, "perp: keeper fee"),
        (m.skew_scale < 2**95 and m.max_keeper_fee < 2**64 * MICRO, "perp: overflow"),
        (m.max_funding_velocity < 2**63 and m.max_funding_rate < 2**63, "perp: overflow"),
        (0 <= mp.max_oi_long_usd < 2**127, "perp: overflow"),
        (0 <= mp.max_oi_short_usd < 2**127, "perp: overflow"),
        (m.taker_fee_bps >= 0 and m.maker_fee_bps >= 0, "perp: fee bounds"),
        (0 <= m.keeper_reward_share_bps <= BPS, "perp: keeper bounds"),
        (m.min_keeper_fee >= 0 and m.liquidation_penalty_bps >= 0, "perp: keeper bounds"),
        (
            m.min_keeper_fee + mp.order_keeper_fee <= m.min_margin_usd <= MAX_MIN_MARGIN_USD,
            "perp: min margin",
        ),
        (m.min_margin_usd % MICRO == 0, "perp: min margin"),
        (m.min_keeper_fee % MICRO == 0 == m.max_keeper_fee % MICRO, "perp: keeper bounds"),
    )
    return next((reason for ok, reason in checks if not ok), None)


def oi_change(old_size: int, new_size: int) -> tuple[int, int]:
    """How a position going from `old_size` to `new_size` changes the long and the short open
    interest (shares, each side counted positive)."""
    return max(new_size, 0) - max(old_size, 0), min(old_size, 0) - min(new_size, 0)


def oi_caps_usd(nav_usd: int, mp: MarketParams) -> tuple[int, int]:
    """Each side's open-interest cap (USD wad): the market's own, never above
    `max_skew_to_pool_bps` of the pool's NAV (`PerpMarket._within_caps`)."""
    pool_cap = tdiv(nav_usd * mp.max_skew_to_pool_bps, BPS)
    return min(mp.max_oi_long_usd, pool_cap), min(mp.max_oi_short_usd, pool_cap)


# ---- the executable model of PerpMarket -------------------------------------------------------

# oracle statuses (`EquityOracle.market_status`)
CLOSED, OPEN, HALTED = 1, 2, 3
# the accounts the market moves tokens between, besides the traders, keepers and LPs
MARKET, POOL, INSURANCE = "market", "pool", "insurance"
VIRTUAL_SHARES, VIRTUAL_ASSETS = 10**6, 1  # the pool's decimals offset (LiquidityPool.vy)
# The pool's deposit lock (LiquidityPool.vy, docs/design/pool.md): default and bounds, seconds.
DEPOSIT_LOCK_S = DAY
MIN_DEPOSIT_LOCK_S, MAX_DEPOSIT_LOCK_S = 3_600, 30 * DAY


def unlock_at(previous_unlock: int, now: int, lock_s: int) -> int:
    """When a deposit at `now` unlocks its receiver's balance: `lock_s` later, never earlier
    than a lock already running."""
    return max(previous_unlock, now + lock_s)


def is_locked(unlock: int, now: int) -> bool:
    """The balance cannot be withdrawn, redeemed or transferred yet."""
    return now < unlock


I128 = 2**127
# two-step orders (docs/design/perp-orders.md): an order fills at the first usable round among
# the next `FILL_SCAN_ROUNDS` after the round that was the oracle's latest at its commit; the
# oracle keeps the last `HISTORY_ROUNDS`; an acceptable price is kept in 192 bits (saturated)
FILL_SCAN_ROUNDS = 8
HISTORY_ROUNDS = 128
ORDER_PRICE_MAX = 2**192 - 1


class PerpRevert(Exception):
    """The contract would revert with `reason` (raised by views; the entry points of
    `PerpModel` return a `Reverted` outcome instead)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def tdiv(a: int, b: int) -> int:
    """Vyper's `//` on signed integers: the quotient truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def settlement_units(delta_wad: int, usd_per_unit: int) -> tuple[int, int]:
    """`_settlement_units`: the token units a realized trader gain (> 0, rounded down) or loss
    (< 0, rounded up) moves, and the sub-unit dust the trader's margin gives up so that every
    margin stays backed by tokens the market holds."""
    if delta_wad >= 0:
        units = delta_wad // usd_per_unit
        return units, delta_wad - units * usd_per_unit
    loss = ceil_div(-delta_wad, usd_per_unit)
    return -loss, loss * usd_per_unit + delta_wad


def mul_div(x: int, y: int, d: int, roundup: bool) -> int:
    """snekmate's `math._mul_div` (unsigned, 512-bit exact)."""
    q, r = divmod(x * y, d)
    return q + 1 if roundup and r else q


@dataclass(frozen=True)
class Order:
    """A pending order (`pending_order(account)`; all zero when none)."""

    size_delta: int = 0
    acceptable_price: int = 0  # saturated at ORDER_PRICE_MAX
    committed_at: int = 0
    keeper_fee: int = 0  # USD wad, whole micro-USD
    round_id: int = 0  # the oracle's latest round at the commit: the fill is a later one


@dataclass(frozen=True)
class OracleReading:
    """One oracle round as the market reads it (`oracle_guard._latest`, `_round_of`)."""

    price_wad: int  # per base share: answer x 10^(18 - decimals) x shares multiplier
    updated_at: int
    status: int  # CLOSED / OPEN / HALTED (a suspect feed reads HALTED): the status to act on
    round_id: int = 0


def fill_round(
    rounds: Mapping[int, OracleReading], latest_round: int, committed_round: int, committed_at: int
) -> OracleReading:
    """The round an order fills at (`PerpParamsCodec.fill_round_price`): the first after
    `committed_round` observed after `committed_at` that was usable when pushed (OPEN, not
    suspect), among the next `FILL_SCAN_ROUNDS` — a function of the commit, not of who executes
    when. `rounds` holds the oracle's history (a missing id within `latest_round` was evicted).
    Raises "perp: no newer price" while no round was observed after the commit, else the last
    unusable round's reason."""
    found: OracleReading | None = None
    last = min(committed_round + FILL_SCAN_ROUNDS, latest_round)
    for rid in range(committed_round + 1, last + 1):
        r = rounds.get(rid)
        if r is None:
            raise PerpRevert("oracle: round evicted")
        if r.updated_at > committed_at:
            found = r
            if r.status == OPEN:
                return r
    if found is None:
        raise PerpRevert("perp: no newer price")
    raise PerpRevert("market closed" if found.status == CLOSED else "market halted")


# ---- outcomes: what a transaction did (the contract's event), or its revert ----------------


@dataclass(frozen=True)
class Done:
    """The call went through; `value` is what it returns (shares, assets), 0 otherwise."""

    value: int = 0

    @property
    def label(self) -> str:
        return "ok"


@dataclass(frozen=True)
class Reverted:
    reason: str  # the contract's revert string

    @property
    def label(self) -> str:
        return f"reverted:{self.reason}"


@dataclass(frozen=True)
class Filled:
    """`OrderFilled`."""

    size_delta: int
    fill_price: int
    fee: int
    size: int  # after the fill

    @property
    def label(self) -> str:
        return "filled"


@dataclass(frozen=True)
class Cancelled:
    """`OrderCancelled`: "settled", "expired", "price", "paused", "margin", "open interest",
    "liquidatable"."""

    reason: str

    @property
    def label(self) -> str:
        return f"cancelled:{self.reason}"


@dataclass(frozen=True)
class Liquidated:
    """`PositionLiquidated` (`reward` is the whole reward, whoever paid it)."""

    closed: int
    price: int
    penalty: int
    reward: int
    shortfall: int

    @property
    def label(self) -> str:
        return "liquidated"


@dataclass(frozen=True)
class Closed:
    """`PositionSettled`: a position closed at the frozen price."""

    size: int
    margin: int
    shortfall: int

    @property
    def label(self) -> str:
        return "closed at settlement"


Outcome = Done | Reverted | Filled | Cancelled | Liquidated | Closed


def _i128(x: int) -> int:
    """`_u128`'s bound: every packed signed field is 128 bits."""
    if not -I128 <= x < I128:
        raise PerpRevert("perp: overflow")
    return x


@dataclass
class PerpModel:
    """`PerpMarket` with its `LiquidityPool` and the `InsuranceFund`'s `cover`: what every
    view and token balance reads after each transaction.

    Accounts are names. Token balances (`balances`, collateral units) cover the market
    (`MARKET`), the pool (`POOL`), the insurance fund (`INSURANCE`) and whoever trades, keeps
    or provides liquidity; allowances are assumed unlimited. The oracle is an input
    (`observe`), the time is each call's `now` (the block's timestamp). Every entry point
    validates and moves state as the contract does, in its order, and returns its `Outcome`;
    a revert leaves the model unchanged."""

    usd_per_unit: int
    params: MarketParams = field(default_factory=MarketParams)
    max_age_open: int = 120
    funding: FundingState = FundingState(0, 0, 0)
    oracle: OracleReading | None = None  # the latest round
    rounds: dict[int, OracleReading] = field(default_factory=dict)  # the last HISTORY_ROUNDS
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    shares: dict[str, int] = field(default_factory=dict)  # the pool's LP shares
    share_supply: int = 0
    deposit_lock_s: int = DEPOSIT_LOCK_S  # the pool's lock after a deposit
    unlocks: dict[str, int] = field(default_factory=dict)  # the pool's `unlock_at`
    skew: int = 0
    long_oi: int = 0
    sum_entry: int = 0  # Σ size x entry / 1e18, each term truncated as stored
    sum_funding: int = 0  # Σ size x funding entry / 1e18, likewise
    pool_shortfall: int = 0  # USD wad the insurance fund could not cover
    insurance_due: int = 0  # penalties the market holds for the insurance fund, units
    settlement_price: int = 0  # frozen price once settled (delisting), 0 while live
    paused: bool = False

    # ---- inputs -------------------------------------------------------------------------
    def observe(
        self, price_wad: int, updated_at: int, status: int, round_id: int | None = None
    ) -> None:
        """A push: round `round_id` (default: the one after the latest) with the status to
        act on; the same id again rewrites it (an admin clearing a suspect latest round)."""
        if round_id is None:
            round_id = self.oracle.round_id + 1 if self.oracle else 1
        self.oracle = OracleReading(price_wad, updated_at, status, round_id)
        self.rounds[round_id] = self.oracle
        self.rounds.pop(round_id - HISTORY_ROUNDS, None)

    def mint_tokens(self, who: str, units: int) -> None:
        """Collateral arrives from outside the market (a faucet, a transfer)."""
        self.balances[who] = self.balances.get(who, 0) + units

    # ---- views ----------------------------------------------------------------------------
    @property
    def math(self) -> PerpParams:
        return self.params.math

    @property
    def settled(self) -> bool:
        return self.settlement_price != 0

    def position(self, who: str) -> Position:
        return self.positions.get(who, Position(0, 0, 0, 0))

    def pending_order(self, who: str) -> Order:
        return self.orders.get(who, Order())

    def balance_of(self, who: str) -> int:
        return self.balances.get(who, 0)

    def fill_round(self, order: Order) -> OracleReading:
        """The round `order` fills at (raises the reason `execute_order` refuses with)."""
        latest = self._latest()
        return fill_round(self.rounds, latest.round_id, order.round_id, order.committed_at)

    def open_interest(self) -> tuple[int, int]:
        return self.long_oi, self.long_oi - self.skew

    def funding_state(self) -> tuple[int, int, int]:
        f = self.funding
        return f.rate, f.index, f.updated_at

    def aggregates(self) -> Aggregates:
        return Aggregates(self.skew, self.sum_entry, self.sum_funding)

    def usable(self, now: int) -> bool:
        """`oracle_guard._is_usable` of the latest round."""
        o = self._latest()
        return o.status == OPEN and now <= o.updated_at + self.max_age_open

    def mark(self) -> int:
        """The price views value positions at (`_price`): the frozen one once settled."""
        return self.settlement_price if self.settled else self._latest().price_wad

    def index_at(self, price: int, now: int) -> int:
        """The funding index accrued to `now` without writing (`_index_at`)."""
        if self.settled:
            return self.funding.index
        return accrue_funding(self.funding, self.skew, price, now, self.math).index

    def equity(self, who: str, now: int) -> int:
        price = self.mark()
        return equity(self.position(who), price, self.index_at(price, now))

    def is_liquidatable(self, who: str, now: int) -> bool:
        if self.settled or not self.usable(now):
            return False
        price = self._latest().price_wad
        return is_liquidatable(self.position(who), price, self.index_at(price, now), self.math)

    def liquidatable(self, accounts: Iterable[str], now: int) -> list[bool]:
        return [self.is_liquidatable(a, now) for a in accounts]

    def pool_pnl(self, now: int) -> int:
        """What the pool is up on open positions (collateral units), from the aggregates."""
        price = self.mark()
        return self._pool_pnl(price, self.index_at(price, now))

    def required_nav(self, now: int) -> int:
        return self._required_nav(self.mark())

    def lp_open(self, now: int) -> bool:
        if self.settled:
            return self.open_interest() == (0, 0)
        return self.usable(now)

    def pool_nav(self, now: int) -> int:
        """The pool's `totalAssets()`: its tokens plus what it is up, never below 0."""
        return max(self.balance_of(POOL) + self.pool_pnl(now), 0)

    def convert_to_assets(self, shares: int, now: int) -> int:
        return self._to_assets(shares, self.pool_nav(now), False)

    def pool_free(self, now: int) -> int:
        """The NAV above what open interest needs, capped by the pool's tokens (`_free`)."""
        nav, need = self.pool_nav(now), self.required_nav(now)
        return min(nav - need if nav > need else 0, self.balance_of(POOL))

    def withdrawable_units(self, who: str, now: int) -> int:
        """What `withdraw_margin` lets `who` take now (collateral units)."""
        pos = self.position(who)
        if self.settled:
            return 0 if pos.size else max(pos.margin, 0) // self.usd_per_unit
        price = self._risk_price(now)
        free = withdrawable(pos, price, self.index_at(price, now), self.math)
        return free // self.usd_per_unit

    # ---- the market's entry points -------------------------------------------------------
    def deposit_margin(self, who: str, amount: int, now: int) -> Outcome:
        def tx() -> Outcome:
            if amount == 0:
                raise PerpRevert("perp: zero amount")
            self._live()
            self._transfer(who, MARKET, amount)
            pos = self.position(who)
            self._put_pos(
                who, dataclasses.replace(pos, margin=pos.margin + amount * self.usd_per_unit)
            )
            return Done()

        return self._atomic(tx)

    def withdraw_margin(self, who: str, amount: int, now: int) -> Outcome:
        def tx() -> Outcome:
            if amount == 0:
                raise PerpRevert("perp: zero amount")
            pos = self.position(who)
            free = pos.margin
            if self.settled:
                if pos.size != 0:
                    raise PerpRevert("perp: close first")
            else:
                price = self._risk_price(now)
                index = self.index_at(price, now)
                upnl = pnl(pos, price) - funding_owed(pos.size, index, pos.funding_entry)
                # the IMR, outside the liquidation threshold and at the minimum margin
                free += min(0, upnl) - min_equity(
                    pos.size, price, self.math.initial_margin_bps, self.math
                )
            if amount > max(free, 0) // self.usd_per_unit:
                raise PerpRevert("perp: exceeds withdrawable")
            self._put_pos(
                who, dataclasses.replace(pos, margin=pos.margin - amount * self.usd_per_unit)
            )
            self._transfer(MARKET, who, amount)
            return Done()

        return self._atomic(tx)

    def commit_order(self, who: str, size_delta: int, acceptable_price: int, now: int) -> Outcome:
        def tx() -> Outcome:
            if size_delta == 0:
                raise PerpRevert("perp: zero size")
            self._live()
            self._risk_price(now)  # orders only while the market trades
            round_id = self._latest().round_id
            if who in self.orders:
                raise PerpRevert("perp: order pending")
            fee = self.params.order_keeper_fee
            pos = self.position(who)
            if self.paused and grows(pos.size, pos.size + size_delta):
                raise PerpRevert("pausable: contract is paused")  # reducing goes on (SPEC §8)
            if pos.margin < fee:
                raise PerpRevert("perp: margin below keeper fee")
            self._put_pos(who, dataclasses.replace(pos, margin=pos.margin - fee))
            _i128(size_delta)
            if now | round_id >= 2**64:
                raise PerpRevert("perp: overflow")
            self.orders[who] = Order(
                size_delta,
                min(acceptable_price, ORDER_PRICE_MAX),
                now,
                fee // MICRO * MICRO,
                round_id,
            )
            return Done()

        return self._atomic(tx)

    def execute_order(self, keeper: str, account: str, now: int) -> Outcome:
        """Fill `account`'s order at its fill round's price (`fill_round`: the same whoever
        executes whenever) within `order_max_age` of the commit, or cancel it (slippage,
        margin, caps); the keeper is paid either way. After the window only `cancel_order`
        removes it (no free look). A position the fill leaves open keeps `min_equity` at the
        oracle price (the IMR if the fill grew it, else the MMR): never liquidatable at its
        fill, never below the minimum margin; a reduction that would leave less is cancelled
        ("margin"; a whole close always goes). While paused, an order that grows or flips the
        position is cancelled ("paused")."""

        def tx() -> Outcome:
            order = self.pending_order(account)
            if order.committed_at == 0:
                raise PerpRevert("perp: no order")
            if self.settled:
                return self._cancel(keeper, account, order, "settled")
            if now > order.committed_at + self.params.order_max_age:
                raise PerpRevert("perp: order expired")
            price, p = self.fill_round(order).price_wad, self.math
            fill = fill_price(price, self.skew, order.size_delta, p)
            fill_u = max(fill, 0)
            if (order.size_delta > 0 and fill_u > order.acceptable_price) or (
                order.size_delta < 0 and fill_u < order.acceptable_price
            ):
                return self._cancel(keeper, account, order, "price")
            index = self._accrue(price, now)  # stays written even if the order is cancelled
            pos, settled = self._realize(self.position(account), fill, index)
            fee = order_fee(self.skew, order.size_delta, fill, p)
            units, dust = settlement_units(settled - fee, self.usd_per_unit)
            margin = pos.margin - fee - dust
            new_size = pos.size + order.size_delta
            if new_size != 0:
                adds = grows(pos.size, new_size)
                if adds and self.paused:
                    return self._cancel(keeper, account, order, "paused")
                after = Position(new_size, fill, margin, index)
                bps = p.initial_margin_bps if adds else p.maintenance_margin_bps
                if equity(after, price, index) < min_equity(new_size, price, bps, p):
                    return self._cancel(keeper, account, order, "margin")
                if adds and not self._within_caps(pos.size, new_size, price, index):
                    return self._cancel(keeper, account, order, "open interest")
            if margin < 0:
                return self._cancel(keeper, account, order, "liquidatable")
            del self.orders[account]
            self._set_position(account, Position(new_size, fill, margin, index))
            self._settle_with_pool(units)
            self._push_wad(keeper, order.keeper_fee)
            return Filled(order.size_delta, fill, fee, new_size)

        return self._atomic(tx)

    def cancel_order(self, caller: str, account: str, now: int) -> Outcome:
        def tx() -> Outcome:
            order = self.pending_order(account)
            if order.committed_at == 0:
                raise PerpRevert("perp: no order")
            if now <= order.committed_at + self.params.order_max_age:
                raise PerpRevert("perp: order live")
            return self._cancel(caller, account, order, "expired")

        return self._atomic(tx)

    def liquidate(self, keeper: str, account: str, now: int) -> Outcome:
        """Close what `liquidation_size` says at the oracle price; the margin pays the loss to
        the pool, then the keeper's reward, then the penalty to the insurance fund; what it
        cannot pay the insurance fund covers, then the pool (`pool_shortfall`)."""

        def tx() -> Outcome:
            self._live()
            price = self._risk_price(now)
            index = self._accrue(price, now)
            pos = self.position(account)
            p = self.math
            if not is_liquidatable(pos, price, index, p):
                raise PerpRevert("perp: not liquidatable")
            out, bad_debt = self._realize_against_pool(pos, price, index)
            closed = liquidation_size(out, price, index, p)  # realized: equity == margin
            reward = keeper_reward(pos.size, price, p)
            penalty = notional(closed, price) * p.liquidation_penalty_bps // BPS
            available = max(out.margin, 0)
            reward_paid = min(reward, available)
            penalty_paid = min(penalty, available - reward_paid)
            margin = available - reward_paid - penalty_paid
            self._set_position(
                account, Position(out.size - closed, out.entry_price, margin, out.funding_entry)
            )
            self._push_wad(keeper, reward_paid)
            self.insurance_due += penalty_paid // self.usd_per_unit  # held until a sweep
            shortfall = bad_debt + (reward - reward_paid)
            if shortfall > 0:
                self._cover(keeper, reward - reward_paid, bad_debt)
            return Liquidated(closed, price, penalty_paid, reward, shortfall)

        return self._atomic(tx)

    def settle(self, now: int, authorized: bool = True) -> Outcome:
        """DEFAULT_ADMIN freezes the market at the oracle's last price (delisting)."""

        def tx() -> Outcome:
            if not authorized:
                raise PerpRevert("access_control: account is missing role")
            self._live()
            price = self._latest().price_wad
            index = self._accrue(price, now)
            self._put_funding(FundingState(0, index, now))
            self.settlement_price = price
            return Done()

        return self._atomic(tx)

    def settle_position(self, caller: str, account: str, now: int) -> Outcome:
        """Anyone closes `account` at the frozen price, without penalty or reward."""

        def tx() -> Outcome:
            if not self.settled:
                raise PerpRevert("perp: not settled")
            pos = self.position(account)
            if pos.size == 0:
                raise PerpRevert("perp: no position")
            out, bad_debt = self._realize_against_pool(
                pos, self.settlement_price, self.funding.index
            )
            margin = max(out.margin, 0)
            self._set_position(account, Position(0, out.entry_price, margin, out.funding_entry))
            if bad_debt > 0:
                self._cover(caller, 0, bad_debt)
            return Closed(pos.size, margin, bad_debt)

        return self._atomic(tx)

    def sweep_insurance(self) -> Outcome:
        """Anyone sends the liquidation penalties the market holds to the insurance fund;
        `Done(units)` (an `InsuranceSwept` event when units > 0)."""
        return self._atomic(lambda: Done(self._sweep_insurance()))

    def set_params(self, params: MarketParams, authorized: bool = True) -> Outcome:
        """RISK_ADMIN sets every parameter (no funding accrual first: the next accrual uses
        the new velocity and cap over the whole period since the last one)."""

        def tx() -> Outcome:
            if not authorized:
                raise PerpRevert("access_control: account is missing role")
            if problem := params_problem(params):
                raise PerpRevert(problem)
            self.params = params
            return Done()

        return self._atomic(tx)

    def pause(self, authorized: bool = True) -> Outcome:
        def tx() -> Outcome:
            if not authorized:
                raise PerpRevert("access_control: account is missing role")
            if self.paused:
                raise PerpRevert("pausable: contract is paused")
            self.paused = True
            return Done()

        return self._atomic(tx)

    def unpause(self, authorized: bool = True) -> Outcome:
        def tx() -> Outcome:
            if not authorized:
                raise PerpRevert("access_control: account is missing role")
            if not self.paused:
                raise PerpRevert("pausable: contract is not paused")
            self.paused = False
            return Done()

        return self._atomic(tx)

    # ---- the pool's entry points (ERC-4626 at the NAV) ------------------------------------
    def lp_deposit(self, who: str, assets: int, now: int) -> Outcome:
        """`LiquidityPool.deposit(assets, who)`; returns the shares minted."""

        def tx() -> Outcome:
            if not self.lp_open(now):
                raise PerpRevert("pool: market closed")
            minted = self._to_shares(assets, self.pool_nav(now), False)
            if minted == 0:
                raise PerpRevert("pool: zero shares")
            self.unlocks[who] = unlock_at(self.unlocks.get(who, 0), now, self.deposit_lock_s)
            self._transfer(who, POOL, assets)
            self.shares[who] = self.shares.get(who, 0) + minted
            self.share_supply += minted
            return Done(minted)

        return self._atomic(tx)

    def lp_withdraw(self, who: str, assets: int, now: int) -> Outcome:
        """`LiquidityPool.withdraw(assets, who, who)`; returns the shares burned."""

        def tx() -> Outcome:
            if not self.lp_open(now):
                raise PerpRevert("pool: market closed")
            if is_locked(self.unlocks.get(who, 0), now):
                raise PerpRevert("pool: locked")
            nav = self.pool_nav(now)
            if assets > self.pool_free(now):
                raise PerpRevert("pool: needed by open interest")
            burned = self._to_shares(assets, nav, True)
            self._burn_shares(who, burned)
            self._transfer(POOL, who, assets)
            return Done(burned)

        return self._atomic(tx)

    def lp_redeem(self, who: str, shares: int, now: int) -> Outcome:
        """`LiquidityPool.redeem(shares, who, who)`; returns the assets paid."""

        def tx() -> Outcome:
            if not self.lp_open(now):
                raise PerpRevert("pool: market closed")
            if is_locked(self.unlocks.get(who, 0), now):
                raise PerpRevert("pool: locked")
            nav = self.pool_nav(now)
            assets = self._to_assets(shares, nav, False)
            if assets > self.pool_free(now):
                raise PerpRevert("pool: needed by open interest")
            self._burn_shares(who, shares)
            self._transfer(POOL, who, assets)
            return Done(assets)

        return self._atomic(tx)

    # ---- internals, named after the contract's ---------------------------------------------
    def _atomic(self, tx: Any) -> Outcome:
        """Run `tx`; a revert restores every field (positions are immutable values, so copying
        the dictionaries is enough)."""
        saved = {k: dict(v) if isinstance(v, dict) else v for k, v in self.__dict__.items()}
        try:
            out: Outcome = tx()
            return out
        except PerpRevert as exc:
            self.__dict__.update(saved)
            return Reverted(exc.reason)

    def _latest(self) -> OracleReading:
        if self.oracle is None:
            raise PerpRevert("oracle: no data")
        if self.oracle.price_wad <= 0:
            raise PerpRevert("guard: bad price")
        return self.oracle

    def _check_usable(self, o: OracleReading, now: int) -> None:
        if o.status == CLOSED:
            raise PerpRevert("market closed")
        if o.status != OPEN:
            raise PerpRevert("market halted")
        if now > o.updated_at + self.max_age_open:
            raise PerpRevert("stale price")

    def _risk_price(self, now: int) -> int:
        o = self._latest()
        self._check_usable(o, now)
        return o.price_wad

    def _live(self) -> None:
        if self.settled:
            raise PerpRevert("perp: settled")

    def _put_funding(self, f: FundingState) -> None:
        if not -(2**63) <= f.rate < 2**63:
            raise PerpRevert("perp: overflow")
        _i128(f.index)
        self.funding = f

    def _accrue(self, price: int, now: int) -> int:
        """Funding to now, written (only when the timestamp changed)."""
        if self.funding.updated_at == now:
            return self.funding.index
        self._put_funding(accrue_funding(self.funding, self.skew, price, now, self.math))
        return self.funding.index

    def _put_pos(self, who: str, pos: Position) -> None:
        if pos.entry_price < 0:
            raise PerpRevert("perp: overflow")
        for x in (pos.size, pos.entry_price, pos.margin, pos.funding_entry):
            _i128(x)
        self.positions[who] = pos

    def _set_position(self, who: str, new: Position) -> None:
        """The only writer of sizes: every aggregate changes here, each term truncated."""
        old = self.position(who)
        skew = _i128(self.skew + new.size - old.size)
        sum_entry = _i128(
            self.sum_entry
            + tdiv(new.size * new.entry_price, WAD)
            - tdiv(old.size * old.entry_price, WAD)
        )
        sum_funding = _i128(
            self.sum_funding
            + tdiv(new.size * new.funding_entry, WAD)
            - tdiv(old.size * old.funding_entry, WAD)
        )
        self._put_pos(who, new)
        self.long_oi += max(new.size, 0) - max(old.size, 0)
        self.skew, self.sum_entry, self.sum_funding = skew, sum_entry, sum_funding

    def _pool_pnl(self, price: int, index: int) -> int:
        trader_pnl = tdiv(self.skew * price, WAD) - self.sum_entry
        owed = tdiv(self.skew * index, WAD) - self.sum_funding
        return tdiv(owed - trader_pnl, self.usd_per_unit)

    def _required_nav(self, price: int) -> int:
        long_oi, short_oi = self.open_interest()
        oi = max(long_oi, short_oi) * price // WAD
        return oi * BPS // self.params.max_skew_to_pool_bps // self.usd_per_unit

    def _within_caps(self, old_size: int, new_size: int, price: int, index: int) -> bool:
        long_oi, short_oi = self.open_interest()
        d_long, d_short = oi_change(old_size, new_size)
        nav = (self.balance_of(POOL) + self._pool_pnl(price, index)) * self.usd_per_unit
        cap_long, cap_short = oi_caps_usd(nav, self.params)
        return (long_oi + d_long) * price // WAD <= cap_long and (
            short_oi + d_short
        ) * price // WAD <= cap_short

    @staticmethod
    def _realize(pos: Position, price: int, index: int) -> tuple[Position, int]:
        """PnL at `price` and funding into the margin, re-based at `price`; and the change."""
        delta = pnl(pos, price) - funding_owed(pos.size, index, pos.funding_entry)
        return Position(pos.size, price, pos.margin + delta, index), delta

    def _realize_against_pool(self, pos: Position, price: int, index: int) -> tuple[Position, int]:
        """Realize and move the money: a gain from the pool (dust off the margin), a loss to
        it out of the margin; returns the position and the loss the margin could not pay."""
        out, delta = self._realize(pos, price, index)
        if delta > 0:
            units, dust = settlement_units(delta, self.usd_per_unit)
            self._settle_with_pool(units)
            return dataclasses.replace(out, margin=out.margin - dust), 0
        if delta < 0:
            to_pool = min(-delta, pos.margin)
            self._push_wad(POOL, to_pool)
            return out, -delta - to_pool
        return out, 0

    def _cancel(self, caller: str, account: str, order: Order, reason: str) -> Outcome:
        del self.orders[account]
        self._push_wad(caller, order.keeper_fee)
        return Cancelled(reason)

    def _cover(self, keeper: str, reward_gap: int, bad_debt: int) -> None:
        """The insurance fund pays first (the keeper's unpaid reward, then the pool's loss);
        the pool absorbs the rest (recorded) and pays the keeper whatever happens. The
        penalties the market holds for the fund are swept to it first."""
        self._sweep_insurance()
        need = reward_gap + bad_debt
        units = ceil_div(need, self.usd_per_unit)
        paid = min(units, self.balance_of(INSURANCE))
        if paid:
            self._transfer(INSURANCE, MARKET, paid)
        got = paid * self.usd_per_unit
        to_keeper = min(got, reward_gap)
        self._push_wad(keeper, to_keeper)
        self._push_wad(POOL, got - to_keeper)
        if got < need:
            self.pool_shortfall += need - got
            if to_keeper < reward_gap:
                self._transfer(POOL, keeper, (reward_gap - to_keeper) // self.usd_per_unit)

    def _sweep_insurance(self) -> int:
        due, self.insurance_due = self.insurance_due, 0
        if due:
            self._transfer(MARKET, INSURANCE, due)
        return due

    def _settle_with_pool(self, units: int) -> None:
        if units > 0:
            self._transfer(POOL, MARKET, units)  # pool.pay(market, units)
        elif units < 0:
            self._transfer(MARKET, POOL, -units)

    def _push_wad(self, to: str, amount_wad: int) -> None:
        units = tdiv(amount_wad, self.usd_per_unit)
        if units > 0:
            self._transfer(MARKET, to, units)

    def _transfer(self, src: str, dst: str, units: int) -> None:
        have = self.balance_of(src)
        if have < units:
            raise PerpRevert("erc20: transfer amount exceeds balance")
        self.balances[src] = have - units
        self.balances[dst] = self.balance_of(dst) + units

    def _burn_shares(self, who: str, shares: int) -> None:
        have = self.shares.get(who, 0)
        if have < shares:
            raise PerpRevert("erc20: burn amount exceeds balance")
        self.shares[who] = have - shares
        self.share_supply -= shares

    def _to_shares(self, assets: int, nav: int, roundup: bool) -> int:
        return mul_div(assets, self.share_supply + VIRTUAL_SHARES, nav + VIRTUAL_ASSETS, roundup)

    def _to_assets(self, shares: int, nav: int, roundup: bool) -> int:
        return mul_div(shares, nav + VIRTUAL_ASSETS, self.share_supply + VIRTUAL_SHARES, roundup)
