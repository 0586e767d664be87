# pragma version 0.4.3
"""
@title equity_feed
@custom:contract-name equity_feed
@notice The state of one equity's push price feed: a Chainlink-compatible round history
        (AggregatorV3 semantics), the market status of each round, and the jump guard.
        docs/spec.md §2.

        Storage is packed for the reporter's gas bill (target: `push_price` <= 45k receipt
        gas): the latest round lives in one word (`_head`), and the round history is a ring
        of `HISTORY` words that the constructor pre-fills with a marker, so that every push
        rewrites a non-zero word (5k gas) instead of creating one (22.1k gas).

        Word layout (bits): [0, 48) round id | [48, 144) answer | [144, 184) observed_at |
        [184, 192) status | [192] suspect (the feed was suspect after this round's push; in
        the head: now) | [193, 255) shares multiplier, in 1e-12 (0 read as 1.0) | [255] warm
        marker (always set, so that no push ever writes a zero word).

        Splits (docs/spec.md §6): the admin stages (ratio, activation); the first push observed
        at or after the activation that follows a constants.CLOSED round is the first price
        per new share and multiplies the feed's shares multiplier by the ratio. A push
        that does not qualify (the last round is OPEN or HALTED) goes through without it:
        no staged split ever makes a push revert. Answers stay the unadjusted quote (what
        Chainlink consumers expect); risk consumers price one *base* share (the unit every
        position is kept in) as answer x multiplier_wad / 1e18, so no balance, position or
        parameter needs to change.

        Dividends (docs/design/corporate-actions.md): a reporter (the oracle keeper) or the
        admin stages (amount per share, ex-date); the first push observed at or after it that
        follows a CLOSED round is the first ex-dividend quote. It multiplies the multiplier by
        `cum / (cum - amount)`, `cum` the last (cum-dividend) close in this push's shares: a
        total-return multiplier, so that at the exchange's ex-date reference price
        (`cum - amount`) one base share is worth exactly what it was at the close, plus the
        dividend. Holders and longs are paid, borrowers and shorts pay, through the price;
        nothing else changes. A dividend above `DIVIDEND_BOUND_BPS` of `cum` (a special
        dividend) applies only once the admin has confirmed it; unconfirmed, or above half of
        `cum`, it is dropped at its ex-date (event `DividendDropped`), never a revert.

        Jump guard and escalation (docs/spec.md §2, docs/design/oracle.md): a move beyond
        `max_jump_bps` is stored but *suspect* (consumers see constants.HALTED). It ends
        when (a) a different reporter confirms it, (b) the reporters keep printing it,
        OPEN, for `escalation_prints` prints over `escalation_seconds`, each within
        `max_jump_bps` of it, and it lies within a factor of 4 of the last trusted price,
        (c) a print returns near that trusted price, or (d) a risk admin clears it. While a
        staged split is due but not applied, (a) and (b) wait: the jump may be the split.

        Timestamps: `startedAt` and `updatedAt` are both the time the reporter observed the
        price at its source (`observed_at`), never later than the block that carried it, so
        that "a price newer than T" means "observed after T".
"""

from snekmate.auth import access_control
from contracts.auth import roles
from contracts.lib import constants

uses: access_control

HISTORY: constant(uint256) = 128
MAX_ANSWER: constant(uint256) = 2**96 - 1
MIN_JUMP_BPS: constant(uint256) = 100
MAX_JUMP_BPS: constant(uint256) = 10_000
# escalation path (b): bounds and defaults of the prints and seconds a suspect price must
# persist for, and the factor of the anchor beyond which only (a) or the admin can clear
MIN_ESCALATION_PRINTS: constant(uint256) = 2
MAX_ESCALATION_PRINTS: constant(uint256) = 120
DEFAULT_ESCALATION_PRINTS: constant(uint256) = 10
MIN_ESCALATION_S: constant(uint256) = 300
MAX_ESCALATION_S: constant(uint256) = 14_400
DEFAULT_ESCALATION_S: constant(uint256) = 3_600
ESCALATION_MAX_FACTOR: constant(uint256) = 4

MIN_SPLIT: constant(uint256) = 2
MAX_SPLIT: constant(uint256) = 100
# a dividend above this share of the last close is special: it needs the admin's confirmation
DIVIDEND_BOUND_BPS: constant(uint256) = 1_000
# a reporter stages a dividend at least this long before its ex-date (the admin can cancel it)
MIN_DIVIDEND_NOTICE_S: constant(uint256) = 86_400
MASK_RID: constant(uint256) = 2**48 - 1
MASK_TIME: constant(uint256) = 2**40 - 1
MASK_MULT: constant(uint256) = 2**62 - 1
MULT_ONE: constant(uint256) = 10**12  # the multiplier is stored in 1e-12 ...
MULT_TO_WAD: constant(uint256) = 10**6  # ... and read in 1e-18 (exact)
SHIFT_ANSWER: constant(uint256) = 48
SHIFT_TIME: constant(uint256) = 144
SHIFT_STATUS: constant(uint256) = 184
SHIFT_SUSPECT: constant(uint256) = 192
SHIFT_MULT: constant(uint256) = 193
WARM: constant(uint256) = 1 << 255
# the corporate-actions word: split ratio [0, 8) | split activation [8, 48) | dividend
# amount [48, 144) | dividend activation [144, 184) | dividend confirmed [184]
SHIFT_SPLIT_TIME: constant(uint256) = 8
SHIFT_DIV: constant(uint256) = 48
SHIFT_DIV_TIME: constant(uint256) = 144
SHIFT_DIV_OK: constant(uint256) = 184
SPLIT_FIELDS: constant(uint256) = 2**48 - 1
# the streak word: candidate [0, 96) | since [96, 160) | prints [160, 168) | WARM
SHIFT_SINCE: constant(uint256) = 96
SHIFT_PRINTS: constant(uint256) = 160


# @dev Price decimals (Chainlink convention: 8).
decimals: public(immutable(uint8))
# @dev E.g. "TSLA / USD".
description: public(immutable(String[64]))


# @dev The latest round, packed (see the layout above).
_head: uint256
# @dev Ring of the last `HISTORY` rounds, indexed by `round_id % HISTORY`.
_rounds: HashMap[uint256, uint256]
# @dev While suspect: the reporter that pushed the unconfirmed price [0, 160) and the last
#      trusted answer before the jump (the anchor) [160, 256).
_suspect_info: uint256
# @dev A move larger than this (in bps of the last answer) makes the feed suspect.
max_jump_bps: public(uint256)
# @dev The staged split and dividend, packed (see `SHIFT_SPLIT_TIME`); 0: none.
_actions: uint256
# @dev While suspect, escalation path (b): the price being persisted (candidate), the
#      `observed_at` of its first print (since), and the OPEN prints of it so far.
_streak: uint256
# @dev Path (b): a suspect price is usable after this many OPEN prints of it ...
escalation_prints: public(uint256)
# @dev ... spanning at least this many seconds (first to last `observed_at`).
escalation_seconds: public(uint256)


# @dev A reporter pushed a new round.
event PricePushed:
    reporter: indexed(address)
    round_id: indexed(uint80)
    answer: int256
    observed_at: uint256
    status: uint8


# @dev A push moved the price beyond `max_jump_bps`: consumers treat the feed as HALTED.
event FeedSuspect:
    round_id: indexed(uint80)
    reporter: indexed(address)
    answer: int256
    anchor: int256


# @dev A suspect print too far from the price being persisted: path (b) restarts from it.
event EscalationRestarted:
    round_id: indexed(uint80)
    reporter: indexed(address)
    answer: int256


# @dev The suspect state ended: "confirmed" by a second reporter (path a), "persisted"
#      through the escalation bound (path b), "reverted" to the anchor, or cleared by a
#      risk "admin".
event FeedCleared:
    round_id: indexed(uint80)
    by: indexed(address)
    reason: String[16]


# @dev A split was staged: from the first push observed at `activation`, 1 old share is
#      `ratio` new shares.
event SplitStaged:
    ratio: uint256
    activation: uint256


# @dev A staged split was withdrawn before it applied.
event SplitCancelled:
    ratio: uint256
    activation: uint256


# @dev A split applied with round `round_id`; `multiplier_wad`: shares per base share.
event SplitApplied:
    round_id: indexed(uint80)
    ratio: uint256
    multiplier_wad: uint256


# @dev A cash dividend of `amount` per share (the feed's decimals) was staged for the
#      ex-date `activation`; `special` when above `DIVIDEND_BOUND_BPS` of the last price
#      (it needs `confirm_dividend`), `confirmed` when the admin staged it.
event DividendStaged:
    amount: uint256
    activation: uint256
    special: bool
    confirmed: bool


# @dev The admin confirmed the staged dividend (a special dividend may then apply).
event DividendConfirmed:
    amount: uint256
    activation: uint256


# @dev The staged dividend was withdrawn before it applied.
event DividendCancelled:
    amount: uint256
    activation: uint256


# @dev A dividend applied with round `round_id`: `cum_price` is the last close in this
#      round's shares, `multiplier_wad` the shares per base share from this round on.
event DividendApplied:
    round_id: indexed(uint80)
    amount: uint256
    cum_price: uint256
    multiplier_wad: uint256


# @dev A due dividend was not applied: a special one not confirmed, or above half of the
#      last close (`cum_price`). Nobody was paid or charged.
event DividendDropped:
    round_id: indexed(uint80)
    amount: uint256
    cum_price: uint256


# @dev The jump threshold changed.
event MaxJumpSet:
    old_bps: uint256
    new_bps: uint256


# @dev The escalation bound (path b) changed.
event EscalationSet:
    old_prints: uint256
    new_prints: uint256
    old_seconds: uint256
    new_seconds: uint256


@deploy
def __init__(decimals_: uint8, description_: String[64], max_jump_bps_: uint256):
    """
    @dev Pre-fills the head and the round ring so that pushes rewrite warm words.
    @param decimals_ Price decimals, at most 18.
    @param description_ Pair name, e.g. "TSLA / USD".
    @param max_jump_bps_ Jump threshold in bps, within [100, 10_000].
    """
    assert decimals_ <= 18, "oracle: decimals > 18"
    assert max_jump_bps_ >= MIN_JUMP_BPS and max_jump_bps_ <= MAX_JUMP_BPS, "oracle: jump bounds"
    decimals = decimals_
    description = description_
    self.max_jump_bps = max_jump_bps_
    self.escalation_prints = DEFAULT_ESCALATION_PRINTS
    self.escalation_seconds = DEFAULT_ESCALATION_S
    self._head = WARM
    self._suspect_info = WARM
    self._streak = WARM
    for i: uint256 in range(HISTORY):
        self._rounds[i] = WARM


@external
@view
def version() -> uint256:
    """
    @notice The implementation version (Chainlink's `version()`).
    @return uint256 Always 1 for this implementation.
    """
    return 1


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice The latest round, with Chainlink's semantics.
    @dev Reverts with "oracle: no data" before the first push.
    @return (roundId, answer, startedAt, updatedAt, answeredInRound)
    """
    return self._unpack_round(self._head)


@external
@view
def latestRound() -> uint256:
    """
    @notice The latest round id, 0 before the first push (Chainlink's `latestRound()`).
    @return uint256 Round id.
    """
    return self._head & MASK_RID


@external
@view
def getRoundData(_roundId: uint80) -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice A past round, with Chainlink's semantics.
    @dev Reverts with "oracle: no data" for round 0 or a round not yet pushed, and with
         "oracle: round evicted" for a round older than the last `HISTORY` (128).
    @param _roundId The round id.
    @return (roundId, answer, startedAt, updatedAt, answeredInRound)
    """
    return self._unpack_round(self._round_word(_roundId))


@external
@view
def round_status(round_id: uint80) -> uint8:
    """
    @notice The market status reported with a past round.
    @param round_id The round id.
    @return uint8 0 UNKNOWN, 1 CLOSED, 2 OPEN, 3 HALTED.
    """
    return convert((self._round_word(round_id) >> SHIFT_STATUS) & 255, uint8)


@external
@view
def round_state(round_id: uint80) -> (uint8, uint256):
    """
    @notice The per-round analogue of `market_state()`: the status consumers must act on
            for a past round and the shares multiplier its answer is quoted under.
    @dev The status is constants.HALTED when the feed was suspect once that round was
         pushed (a jump awaiting confirmation, unless a risk admin cleared that very
         round), else the status reported with it. `round_state(latestRound())` equals
         `market_state()`. Same reverts as `getRoundData`.
    @param round_id The round id.
    @return (uint8, uint256) The status to act on; shares per base share for that round.
    """
    word: uint256 = self._round_word(round_id)
    status: uint8 = convert((word >> SHIFT_STATUS) & 255, uint8)
    if (word >> SHIFT_SUSPECT) & 1 == 1:
        status = constants.HALTED
    return status, self._mult(word) * MULT_TO_WAD


@external
@view
def market_status() -> uint8:
    """
    @notice The status consumers must act on: the reported status, or HALTED while the
            feed is suspect; constants.UNKNOWN before the first push.
    @return uint8 0 UNKNOWN, 1 CLOSED, 2 OPEN, 3 HALTED.
    """
    head: uint256 = self._head
    if head & MASK_RID == 0:
        return constants.UNKNOWN
    if (head >> SHIFT_SUSPECT) & 1 == 1:
        return constants.HALTED
    return convert((head >> SHIFT_STATUS) & 255, uint8)


@external
@view
def market_state() -> (uint8, uint256):
    """
    @notice `market_status()` and `shares_multiplier()` in one call (for risk consumers).
    @return (uint8, uint256) The status to act on; current shares per base share.
    """
    head: uint256 = self._head
    status: uint8 = convert((head >> SHIFT_STATUS) & 255, uint8)
    if head & MASK_RID == 0:
        status = constants.UNKNOWN
    elif (head >> SHIFT_SUSPECT) & 1 == 1:
        status = constants.HALTED
    return status, self._mult(head) * MULT_TO_WAD


@external
@view
def latest_state() -> (uint80, int256, uint256, uint8, uint256):
    """
    @notice `latestRoundData()` and `market_state()` in one call (for risk consumers: one
            call to the feed on every hot path instead of two).
    @dev Reverts with "oracle: no data" before the first push.
    @return (uint80, int256, uint256, uint8, uint256) Round id, answer, updatedAt, the status
            to act on, current shares per base share.
    """
    head: uint256 = self._head
    rid: uint80 = 0
    answer: int256 = 0
    started: uint256 = 0
    t: uint256 = 0
    answered_in: uint80 = 0
    rid, answer, started, t, answered_in = self._unpack_round(head)
    status: uint8 = convert((head >> SHIFT_STATUS) & 255, uint8)
    if (head >> SHIFT_SUSPECT) & 1 == 1:
        status = constants.HALTED
    return rid, answer, t, status, self._mult(head) * MULT_TO_WAD


@external
@view
def shares_multiplier_wad() -> uint256:
    """
    @notice Current shares per base share, in 1e18: the product of every split applied and
            every dividend's total-return factor (1e18 before any). A base share is worth
            `latestRoundData().answer x shares_multiplier_wad() / 1e18`.
    @return uint256 The multiplier (a multiple of 1e6: it is kept in 1e-12).
    """
    return self._mult(self._head) * MULT_TO_WAD


@external
@view
def round_multiplier_wad(round_id: uint80) -> uint256:
    """
    @notice The shares multiplier (1e18) a past round's answer is quoted under.
    @param round_id The round id.
    @return uint256 The multiplier.
    """
    return self._mult(self._round_word(round_id)) * MULT_TO_WAD


@external
@view
def staged_split() -> (uint256, uint256):
    """
    @notice The split waiting to apply: (ratio, activation time); (0, 0) when none.
    @return (uint256, uint256) Ratio and activation.
    """
    actions: uint256 = self._actions
    return actions & 255, (actions >> SHIFT_SPLIT_TIME) & MASK_TIME


@external
def stage_split(ratio: uint256, activation: uint256):
    """
    @notice Stages a forward split of `ratio` new shares per old share. DEFAULT_ADMIN only.
    @dev It applies with the first push observed at or after `activation` that follows a
         constants.CLOSED round (a split never lands in a session); earlier pushes go
         through without it. One at a time.
    @param ratio New shares per old share, within [2, 100].
    @param activation Unix time, in the future (below 2**40).
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert ratio >= MIN_SPLIT and ratio <= MAX_SPLIT, "oracle: split ratio bounds"
    assert (activation > block.timestamp and activation <= MASK_TIME), "oracle: activation bounds"
    actions: uint256 = self._actions
    assert actions & 255 == 0, "oracle: split already staged"
    # room for it and for a staged dividend's factor (at most 2)
    growth: uint256 = ratio
    if actions >> SHIFT_DIV != 0:
        growth *= 2
    assert self._mult(self._head) * growth <= MASK_MULT, "oracle: multiplier too large"
    self._actions = actions | ratio | (activation << SHIFT_SPLIT_TIME)
    log SplitStaged(ratio=ratio, activation=activation)


@external
def cancel_split():
    """
    @notice Withdraws the staged split before it applies. DEFAULT_ADMIN only.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    actions: uint256 = self._actions
    assert actions & 255 != 0, "oracle: no split staged"
    self._actions = actions & ~SPLIT_FIELDS
    log SplitCancelled(ratio=actions & 255, activation=(actions >> SHIFT_SPLIT_TIME) & MASK_TIME)


@external
@view
def staged_dividend() -> (uint256, uint256, bool):
    """
    @notice The dividend waiting to apply: (amount per share in the feed's decimals, ex-date
            activation time, confirmed by the admin); (0, 0, False) when none.
    @return (uint256, uint256, bool) Amount, activation, confirmed.
    """
    actions: uint256 = self._actions
    return (
        (actions >> SHIFT_DIV) & constants.MASK96,
        (actions >> SHIFT_DIV_TIME) & MASK_TIME,
        (actions >> SHIFT_DIV_OK) & 1 == 1,
    )


@external
def stage_dividend(amount: uint256, activation: uint256):
    """
    @notice Stages a cash dividend of `amount` per share, ex-date at `activation`. REPORTER
            (at least a day ahead) or DEFAULT_ADMIN (any future time; staged confirmed).
    @dev It applies with the first push observed at or after `activation` that follows a
         constants.CLOSED round, as a split does. One at a time. A dividend above
         `DIVIDEND_BOUND_BPS` of the last price is special: staged by a reporter it applies
         only once the admin confirms it (`confirm_dividend`), else it is dropped at its
         ex-date.
    @param amount Per current share, in the feed's decimals; > 0 and at most half the last
           price.
    @param activation The ex-date's start (unix time), in the future, below 2**40.
    """
    is_admin: bool = access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender]
    assert (
        is_admin or access_control.hasRole[roles.REPORTER_ROLE][msg.sender]
    ), "oracle: not reporter"
    head: uint256 = self._head
    assert head & MASK_RID != 0, "oracle: no data"
    last_price: uint256 = (head >> SHIFT_ANSWER) & constants.MASK96
    assert amount != 0 and amount * 2 <= last_price, "oracle: dividend bounds"
    notice: uint256 = MIN_DIVIDEND_NOTICE_S
    if is_admin:
        notice = 1
    assert (
        activation >= block.timestamp + notice and activation <= MASK_TIME
    ), "oracle: activation bounds"
    actions: uint256 = self._actions
    assert actions >> SHIFT_DIV == 0, "oracle: dividend already staged"
    # room for its factor (at most 2) and for a staged split
    assert self._mult(head) * 2 * max(actions & 255, 1) <= MASK_MULT, "oracle: multiplier too large"
    self._actions = (
        actions
        | (amount << SHIFT_DIV)
        | (activation << SHIFT_DIV_TIME)
        | (convert(is_admin, uint256) << SHIFT_DIV_OK)
    )
    log DividendStaged(
        amount=amount,
        activation=activation,
        special=amount * constants.BPS > last_price * DIVIDEND_BOUND_BPS,
        confirmed=is_admin,
    )


@external
def confirm_dividend():
    """
    @notice Confirms the staged dividend, so that a special one applies. DEFAULT_ADMIN only.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    actions: uint256 = self._actions
    assert actions >> SHIFT_DIV != 0, "oracle: no dividend staged"
    self._actions = actions | (1 << SHIFT_DIV_OK)
    log DividendConfirmed(
        amount=(actions >> SHIFT_DIV) & constants.MASK96,
        activation=(actions >> SHIFT_DIV_TIME) & MASK_TIME,
    )


@external
def cancel_dividend():
    """
    @notice Withdraws the staged dividend before it applies. DEFAULT_ADMIN only.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    actions: uint256 = self._actions
    assert actions >> SHIFT_DIV != 0, "oracle: no dividend staged"
    self._actions = actions & SPLIT_FIELDS
    log DividendCancelled(
        amount=(actions >> SHIFT_DIV) & constants.MASK96,
        activation=(actions >> SHIFT_DIV_TIME) & MASK_TIME,
    )


@external
@view
def reported_status() -> uint8:
    """
    @notice The status the reporter sent with the latest round, ignoring the suspect state.
    @return uint8 0 UNKNOWN, 1 CLOSED, 2 OPEN, 3 HALTED.
    """
    return convert((self._head >> SHIFT_STATUS) & 255, uint8)


@external
@view
def suspect() -> bool:
    """
    @notice Whether the latest price jumped beyond `max_jump_bps` and awaits confirmation.
    @return bool True while suspect.
    """
    return (self._head >> SHIFT_SUSPECT) & 1 == 1


@external
@view
def escalation() -> (uint256, uint256, uint256, uint256):
    """
    @notice While suspect: the last trusted price (anchor), the price being persisted
            (path b), the `observed_at` of its first print, and its OPEN prints so far;
            all 0 when not suspect.
    @return (uint256, uint256, uint256, uint256) anchor, candidate, since, prints.
    """
    if (self._head >> SHIFT_SUSPECT) & 1 == 0:
        return 0, 0, 0, 0
    streak: uint256 = self._streak
    return (
        self._suspect_info >> 160,
        streak & constants.MASK96,
        (streak >> SHIFT_SINCE) & constants.MASK64,
        (streak >> SHIFT_PRINTS) & 255,
    )


@external
def push_price(answer: int256, observed_at: uint256, status: uint8):
    """
    @notice Pushes a new round. Reporters only.
    @dev A move beyond `max_jump_bps` from the last answer is stored but makes the feed
         suspect (consumers see constants.HALTED) until a different reporter confirms a
         price within `max_jump_bps` of it, the reporters keep printing it through the
         escalation bound, a push returns within `max_jump_bps` of the last trusted price,
         or a risk admin clears it. Applies a due staged split; never reverts for one.
    @param answer The price, `decimals` decimals, > 0.
    @param observed_at When the price was observed at its source (unix seconds); not in the
           future and newer than the latest round.
    @param status 0 UNKNOWN, 1 CLOSED, 2 OPEN, 3 HALTED.
    """
    assert access_control.hasRole[roles.REPORTER_ROLE][msg.sender], "oracle: not reporter"
    assert answer > 0, "oracle: answer <= 0"
    price: uint256 = convert(answer, uint256)
    assert price <= MAX_ANSWER, "oracle: answer too large"
    assert observed_at <= block.timestamp, "oracle: future timestamp"
    assert status <= constants.HALTED, "oracle: bad status"

    head: uint256 = self._head
    last_round: uint256 = head & MASK_RID
    assert observed_at > (head >> SHIFT_TIME) & MASK_TIME, "oracle: not newer"
    round_id: uint256 = last_round + 1
    suspect: bool = (head >> SHIFT_SUSPECT) & 1 == 1

    last_mult: uint256 = self._mult(head)
    mult: uint256 = last_mult
    held: bool = False  # a due corporate action waits for a CLOSED round: the jump may be it
    actions: uint256 = self._actions
    if actions != 0:
        mult, held = self._apply_actions(actions, head, observed_at, round_id)

    if last_round != 0:
        last_price: uint256 = (head >> SHIFT_ANSWER) & constants.MASK96
        if not suspect:
            # compared per base share: across a split or an ex-date there is no false jump
            if self._is_jump(price * mult, last_price * last_mult, self.max_jump_bps):
                suspect = True
                # in this push's quote; rounds down
                anchor: uint256 = last_price * last_mult // mult
                self._suspect_info = convert(msg.sender, uint256) | (anchor << 160)
                self._streak = self._streak_word(price, observed_at, 0, status)
                log FeedSuspect(
                    round_id=convert(round_id, uint80),
                    reporter=msg.sender,
                    answer=answer,
                    anchor=convert(anchor, int256),
                )
        else:
            suspect = self._escalate(
                convert(round_id, uint80),
                price,
                observed_at,
                status,
                last_price,
                last_mult,
                mult,
                held,
            )
    word: uint256 = (
        round_id
        | (price << SHIFT_ANSWER)
        | (observed_at << SHIFT_TIME)
        | (convert(status, uint256) << SHIFT_STATUS)
        | (convert(suspect, uint256) << SHIFT_SUSPECT)
        | (mult << SHIFT_MULT)
        | WARM
    )
    self._rounds[round_id % HISTORY] = word
    self._head = word
    log PricePushed(
        reporter=msg.sender,
        round_id=convert(round_id, uint80),
        answer=answer,
        observed_at=observed_at,
        status=status,
    )


@external
def clear_suspect():
    """
    @notice Accepts the latest (suspect) price as valid. RISK_ADMIN only.
    @dev The latest round's `round_state` then reports its own status; earlier rounds
         pushed while suspect stay constants.HALTED.
    """
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    head: uint256 = self._head
    assert (head >> SHIFT_SUSPECT) & 1 == 1, "oracle: not suspect"
    cleared: uint256 = head & ~(1 << SHIFT_SUSPECT)
    self._head = cleared
    # the latest round is the one accepted: its round word says so too
    self._rounds[(head & MASK_RID) % HISTORY] = cleared
    log FeedCleared(round_id=convert(head & MASK_RID, uint80), by=msg.sender, reason="admin")


@external
def set_escalation(prints: uint256, seconds: uint256):
    """
    @notice Sets the escalation bound (path b): a suspect price is usable after `prints`
            OPEN prints of it spanning `seconds`. RISK_ADMIN only.
    @param prints Within [2, 120].
    @param seconds Within [300, 14_400].
    """
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    assert (
        prints >= MIN_ESCALATION_PRINTS
        and prints <= MAX_ESCALATION_PRINTS
        and seconds >= MIN_ESCALATION_S
        and seconds <= MAX_ESCALATION_S
    ), "oracle: escalation bounds"
    log EscalationSet(
        old_prints=self.escalation_prints,
        new_prints=prints,
        old_seconds=self.escalation_seconds,
        new_seconds=seconds,
    )
    self.escalation_prints = prints
    self.escalation_seconds = seconds


@external
def set_max_jump_bps(new_bps: uint256):
    """
    @notice Sets the jump threshold. RISK_ADMIN only, within [100, 10_000] bps.
    @param new_bps The new threshold in bps of the last answer.
    """
    access_control._check_role(roles.RISK_ADMIN_ROLE, msg.sender)
    assert new_bps >= MIN_JUMP_BPS and new_bps <= MAX_JUMP_BPS, "oracle: jump bounds"
    log MaxJumpSet(old_bps=self.max_jump_bps, new_bps=new_bps)
    self.max_jump_bps = new_bps


@internal
def _escalate(
    round_id: uint80,
    price: uint256,
    observed_at: uint256,
    status: uint8,
    last_price: uint256,
    last_mult: uint256,
    mult: uint256,
    held: bool,
) -> bool:
    """
    @dev A push while suspect: returns whether the feed stays suspect. `mult` differs from
         `last_mult` when this push applied a split or a dividend (the stored references
         are then rescaled to its quote, x last_mult / mult, rounding down); `held` when a
         due one waits, which holds paths (a), (b).
    """
    info: uint256 = self._suspect_info
    anchor: uint256 = (info >> 160) * last_mult // mult
    jump_bps: uint256 = self.max_jump_bps
    # (a) a different reporter agrees with the latest (suspect) print
    if (
        not held
        and convert(info & constants.MASK160, address) != msg.sender
        and not self._is_jump(price, last_price * last_mult // mult, jump_bps)
    ):
        log FeedCleared(round_id=round_id, by=msg.sender, reason="confirmed")
        return False
    # (c) back near the last trusted price: the jump was a broken print
    if not self._is_jump(price, anchor, jump_bps):
        log FeedCleared(round_id=round_id, by=msg.sender, reason="reverted")
        return False
    # (b) the price persists: OPEN prints within `max_jump_bps` of the candidate
    streak: uint256 = self._streak
    candidate: uint256 = (streak & constants.MASK96) * last_mult // mult
    since: uint256 = (streak >> SHIFT_SINCE) & constants.MASK64
    prints: uint256 = (streak >> SHIFT_PRINTS) & 255
    if self._is_jump(price, candidate, jump_bps):
        candidate = price
        since = observed_at
        prints = 0
        log EscalationRestarted(
            round_id=round_id, reporter=msg.sender, answer=convert(price, int256)
        )
    streak = self._streak_word(candidate, since, prints, status)
    if (
        not held
        and (streak >> SHIFT_PRINTS) & 255 >= self.escalation_prints
        and observed_at - since >= self.escalation_seconds
        and candidate <= anchor * ESCALATION_MAX_FACTOR
        and anchor <= candidate * ESCALATION_MAX_FACTOR
    ):
        log FeedCleared(round_id=round_id, by=msg.sender, reason="persisted")
        return False
    # still unconfirmed: this reporter's print is now the one a second reporter confirms
    self._suspect_info = convert(msg.sender, uint256) | (anchor << 160)
    self._streak = streak
    return True


@internal
def _apply_actions(
    actions: uint256, head: uint256, observed_at: uint256, round_id: uint256
) -> (uint256, bool):
    """
    @dev The staged split and dividend at a push observed at `observed_at`: each due one
         applies if the last round was CLOSED (or there is none), else waits (`held`).
         Returns this push's multiplier (1e-12) and whether one waits.
    """
    last_mult: uint256 = self._mult(head)
    mult: uint256 = last_mult
    after_close: bool = head & MASK_RID == 0 or (head >> SHIFT_STATUS) & 255 == convert(
        constants.CLOSED, uint256
    )
    held: bool = False
    remaining: uint256 = actions
    ratio: uint256 = actions & 255
    if ratio != 0 and observed_at >= (actions >> SHIFT_SPLIT_TIME) & MASK_TIME:
        if after_close:
            mult *= ratio
            remaining &= ~SPLIT_FIELDS
            log SplitApplied(
                round_id=convert(round_id, uint80), ratio=ratio, multiplier_wad=mult * MULT_TO_WAD
            )
        else:
            held = True
    amount: uint256 = (actions >> SHIFT_DIV) & constants.MASK96
    if amount != 0 and observed_at >= (actions >> SHIFT_DIV_TIME) & MASK_TIME:
        if after_close:
            remaining &= SPLIT_FIELDS
            # the last (cum-dividend) close in this push's shares; rounds down
            cum: uint256 = ((head >> SHIFT_ANSWER) & constants.MASK96) * last_mult // mult
            if amount * 2 > cum or (
                amount * constants.BPS > cum * DIVIDEND_BOUND_BPS
                and (actions >> SHIFT_DIV_OK) & 1 == 0
            ):
                log DividendDropped(
                    round_id=convert(round_id, uint80), amount=amount, cum_price=cum
                )
            else:
                # total return: x cum / (cum - amount), rounding down (holders and longs
                # are paid less than 1e-12 of their value less, never more)
                mult = mult * cum // (cum - amount)
                log DividendApplied(
                    round_id=convert(round_id, uint80),
                    amount=amount,
                    cum_price=cum,
                    multiplier_wad=mult * MULT_TO_WAD,
                )
        else:
            held = True
    if remaining != actions:
        self._actions = remaining
    return mult, held


@internal
@pure
def _streak_word(candidate: uint256, since: uint256, prints: uint256, status: uint8) -> uint256:
    """
    @dev The streak word after a print: one more print if it is constants.OPEN (capped at
         255, above every bound).
    """
    n: uint256 = prints
    if status == constants.OPEN:
        n = min(n + 1, 255)
    return candidate | (since << SHIFT_SINCE) | (n << SHIFT_PRINTS) | WARM


@internal
@pure
def _mult(word: uint256) -> uint256:
    """
    @dev The shares multiplier (1e-12) a word is quoted under: words before any corporate
         action hold 0, read as 1.0 (the multiplier never falls below 1.0, so `max` is
         exact).
    """
    return max((word >> SHIFT_MULT) & MASK_MULT, MULT_ONE)


@internal
@pure
def _is_jump(price: uint256, reference: uint256, jump_bps: uint256) -> bool:
    """
    @dev True when |price - reference| > jump_bps of reference (exact, no rounding).
    """
    diff: uint256 = price - reference if price > reference else reference - price
    return diff * constants.BPS > reference * jump_bps


@internal
@view
def _round_word(round_id: uint80) -> uint256:
    """
    @dev The stored word of a past round; reverts when it is not (or no longer) stored.
    """
    rid: uint256 = convert(round_id, uint256)
    assert rid != 0 and rid <= self._head & MASK_RID, "oracle: no data"
    word: uint256 = self._rounds[rid % HISTORY]
    assert word & MASK_RID == rid, "oracle: round evicted"
    return word


@internal
@pure
def _unpack_round(word: uint256) -> (uint80, int256, uint256, uint256, uint80):
    """
    @dev A packed word as Chainlink's 5-tuple (startedAt == updatedAt == observed_at).
    """
    rid: uint80 = convert(word & MASK_RID, uint80)
    assert rid != 0, "oracle: no data"
    answer: int256 = convert((word >> SHIFT_ANSWER) & constants.MASK96, int256)
    t: uint256 = (word >> SHIFT_TIME) & MASK_TIME
    return rid, answer, t, t, rid
