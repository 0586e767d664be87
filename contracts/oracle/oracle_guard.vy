# pragma version 0.4.3
"""
@title oracle_guard
@custom:contract-name oracle_guard
@notice The one place where a consumer (vault, perp market) decides whether the oracle's
        price is usable for risk, and normalizes it to 1e18. docs/spec.md §2, §5.
        - usable for risk: status OPEN, feed not suspect (the oracle reports a suspect feed
          as HALTED), answer > 0 and `block.timestamp - updatedAt <= max_age_open`;
        - mark: the last answer whatever the status (a CLOSED market's last close is a valid
          mark for views, never for a trade or a liquidation).
        - every price is per *base share* (the unit positions are kept in): the answer x
          the feed's shares multiplier (1e18), so a split or a dividend (docs/spec.md §6,
          docs/design/corporate-actions.md) changes no position; the division by
          10^decimals rounds down, by less than 1e-18 USD.
        - a past round (an order's fill, docs/design/perp-orders.md) is judged by what the
          feed said when it was pushed: `round_state(round_id)` (HALTED if the feed was
          suspect then) and that round's multiplier; never stale (its time is checked
          against the order's window by the caller).
        Reads only `latest_state()` (`latestRoundData()` and `market_state()` in one
        call), `latestRound()`, `getRoundData()`, `decimals()` and `round_state()` (status
        and multiplier), so any Chainlink-compatible feed with those can replace
        `EquityOracle`.
"""

from interfaces import IEquityOracle
from contracts.lib import constants

CLOSED: constant(uint8) = constants.CLOSED
OPEN: constant(uint8) = constants.OPEN

MIN_MAX_AGE: constant(uint256) = 10
MAX_MAX_AGE: constant(uint256) = 3_600


struct Price:
    wad: uint256
    round_id: uint80
    updated_at: uint256
    max_age: uint256
    status: uint8


# @dev One word, read once per check: oracle [0, 160) | max_age_open [160, 192) |
#      the feed's decimals [192, 200).
_cfg: uint256


# @dev The freshness bound changed.
event MaxAgeOpenSet:
    old_seconds: uint256
    new_seconds: uint256


@internal
def _initialize(oracle_: IEquityOracle, max_age_open_: uint256):
    """
    @dev Once, from the consumer's initialization (an internal function rather than a
         constructor, so that a consumer may run it in storage it shares with an extension).
    @param oracle_ The feed (AggregatorV3 + `market_status`).
    @param max_age_open_ Freshness bound in seconds, within [10, 3_600].
    """
    self._initialize_with(self._config(oracle_, max_age_open_))


@internal
def _initialize_with(cfg: uint256):
    """
    @dev `_initialize` with a word `_config` made (a consumer that also keeps it immutable).
    """
    self._cfg = cfg
    log MaxAgeOpenSet(old_seconds=0, new_seconds=(cfg >> 160) & constants.MASK32)


@internal
@view
def _config(oracle_: IEquityOracle, max_age_open_: uint256) -> uint256:
    """
    @dev The configuration word for `oracle_` and `max_age_open_` (checked): what `_cfg`
         holds. A consumer whose configuration never changes may keep it in an immutable and
         read prices with `_latest_of` (no storage read).
    """
    decimals_: uint8 = staticcall oracle_.decimals()
    assert decimals_ <= 18, "guard: decimals > 18"
    assert max_age_open_ >= MIN_MAX_AGE and max_age_open_ <= MAX_MAX_AGE, "guard: max age bounds"
    return (
        convert(oracle_.address, uint256)
        | (max_age_open_ << 160)
        | (convert(decimals_, uint256) << 192)
    )


@external
@view
def oracle() -> IEquityOracle:
    """
    @notice The feed this consumer reads.
    @return IEquityOracle The oracle.
    """
    return IEquityOracle(convert(self._cfg & constants.MASK160, address))


@external
@view
def max_age_open() -> uint256:
    """
    @notice Oldest OPEN price (seconds) usable for risk.
    @return uint256 Seconds.
    """
    return (self._cfg >> 160) & constants.MASK32


@internal
@view
def _latest() -> Price:
    """
    @dev The latest round, normalized to 1e18, with the status consumers must act on.
    """
    # not `_latest_of(self._cfg)`: one internal call less on the vault's every path
    round_id: uint80 = 0
    answer: int256 = 0
    updated_at: uint256 = 0
    status: uint8 = 0
    multiplier: uint256 = 0
    cfg: uint256 = self._cfg
    feed: IEquityOracle = IEquityOracle(convert(cfg & constants.MASK160, address))
    round_id, answer, updated_at, status, multiplier = staticcall feed.latest_state()
    assert answer > 0, "guard: bad price"
    return Price(
        wad=convert(answer, uint256) * multiplier // 10**(cfg >> 192),
        round_id=round_id,
        updated_at=updated_at,
        max_age=(cfg >> 160) & constants.MASK32,
        status=status,
    )


@internal
@view
def _latest_of(cfg: uint256) -> Price:
    """
    @dev `_latest` for the configuration word `cfg` (`_config`), kept by the consumer (an
         immutable: no storage read).
    """
    round_id: uint80 = 0
    answer: int256 = 0
    updated_at: uint256 = 0
    status: uint8 = 0
    multiplier: uint256 = 0
    feed: IEquityOracle = IEquityOracle(convert(cfg & constants.MASK160, address))
    round_id, answer, updated_at, status, multiplier = staticcall feed.latest_state()
    assert answer > 0, "guard: bad price"
    return Price(
        wad=convert(answer, uint256) * multiplier // 10**(cfg >> 192),
        round_id=round_id,
        updated_at=updated_at,
        max_age=(cfg >> 160) & constants.MASK32,
        status=status,
    )


@internal
@pure
def _feed_of(cfg: uint256) -> (IEquityOracle, uint256):
    """
    @dev The feed and its scale (10^decimals: answer x multiplier_wad / scale is 1e18 USD)
         in the configuration word `cfg`, for `_round_of`.
    """
    return IEquityOracle(convert(cfg & constants.MASK160, address)), 10**(cfg >> 192)


@internal
@view
def _round_of(feed: IEquityOracle, scale: uint256, round_id: uint256) -> Price:
    """
    @dev A past round of `feed`, normalized like `_latest` (`scale` = 10^decimals),
         with the status to act on as it was when it was pushed (`round_state`: HALTED if
         the feed was suspect then) and that round's own shares multiplier; `max_age` 0 (a
         past round is judged by its time, by the caller). Reverts where the feed does: a
         round not pushed yet, or evicted from its history. Reads no storage, so that a
         stateless contract can run it (`PerpParamsCodec.fill_round_price`).
    """
    rid: uint80 = convert(round_id, uint80)
    answer: int256 = 0
    started_at: uint256 = 0
    updated_at: uint256 = 0
    answered_in: uint80 = 0
    rid, answer, started_at, updated_at, answered_in = staticcall feed.getRoundData(rid)
    assert answer > 0, "guard: bad price"
    status: uint8 = 0
    multiplier: uint256 = 0
    status, multiplier = staticcall feed.round_state(rid)
    return Price(
        wad=convert(answer, uint256) * multiplier // scale,
        round_id=rid,
        updated_at=updated_at,
        max_age=0,
        status=status,
    )


@internal
@pure
def _check_status(status: uint8):
    """
    @dev Reverts with "market closed" or "market halted" unless `status` is OPEN.
    """
    assert status != CLOSED, "market closed"
    assert status == OPEN, "market halted"


@internal
@view
def _is_usable(p: Price) -> bool:
    """
    @dev Whether a price may open, grow or liquidate a position.
    """
    return p.status == OPEN and block.timestamp <= p.updated_at + p.max_age


@internal
@view
def _check_usable(p: Price):
    """
    @dev Reverts with the reason a user needs ("market closed", "market halted",
         "stale price") when `p` is not usable for risk.
    """
    self._check_status(p.status)
    assert block.timestamp <= p.updated_at + p.max_age, "stale price"


@internal
@view
def _price_for_risk() -> uint256:
    """
    @dev The 1e18 price, or a revert with the reason it is not usable.
    """
    p: Price = self._latest()
    self._check_usable(p)
    return p.wad


@internal
@view
def _mark_wad() -> uint256:
    """
    @dev The last price in 1e18 whatever the status (views and valuation only).
    """
    return self._latest().wad


@internal
def _set_max_age_open(new_seconds: uint256):
    """
    @dev Bounded setter; the caller checks the role.
    """
    assert new_seconds >= MIN_MAX_AGE and new_seconds <= MAX_MAX_AGE, "guard: max age bounds"
    cfg: uint256 = self._cfg
    log MaxAgeOpenSet(old_seconds=(cfg >> 160) & constants.MASK32, new_seconds=new_seconds)
    self._cfg = (cfg & ~(constants.MASK32 << 160)) | (new_seconds << 160)
