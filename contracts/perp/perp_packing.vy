# pragma version 0.4.3
"""
@title perp_packing
@custom:contract-name perp_packing
@notice How the perpetual market packs its state into storage words (as `perp_params` does for
        the parameters): positions and orders in two words each, the aggregates in two, the
        funding state in one. Pure: the market reads and writes the words, this module says
        what the bits mean.

        position a: size int128 [0,128) | entry price [128,256)
        position b: margin (USD wad) int128 [0,128) | funding entry int128 [128,256)
        order a:    size delta int128 [0,128) | committed_at [128,192) | keeper fee in
                    micro-USD [192,255) | ORDER_LIVE [255]
        order b:    acceptable price [0,192) (a bound above ORDER_PRICE_MAX reads as it) |
                    the oracle's latest round id at the commit [192,256)
        agg a:      skew int128 [0,128) | long open interest [128,256) (short = long - skew)
        agg b:      Σ size x entry int128 [0,128) | Σ size x funding entry int128 [128,256)
        funding:    rate int64 [0,64) | index int128 [64,192) | updated_at [192,255) |
                    MARKET_DELISTED [255]
"""

from contracts.lib import constants

# @dev In `order a`: the order waits for its fill. A filled or cancelled order only loses
#      this bit (its words stay non-zero: the next commit rewrites warm words).
ORDER_LIVE: constant(uint256) = constants.TOP_BIT
# @dev The largest acceptable price `order b` keeps (2**192 - 1, ~6e39 USD per share): a
#      larger bound is saturated to it, never refused (any uint256 bound is a valid input).
ORDER_PRICE_MAX: constant(uint256) = 2**192 - 1
# @dev In `funding`: the market is in delisting settlement (frozen price, funding stopped).
MARKET_DELISTED: constant(uint256) = constants.TOP_BIT


struct Position:
    size: int256
    entry_price: int256
    margin: int256
    funding_entry: int256


struct Order:
    size_delta: int256
    acceptable_price: uint256
    committed_at: uint256
    keeper_fee: int256
    round_id: uint256


@internal
@pure
def _u128(x: int256) -> uint256:
    """
    @dev A signed value -> its two's complement in 128 bits (reverts out of range).
    """
    assert x >= -(2**127) and x < 2**127, "perp: overflow"
    return convert(convert(x, bytes32), uint256) & constants.MASK128


@internal
@pure
def _i128(w: uint256) -> int256:
    """
    @dev The low 128 bits of `w` as a signed value.
    """
    v: uint256 = w & constants.MASK128
    if v >= 2**127:
        return convert(v, int256) - 2**128
    return convert(v, int256)


@internal
@pure
def _position(a: uint256, b: uint256) -> Position:
    return Position(
        size=self._i128(a),
        entry_price=convert(a >> 128, int256),
        margin=self._i128(b),
        funding_entry=self._i128(b >> 128),
    )


@internal
@pure
def _position_words(pos: Position) -> (uint256, uint256):
    assert pos.entry_price >= 0, "perp: overflow"
    return (
        self._u128(pos.size) | (self._u128(pos.entry_price) << 128),
        self._u128(pos.margin) | (self._u128(pos.funding_entry) << 128),
    )


@internal
@pure
def _order(a: uint256, b: uint256) -> Order:
    """
    @dev The order in `a`, `b`; empty when it is not live.
    """
    if a & ORDER_LIVE == 0:
        return empty(Order)
    return Order(
        size_delta=self._i128(a),
        acceptable_price=b & ORDER_PRICE_MAX,
        committed_at=(a >> 128) & constants.MASK64,
        keeper_fee=convert((a >> 192) & constants.MASK63, int256) * constants.MICRO_I,
        round_id=b >> 192,
    )


@internal
@pure
def _order_word(order: Order) -> uint256:
    """
    @dev `order a` of a live order; the keeper fee is stored in micro-USD (rounded down: the
         parameters only allow whole micro-USD).
    """
    assert order.committed_at | order.round_id <= constants.MASK64, "perp: overflow"
    return (
        self._u128(order.size_delta)
        | (order.committed_at << 128)
        | (convert(order.keeper_fee // constants.MICRO_I, uint256) << 192)
        | ORDER_LIVE
    )


@internal
@pure
def _order_b_word(order: Order) -> uint256:
    """
    @dev `order b`: the acceptable price, saturated at `ORDER_PRICE_MAX`, and the round id
         (checked with `committed_at` by `_order_word`: the oracle's ids are 64-bit).
    """
    return min(order.acceptable_price, ORDER_PRICE_MAX) | (order.round_id << 192)


@internal
@pure
def _funding(f: uint256) -> (int256, int256, uint256):
    """
    @dev (rate per day, index, updated_at) out of the funding word.
    """
    rate: int256 = convert(f & constants.MASK64, int256)
    if rate >= 2**63:
        rate -= 2**64
    return rate, self._i128(f >> 64), (f >> 192) & constants.MASK63


@internal
@pure
def _funding_word(rate: int256, index: int256, updated_at: uint256) -> uint256:
    assert rate >= -(2**63) and rate < 2**63, "perp: overflow"
    r: uint256 = convert(convert(rate, bytes32), uint256) & constants.MASK64
    return r | (self._u128(index) << 64) | (updated_at << 192)
