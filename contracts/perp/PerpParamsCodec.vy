# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title PerpParamsCodec
@custom:contract-name PerpParamsCodec
@notice Stateless: checks a perp market's parameters against their hard bounds and packs
        them into the market's four storage words. One per deployment, shared by every
        market (which call it from their constructor and `set_params`); it holds no funds
        and no roles, so nothing about it can be changed or paused.
"""

from contracts.perp import perp_params


@external
@pure
def pack(params: perp_params.MarketParams) -> uint256[4]:
    """
    @notice Checks `params` (MMR < IMR <= 100%, penalty < MMR, taker < 10% and maker <=
            taker, skew scale > 0, order age in [10, 3,600] s, keeper fee <= 10 USD in whole
            micro-USD, pool cap in (0, 100%]) and packs them. Reverts with the reason.
    @param params The parameters.
    @return uint256[4] The packed words.
    """
    return perp_params._pack(params)


@external
@pure
def unpack(words: uint256[4]) -> perp_params.MarketParams:
    """
    @notice The inverse of `pack`.
    @param words Packed words.
    @return MarketParams The parameters.
    """
    return perp_params._unpack(words)
