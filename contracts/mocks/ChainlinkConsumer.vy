# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title ChainlinkConsumer
@notice Test double: a consumer written against Chainlink's AggregatorV3Interface only, the
        way integrators read Chainlink feeds (staleness, answeredInRound, decimals).
"""

from interfaces import IAggregatorV3


# @dev The feed.
feed: public(IAggregatorV3)
# @dev Oldest acceptable update, seconds.
max_age: public(uint256)


@deploy
def __init__(feed_: IAggregatorV3, max_age_: uint256):
    """
    @param feed_ Any AggregatorV3 feed.
    @param max_age_ Oldest acceptable update, seconds.
    """
    self.feed = feed_
    self.max_age = max_age_


@external
@view
def latest_price_wad() -> uint256:
    """
    @notice The latest price in 1e18 after the usual Chainlink sanity checks.
    @return uint256 Price (1e18).
    """
    round_id: uint80 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in: uint80 = 0
    round_id, answer, started_at, updated_at, answered_in = staticcall self.feed.latestRoundData()
    assert answer > 0, "consumer: bad answer"
    assert answered_in >= round_id, "consumer: stale round"
    assert updated_at != 0 and block.timestamp - updated_at <= self.max_age, "consumer: stale"
    decimals_: uint8 = staticcall self.feed.decimals()
    return convert(answer, uint256) * 10**convert(18 - decimals_, uint256)


@external
@view
def price_at_round_wad(round_id: uint80) -> uint256:
    """
    @notice A historical round's price in 1e18.
    @param round_id Round id.
    @return uint256 Price (1e18).
    """
    rid: uint80 = 0
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in: uint80 = 0
    rid, answer, started_at, updated_at, answered_in = staticcall self.feed.getRoundData(round_id)
    assert rid == round_id, "consumer: wrong round"
    decimals_: uint8 = staticcall self.feed.decimals()
    return convert(answer, uint256) * 10**convert(18 - decimals_, uint256)
