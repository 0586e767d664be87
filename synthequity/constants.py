"""Protocol-wide constants shared by the keepers, the SDK and the tests."""

from __future__ import annotations

from enum import IntEnum

WAD = 10**18
BPS = 10_000
ORACLE_DECIMALS = 8
DEFAULT_MAX_JUMP_BPS = 2_500
DEFAULT_MAX_AGE_OPEN = 120
# The insurance fund a deployment starts with (USD, from the deployer): the stress lab's
# full-history seed 9 lost $11,089 to one overnight gap (2013-05-09, +24%) when the fund held
# $4,933 of penalties; docs/risk.md sizes it.
DEFAULT_INSURANCE_SEED_USD = 10_000
ORACLE_HISTORY = 128  # rounds kept by EquityOracle's ring (getRoundData)
# keccak256("ORDERS"): a perp market's conditional-order book (`PerpOrders`) holds it on the
# market (contracts/auth/roles.vy; not exported by the market, for room)
ORDERS_ROLE = bytes.fromhex("a8f900be24d79a61ee2c86ba571e417e2c5fc1c8c9499f5725d85a4dea4348a6")


class MarketStatus(IntEnum):
    """Chainlink RWA stream market-status codes, as `EquityOracle.market_status()` returns."""

    UNKNOWN = 0
    CLOSED = 1
    OPEN = 2
    HALTED = 3
