# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title PerpParamsCodec
@custom:contract-name PerpParamsCodec
@notice Stateless: checks a perp market's parameters against their hard bounds and packs
        them into the market's four storage words, and finds the oracle round an order
        fills at when that is not simply the latest (`fill_round_price`). One per
        deployment, shared by every market (which call it from `initialize`, `set_params`
        and `execute_order`); it holds no funds and no roles, so nothing about it can be
        changed or paused.
@dev `fill_round_price` lives here rather than in `PerpMarket` for room: the market's hot
     deployable has none left for a round scan (docs/design/perp-orders.md).
"""

from interfaces import IEquityOracle
from contracts.lib import constants
from contracts.oracle import oracle_guard
from contracts.perp import perp_params

# @dev An order fills at the first usable round among the next 8 after its commit round
#      (docs/design/perp-orders.md): the bound of `fill_round_price`'s scan.
FILL_SCAN_ROUNDS: constant(uint256) = 8


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


@external
@view
def fill_round_price(
    oracle: IEquityOracle, scale: uint256, round_id: uint256, committed_at: uint256
) -> uint256:
    """
    @notice The price an order fills at (docs/spec.md §4): that of the first round after
            `round_id` (the oracle's latest at the commit) observed after `committed_at`
            that was usable when it was pushed (OPEN, not suspect), among the next 8 rounds
            — a function of the commit, whoever executes whenever. Reverts "perp: no newer
            price" while no round was observed after the commit, else with the last unusable
            round's reason ("market closed", "market halted"). Never stale: the order's
            window bounds the round's age.
    @param oracle The market's feed.
    @param scale 10^(the feed's decimals).
    @param round_id The oracle's latest round id when the order was committed.
    @param committed_at The commit's timestamp.
    @return uint256 The price per base share (1e18).
    """
    latest: uint256 = staticcall oracle.latestRound()
    found: oracle_guard.Price = empty(oracle_guard.Price)
    rid: uint256 = round_id
    for i: uint256 in range(FILL_SCAN_ROUNDS):
        rid += 1
        if rid > latest:
            break
        p: oracle_guard.Price = oracle_guard._round_of(oracle, scale, rid)
        if p.updated_at > committed_at:
            found = p
            if p.status == constants.OPEN:
                break
    assert found.updated_at != 0, "perp: no newer price"
    oracle_guard._check_status(found.status)
    return found.wad
