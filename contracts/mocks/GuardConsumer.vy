# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title GuardConsumer
@notice Test double: the smallest consumer of `oracle_guard`, exposing its decisions.
"""

from interfaces import IEquityOracle
from contracts.oracle import oracle_guard

initializes: oracle_guard

exports: (oracle_guard.oracle, oracle_guard.max_age_open)


@deploy
def __init__(oracle_: IEquityOracle, max_age_open_: uint256):
    """
    @param oracle_ The feed.
    @param max_age_open_ Freshness bound in seconds.
    """
    oracle_guard._initialize(oracle_, max_age_open_)


@external
@view
def price_for_risk() -> uint256:
    """
    @notice The 1e18 price usable for risk, or a revert with the reason.
    @return uint256 Price (1e18).
    """
    return oracle_guard._price_for_risk()


@external
@view
def mark_price() -> uint256:
    """
    @notice The last price (1e18), whatever the status.
    @return uint256 Price (1e18).
    """
    return oracle_guard._mark_wad()


@external
@view
def is_usable() -> bool:
    """
    @notice Whether the latest price is usable for risk.
    @return bool True when OPEN, not suspect and fresh.
    """
    return oracle_guard._is_usable(oracle_guard._latest())


@external
def set_max_age_open(new_seconds: uint256):
    """
    @notice Sets the freshness bound (unguarded: test double only).
    @param new_seconds Seconds, within [10, 3_600].
    """
    oracle_guard._set_max_age_open(new_seconds)
