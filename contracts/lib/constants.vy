# pragma version 0.4.3
"""
@title constants
@custom:contract-name constants
@notice The protocol's shared constants (docs/spec.md §1): fixed-point units, the oracle's
        market-status codes, and bit masks for packed storage. One copy, imported by every
        module; a signed twin (`_I`) where a module does its math in `int256`.
"""

# ---- units ------------------------------------------------------------------------------
# @dev 1e18: prices, USD amounts, shares and indices.
WAD: constant(uint256) = 10**18
WAD_I: constant(int256) = 10**18
# @dev 1e4: basis points.
BPS: constant(uint256) = 10_000
BPS_I: constant(int256) = 10_000
# @dev Keeper fees are stored in whole micro-USD (1e12 wad).
MICRO_I: constant(int256) = 10**12
DAY: constant(uint256) = 86_400
DAY_I: constant(int256) = 86_400
YEAR: constant(uint256) = 365 * 86_400

# ---- redemptions and the stability pool (docs/design/vault.md) ------------------------------
# @dev The redemption fee's floor, wad (0.5%); the base rate comes on top.
REDEMPTION_FEE_FLOOR_WAD: constant(uint256) = 5 * 10**15
# @dev A redemption of a fraction f of the supply adds f / BETA to the base rate.
REDEMPTION_BETA: constant(uint256) = 2
# @dev The base rate halves every 12 hours (linear between halvings).
BASE_RATE_HALF_LIFE: constant(uint256) = 12 * 3_600
# @dev Most positions one redemption takes from.
MAX_REDEEMED: constant(uint256) = 64
# @dev Most nodes of the sorted list one call walks (hints make it O(1)).
SORTED_MAX_WALK: constant(uint256) = 100_000
# @dev Share of a liquidation's penalty paid to the keeper who liquidates through the stability
#      pool (bps of the penalty), in collateral.
KEEPER_SHARE_BPS: constant(uint256) = 1_000

# ---- the oracle's market status (docs/spec.md §2, §5) ---------------------------------------
UNKNOWN: constant(uint8) = 0
CLOSED: constant(uint8) = 1
OPEN: constant(uint8) = 2
HALTED: constant(uint8) = 3

# ---- masks ------------------------------------------------------------------------------
MASK16: constant(uint256) = 2**16 - 1
MASK22: constant(uint256) = 2**22 - 1
MASK32: constant(uint256) = 2**32 - 1
MASK63: constant(uint256) = 2**63 - 1
MASK64: constant(uint256) = 2**64 - 1
MASK72: constant(uint256) = 2**72 - 1
MASK88: constant(uint256) = 2**88 - 1
MASK96: constant(uint256) = 2**96 - 1
MASK128: constant(uint256) = 2**128 - 1
MASK160: constant(uint256) = 2**160 - 1
# @dev The top bit of a packed word, used as a flag.
TOP_BIT: constant(uint256) = 1 << 255
