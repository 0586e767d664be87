# pragma version 0.4.3
"""
@title perp_math
@custom:contract-name perp_math
@notice The perpetual market's pure math (docs/spec.md §4), mirrored by
        `synthequity.model.perp`: fill price from skew, maker/taker fees, funding velocity and
        its exact capped integral, PnL, notional, requirements (with the minimum size),
        keeper reward, liquidation size. Signed quantities are `int256` 1e18 (`_wad`); sizes in shares, prices in USD.
        Rounding: owed to the protocol rounds away from zero, paid out toward zero.
"""

from contracts.lib import constants


struct MathParams:
    skew_scale: int256
    taker_fee_bps: int256
    maker_fee_bps: int256
    initial_margin_bps: int256
    maintenance_margin_bps: int256
    liquidation_penalty_bps: int256
    keeper_reward_share_bps: int256
    min_keeper_fee: int256
    max_keeper_fee: int256
    max_funding_velocity: int256
    max_funding_rate: int256
    min_margin_usd: int256


@internal
@pure
def _ceil_div(a: int256, b: int256) -> int256:
    """
    @dev Ceiling of a / b (Python's `-(-a // b)`); Vyper's `//` truncates toward zero.
    """
    q: int256 = a // b
    if a % b != 0 and (a > 0) == (b > 0):
        q += 1
    return q


@internal
@pure
def _floor_div(a: int256, b: int256) -> int256:
    """
    @dev Floor of a / b (Python's `a // b`); Vyper's `//` truncates toward zero.
    """
    q: int256 = a // b
    if a % b != 0 and (a > 0) != (b > 0):
        q -= 1
    return q


@internal
@pure
def _mul_up(a: int256, b: int256) -> int256:
    """
    @dev a x b / 1e18 rounded away from zero.
    """
    prod: int256 = a * b
    q: int256 = (abs(prod) + constants.WAD_I - 1) // constants.WAD_I
    return q if prod >= 0 else -q


@internal
@pure
def _mul_down(a: int256, b: int256) -> int256:
    """
    @dev a x b / 1e18 rounded toward zero.
    """
    prod: int256 = a * b
    q: int256 = abs(prod) // constants.WAD_I
    return q if prod >= 0 else -q


@internal
@pure
def _premium(skew: int256, p: MathParams) -> int256:
    q: int256 = abs(skew) * constants.WAD_I // p.skew_scale
    return q if skew >= 0 else -q


@internal
@pure
def _fill_price(price: int256, skew: int256, delta: int256, p: MathParams) -> int256:
    """
    @dev P x (1 + (premium(skew) + premium(skew + delta)) / 2), rounded against the trader.
    """
    num: int256 = price * (
        2 * constants.WAD_I + self._premium(skew, p) + self._premium(skew + delta, p)
    )
    if delta > 0:
        return self._ceil_div(num, 2 * constants.WAD_I)
    return self._floor_div(num, 2 * constants.WAD_I)


@internal
@pure
def _order_fee(skew: int256, delta: int256, fill: int256, p: MathParams) -> int256:
    """
    @dev Taker fee on the part of `delta` that grows |skew|, maker on the part that shrinks it.
    """
    if delta == 0:
        return 0
    taker: int256 = abs(delta)
    maker: int256 = 0
    if skew != 0 and (skew > 0) != (delta > 0):
        maker = min(abs(delta), abs(skew))
        taker = abs(delta) - maker
    fee: int256 = taker * fill * p.taker_fee_bps + maker * fill * p.maker_fee_bps
    return self._ceil_div(fee, constants.WAD_I * constants.BPS_I)


@internal
@pure
def _funding_velocity(skew: int256, p: MathParams) -> int256:
    prop: int256 = max(-constants.WAD_I, min(constants.WAD_I, self._premium(skew, p)))
    v: int256 = abs(prop) * p.max_funding_velocity // constants.WAD_I
    return v if prop >= 0 else -v


@internal
@pure
def _accrue_funding(
    rate: int256, index: int256, dt: int256, skew: int256, price: int256, p: MathParams
) -> (int256, int256):
    """
    @dev (rate, index) after `dt` seconds: the rate moves at its velocity until the cap, the
         index grows by the integral of rate x price (trapezoid, then rectangle).
    """
    if dt <= 0:
        return rate, index
    cap: int256 = p.max_funding_rate
    v: int256 = self._funding_velocity(skew, p)
    r0: int256 = max(-cap, min(cap, rate))
    t_move: int256 = dt
    if v != 0:
        room: int256 = cap - r0
        if v < 0:
            room = -cap - r0
        t_move = min(dt, self._floor_div(room * constants.DAY_I, v))
    r_end: int256 = max(-cap, min(cap, r0 + self._floor_div(v * t_move, constants.DAY_I)))
    area: int256 = self._floor_div((r0 + r_end) * t_move, 2) + r_end * (dt - t_move)
    return r_end, index + self._floor_div(area * price, constants.DAY_I * constants.WAD_I)


@internal
@pure
def _funding_owed(size: int256, index_now: int256, index_entry: int256) -> int256:
    return self._mul_up(size, index_now - index_entry)


@internal
@pure
def _pnl(size: int256, entry_price: int256, price: int256) -> int256:
    return self._mul_down(size, price - entry_price)


@internal
@pure
def _notional(size: int256, price: int256) -> int256:
    return self._mul_up(abs(size), price)


@internal
@pure
def _requirement(size: int256, price: int256, margin_bps: int256) -> int256:
    return self._ceil_div(self._notional(size, price) * margin_bps, constants.BPS_I)


@internal
@pure
def _keeper_reward(size: int256, price: int256, p: MathParams) -> int256:
    return self._keeper_reward_of(self._notional(size, price), p)


@internal
@pure
def _keeper_reward_of(notional: int256, p: MathParams) -> int256:
    """
    @dev The keeper reward for a position of `notional` (`_notional`): a share of its
         penalty, within [min, max] keeper fee.
    """
    penalty: int256 = notional * p.liquidation_penalty_bps // constants.BPS_I
    reward: int256 = penalty * p.keeper_reward_share_bps // constants.BPS_I
    return max(p.min_keeper_fee, min(p.max_keeper_fee, reward))


@internal
@pure
def _min_equity(size: int256, price: int256, margin_bps: int256, p: MathParams) -> int256:
    """
    @dev The equity a position of `size` must keep after a fill or a withdrawal (docs/spec.md
         §4 "Minimum size"): `margin_bps` x notional (the IMR to grow, the MMR to keep), and
         outside the liquidation threshold (MMR x notional + keeper reward), and at least
         `min_margin_usd`. Zero for no position. (`_requirement` of the notional computed
         once.)
    """
    if size == 0:
        return 0
    n: int256 = self._notional(size, price)
    return max(
        max(
            self._ceil_div(n * margin_bps, constants.BPS_I),
            self._ceil_div(n * p.maintenance_margin_bps, constants.BPS_I)
            + self._keeper_reward_of(n, p),
        ),
        p.min_margin_usd,
    )


@internal
@pure
def _liquidation_size(size: int256, equity: int256, price: int256, p: MathParams) -> int256:
    """
    @dev Shares to close so that the rest is back at the IMR after penalty and keeper reward;
         the whole position when impossible, or when the rest would not be healthy (within
         the liquidation threshold, or below `min_margin_usd`). `equity` is the position's
         realized at `price` (the rest's equity after is `equity` - reward - penalty).
         Same sign as `size`.
    """
    return self._liquidation_size_with(size, equity, price, self._keeper_reward(size, price, p), p)


@internal
@pure
def _liquidation_size_with(
    size: int256, equity: int256, price: int256, k: int256, p: MathParams
) -> int256:
    """
    @dev `_liquidation_size` with the keeper reward of `size` at `price` already known (`k`).
    """
    s: int256 = abs(size)
    imr: int256 = p.initial_margin_bps
    need: int256 = (
        self._floor_div(imr * s * price, constants.BPS_I)
        - equity * constants.WAD_I
        + k * constants.WAD_I
    )
    q: int256 = 0
    if need > 0:
        q = min(
            s, self._ceil_div(need * constants.BPS_I, (imr - p.liquidation_penalty_bps) * price)
        )
    if q < s:
        # the rest keeps equity - reward - penalty (the penalty paid out: rounds down)
        left: int256 = (
            equity - k - self._notional(q, price) * p.liquidation_penalty_bps // constants.BPS_I
        )
        if left < self._min_equity(s - q, price, p.maintenance_margin_bps, p):
            q = s
    return q if size > 0 else -q
