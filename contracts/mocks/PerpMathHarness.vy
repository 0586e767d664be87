# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title PerpMathHarness
@notice Test double: exposes `perp_math` so that the tests compare it with the Python model.
"""

from contracts.perp import perp_math


@external
@pure
def fill_price(price: int256, skew: int256, delta: int256, p: perp_math.MathParams) -> int256:
    """
    @notice perp_math._fill_price.
    """
    return perp_math._fill_price(price, skew, delta, p)


@external
@pure
def order_fee(skew: int256, delta: int256, fill: int256, p: perp_math.MathParams) -> int256:
    """
    @notice perp_math._order_fee.
    """
    return perp_math._order_fee(skew, delta, fill, p)


@external
@pure
def accrue_funding(
    rate: int256, index: int256, dt: int256, skew: int256, price: int256, p: perp_math.MathParams
) -> (int256, int256):
    """
    @notice perp_math._accrue_funding.
    """
    return perp_math._accrue_funding(rate, index, dt, skew, price, p)


@external
@pure
def liquidation_size(
    size: int256, equity: int256, price: int256, p: perp_math.MathParams
) -> int256:
    """
    @notice perp_math._liquidation_size.
    """
    return perp_math._liquidation_size(size, equity, price, p)


@external
@pure
def keeper_reward(size: int256, price: int256, p: perp_math.MathParams) -> int256:
    """
    @notice perp_math._keeper_reward.
    """
    return perp_math._keeper_reward(size, price, p)


@external
@pure
def funding_owed(size: int256, index_now: int256, index_entry: int256) -> int256:
    """
    @notice perp_math._funding_owed.
    """
    return perp_math._funding_owed(size, index_now, index_entry)


@external
@pure
def min_equity(size: int256, price: int256, margin_bps: int256, p: perp_math.MathParams) -> int256:
    """
    @notice perp_math._min_equity.
    """
    return perp_math._min_equity(size, price, margin_bps, p)
