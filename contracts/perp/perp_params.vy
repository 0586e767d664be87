# pragma version 0.4.3
"""
@title perp_params
@custom:contract-name perp_params
@notice The perpetual market's parameters (docs/spec.md §4): their hard bounds and their packing
        into four storage words. The checks run in `PerpParamsCodec` (a stateless contract
        every market calls from its constructor and from `set_params`), so that the market's
        own code stays under EIP-170 and can be deployed from a blueprint; unpacking is pure
        and runs inside the market.
"""

from contracts.lib import constants
from contracts.perp import perp_math

# @dev The highest minimum margin a market may ask (USD wad).
MAX_MIN_MARGIN_USD: constant(int256) = 10_000 * constants.WAD_I


struct MarketParams:
    math: perp_math.MathParams
    order_max_age: uint256
    order_keeper_fee: int256
    max_oi_long_usd: int256
    max_oi_short_usd: int256
    max_skew_to_pool_bps: int256


@internal
@pure
def _pack(params: MarketParams) -> uint256[4]:
    """
    @dev Checks every bound (reverting with the reason) and packs:
         [0] skew_scale [0,96) | taker, maker, imr, mmr, penalty, keeper share: 16 bits each
             [96,192) | min keeper fee in whole micro-USD [192,256);
         [1] max funding velocity [0,64) | max funding rate [64,128) | min margin in whole
             micro-USD [128,192) | max keeper fee in whole micro-USD [192,256);
         [2] order keeper fee (USD wad) [0,64) | order max age [64,80) | max skew to pool
             [80,96);
         [3] max long OI (USD) [0,128) | max short OI (USD) [128,256).
         Every math parameter lives in words 0 and 1: a liquidation reads two words.
    """
    m: perp_math.MathParams = params.math
    assert m.skew_scale > 0, "perp: skew scale"
    assert (
        m.maintenance_margin_bps > 0 and m.maintenance_margin_bps < m.initial_margin_bps
    ), "perp: margin bounds"
    assert m.initial_margin_bps <= constants.BPS_I, "perp: margin bounds"
    assert m.liquidation_penalty_bps < m.maintenance_margin_bps, "perp: penalty bounds"
    assert m.taker_fee_bps < 1_000 and m.maker_fee_bps <= m.taker_fee_bps, "perp: fee bounds"
    assert m.max_funding_rate > 0 and m.max_funding_velocity > 0, "perp: funding bounds"
    assert m.min_keeper_fee <= m.max_keeper_fee, "perp: keeper bounds"
    assert params.order_max_age >= 10 and params.order_max_age <= 3_600, "perp: order age"
    assert (
        params.max_skew_to_pool_bps > 0 and params.max_skew_to_pool_bps <= constants.BPS_I
    ), "perp: pool cap"
    assert (
        params.order_keeper_fee >= 0 and params.order_keeper_fee <= 10 * constants.WAD_I
    ), "perp: keeper fee"
    assert params.order_keeper_fee % constants.MICRO_I == 0, "perp: keeper fee"
    assert (
        m.skew_scale < 2**95 and m.max_keeper_fee < 2**64 * constants.MICRO_I
    ), "perp: overflow"
    assert m.max_funding_velocity < 2**63 and m.max_funding_rate < 2**63, "perp: overflow"
    assert params.max_oi_long_usd >= 0 and params.max_oi_long_usd < 2**127, "perp: overflow"
    assert params.max_oi_short_usd >= 0 and params.max_oi_short_usd < 2**127, "perp: overflow"
    assert m.taker_fee_bps >= 0 and m.maker_fee_bps >= 0, "perp: fee bounds"
    assert (
        m.keeper_reward_share_bps >= 0 and m.keeper_reward_share_bps <= constants.BPS_I
    ), "perp: keeper bounds"
    assert m.min_keeper_fee >= 0 and m.liquidation_penalty_bps >= 0, "perp: keeper bounds"
    # a position at the minimum still pays the minimum reward after escrowing an order's fee
    assert (
        m.min_margin_usd >= m.min_keeper_fee + params.order_keeper_fee
        and m.min_margin_usd <= MAX_MIN_MARGIN_USD
    ), "perp: min margin"
    assert m.min_margin_usd % constants.MICRO_I == 0, "perp: min margin"
    assert (
        m.min_keeper_fee % constants.MICRO_I == 0 and m.max_keeper_fee % constants.MICRO_I == 0
    ), "perp: keeper bounds"
    return [
        convert(m.skew_scale, uint256)
        | (convert(m.taker_fee_bps, uint256) << 96)
        | (convert(m.maker_fee_bps, uint256) << 112)
        | (convert(m.initial_margin_bps, uint256) << 128)
        | (convert(m.maintenance_margin_bps, uint256) << 144)
        | (convert(m.liquidation_penalty_bps, uint256) << 160)
        | (convert(m.keeper_reward_share_bps, uint256) << 176)
        | (convert(m.min_keeper_fee // constants.MICRO_I, uint256) << 192),
        convert(m.max_funding_velocity, uint256)
        | (convert(m.max_funding_rate, uint256) << 64)
        | (convert(m.min_margin_usd // constants.MICRO_I, uint256) << 128)
        | (convert(m.max_keeper_fee // constants.MICRO_I, uint256) << 192),
        convert(params.order_keeper_fee, uint256)
        | (params.order_max_age << 64)
        | (convert(params.max_skew_to_pool_bps, uint256) << 80),
        convert(params.max_oi_long_usd, uint256)
        | (convert(params.max_oi_short_usd, uint256) << 128),
    ]


@internal
@pure
def _unpack_math(a: uint256, b: uint256) -> perp_math.MathParams:
    """
    @dev The math parameters out of words 0 and 1.
    """
    return perp_math.MathParams(
        skew_scale=convert(a & constants.MASK96, int256),
        taker_fee_bps=convert((a >> 96) & constants.MASK16, int256),
        maker_fee_bps=convert((a >> 112) & constants.MASK16, int256),
        initial_margin_bps=convert((a >> 128) & constants.MASK16, int256),
        maintenance_margin_bps=convert((a >> 144) & constants.MASK16, int256),
        liquidation_penalty_bps=convert((a >> 160) & constants.MASK16, int256),
        keeper_reward_share_bps=convert((a >> 176) & constants.MASK16, int256),
        min_keeper_fee=convert(a >> 192, int256) * constants.MICRO_I,
        max_keeper_fee=convert(b >> 192, int256) * constants.MICRO_I,
        max_funding_velocity=convert(b & constants.MASK64, int256),
        max_funding_rate=convert((b >> 64) & constants.MASK64, int256),
        min_margin_usd=convert((b >> 128) & constants.MASK64, int256) * constants.MICRO_I,
    )


@internal
@pure
def _order_max_age(c: uint256) -> uint256:
    """
    @dev Seconds an order may wait for its price, from word 2.
    """
    return (c >> 64) & constants.MASK16


@internal
@pure
def _max_skew_to_pool_bps(c: uint256) -> int256:
    """
    @dev The pool's cap on the skew it carries (bps of its NAV), from word 2.
    """
    return convert((c >> 80) & constants.MASK16, int256)


@internal
@pure
def _order_keeper_fee(c: uint256) -> int256:
    """
    @dev The keeper fee escrowed per order (USD wad), from word 2.
    """
    return convert(c & constants.MASK64, int256)


@internal
@pure
def _unpack(words: uint256[4]) -> MarketParams:
    """
    @dev The inverse of `_pack`.
    """
    a: uint256 = words[0]
    c: uint256 = words[2]
    d: uint256 = words[3]
    return MarketParams(
        math=self._unpack_math(a, words[1]),
        order_max_age=self._order_max_age(c),
        order_keeper_fee=self._order_keeper_fee(c),
        max_oi_long_usd=convert(d & constants.MASK128, int256),
        max_oi_short_usd=convert(d >> 128, int256),
        max_skew_to_pool_bps=self._max_skew_to_pool_bps(c),
    )
