"""Protocol-wide constants shared by the keepers, the SDK and the tests."""

from __future__ import annotations

from enum import IntEnum

WAD = 10**18
BPS = 10_000
ORACLE_DECIMALS = 8
DEFAULT_MAX_JUMP_BPS = 2_500
DEFAULT_MAX_AGE_OPEN = 120
ORACLE_HISTORY = 128  # rounds kept by EquityOracle's ring (getRoundData)


class MarketStatus(IntEnum):
    """Chainlink RWA stream market-status codes, as `EquityOracle.market_status()` returns."""

    UNKNOWN = 0
    CLOSED = 1
    OPEN = 2
    HALTED = 3
