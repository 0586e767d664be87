"""Reference model of `EquityOracle` (docs/spec.md §2, §6): round history, push validation, the
jump guard and its escalation path, staged splits and dividends (a total-return multiplier,
docs/design/corporate-actions.md).

Written from the spec, not from the contract, so that the property and stateful tests compare
two independent implementations.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from synthequity.constants import BPS, ORACLE_HISTORY, WAD, MarketStatus

MAX_ANSWER = 2**96 - 1
MAX_TIME = 2**40 - 1
# The shares multiplier is kept in 1e-12 (62 bits) and read in 1e-18.
MULT_ONE = 10**12
MULT_TO_WAD = 10**6
MAX_MULT = 2**62 - 1
# A dividend above this share of the last close is special (the admin confirms it); a
# reporter stages one at least a day before its ex-date.
DIVIDEND_BOUND_BPS = 1_000
MIN_DIVIDEND_NOTICE_S = 86_400


def quote_to_base_wad(answer: int, decimals: int, multiplier_wad: int) -> int:
    """One *base* share's price in 1e18 USD from a feed's quote and its shares multiplier
    (1e18), rounding down as `oracle_guard` does."""
    return int(answer * multiplier_wad // 10**decimals)


def dividend_factor_e12(mult_e12: int, cum: int, amount: int) -> int:
    """The multiplier after a dividend of `amount` per share on a close of `cum` (same
    units): x cum / (cum - amount), rounded down."""
    return mult_e12 * cum // (cum - amount)


class PushRejected(Exception):
    """The push would revert; `reason` is the contract's revert string."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Round:
    round_id: int
    answer: int
    observed_at: int
    status: MarketStatus
    multiplier_wad: int = WAD  # shares per base share this answer is quoted under
    suspect: bool = False  # the feed was suspect once this round was pushed


# Escalation path (b) (docs/spec.md §2): bounds, defaults, and the factor of the anchor
# beyond which only a second reporter or the admin can end a suspect episode.
ESCALATION_PRINTS_BOUNDS = (2, 120)
ESCALATION_SECONDS_BOUNDS = (300, 14_400)
DEFAULT_ESCALATION_PRINTS = 10
DEFAULT_ESCALATION_SECONDS = 3_600
ESCALATION_MAX_FACTOR = 4


def is_jump(price: int, reference: int, max_jump_bps: int) -> bool:
    """True when |price - reference| is strictly more than `max_jump_bps` of `reference`."""
    return abs(price - reference) * BPS > reference * max_jump_bps


def within_factor(price: int, anchor: int, factor: int = ESCALATION_MAX_FACTOR) -> bool:
    """`price` within [anchor / factor, anchor x factor] (exact)."""
    return price <= anchor * factor and anchor <= price * factor


@dataclass
class Streak:
    """Path (b): the price being persisted, its first print's time, its OPEN prints."""

    candidate: int
    since: int
    prints: int

    def add(self, status: int) -> None:
        if status == MarketStatus.OPEN:
            self.prints = min(self.prints + 1, 255)


@dataclass
class FeedModel:
    max_jump_bps: int = 2_500
    history: int = ORACLE_HISTORY
    rounds: list[Round] = field(default_factory=list)
    suspect: bool = False
    suspect_reporter: str | None = None
    anchor: int | None = None
    escalation_prints: int = DEFAULT_ESCALATION_PRINTS
    escalation_seconds: int = DEFAULT_ESCALATION_SECONDS
    streak: Streak | None = None
    split: tuple[int, int] | None = None  # staged (ratio, activation)
    dividend: tuple[int, int, bool] | None = None  # staged (amount, activation, confirmed)
    multiplier_e12: int = MULT_ONE
    # what corporate actions did, in order: ("split", round, ratio), ("dividend", round,
    # amount, cum), ("dropped", round, amount, cum)
    actions_log: list[tuple[object, ...]] = field(default_factory=list)

    @property
    def multiplier_wad(self) -> int:
        return self.multiplier_e12 * MULT_TO_WAD

    @property
    def latest(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None

    def copy(self) -> FeedModel:
        """An independent copy (to probe a push without applying it)."""
        return replace(
            self,
            rounds=list(self.rounds),
            actions_log=list(self.actions_log),
            streak=replace(self.streak) if self.streak else None,
        )

    def market_status(self) -> MarketStatus:
        if not self.rounds:
            return MarketStatus.UNKNOWN
        return MarketStatus.HALTED if self.suspect else self.rounds[-1].status

    def round(self, round_id: int) -> Round:
        """Chainlink `getRoundData`: raises PushRejected with the contract's revert reason."""
        if round_id == 0 or round_id > len(self.rounds):
            raise PushRejected("oracle: no data")
        if round_id <= len(self.rounds) - self.history:
            raise PushRejected("oracle: round evicted")
        return self.rounds[round_id - 1]

    def round_state(self, round_id: int) -> tuple[MarketStatus, int]:
        """The status to act on for a past round (HALTED if pushed while suspect) and its
        multiplier."""
        r = self.round(round_id)
        return (MarketStatus.HALTED if r.suspect else r.status), r.multiplier_wad

    def escalation(self) -> tuple[int, int, int, int]:
        if not self.suspect:
            return 0, 0, 0, 0
        assert self.anchor is not None and self.streak is not None
        return self.anchor, self.streak.candidate, self.streak.since, self.streak.prints

    def stage_split(self, ratio: int, activation: int, now: int) -> None:
        if not 2 <= ratio <= 100:
            raise PushRejected("oracle: split ratio bounds")
        if not now < activation <= MAX_TIME:
            raise PushRejected("oracle: activation bounds")
        if self.split is not None:
            raise PushRejected("oracle: split already staged")
        growth = ratio * (2 if self.dividend is not None else 1)
        if self.multiplier_e12 * growth > MAX_MULT:
            raise PushRejected("oracle: multiplier too large")
        self.split = (ratio, activation)

    def stage_dividend(
        self, amount: int, activation: int, now: int, *, admin: bool, reporter: bool
    ) -> bool:
        """Stage a dividend; returns whether it is special (above the bound of the last
        price). Raises PushRejected with the contract's reason."""
        if not (admin or reporter):
            raise PushRejected("oracle: not reporter")
        if not self.rounds:
            raise PushRejected("oracle: no data")
        last = self.rounds[-1].answer
        if amount <= 0 or amount * 2 > last:
            raise PushRejected("oracle: dividend bounds")
        notice = 1 if admin else MIN_DIVIDEND_NOTICE_S
        if not (activation >= now + notice and activation <= MAX_TIME):
            raise PushRejected("oracle: activation bounds")
        if self.dividend is not None:
            raise PushRejected("oracle: dividend already staged")
        if self.multiplier_e12 * 2 * (self.split[0] if self.split else 1) > MAX_MULT:
            raise PushRejected("oracle: multiplier too large")
        self.dividend = (amount, activation, admin)
        return amount * BPS > last * DIVIDEND_BOUND_BPS

    def confirm_dividend(self) -> None:
        if self.dividend is None:
            raise PushRejected("oracle: no dividend staged")
        self.dividend = (self.dividend[0], self.dividend[1], True)

    def cancel_dividend(self) -> None:
        if self.dividend is None:
            raise PushRejected("oracle: no dividend staged")
        self.dividend = None

    def cancel_split(self) -> None:
        if self.split is None:
            raise PushRejected("oracle: no split staged")
        self.split = None

    def set_escalation(self, prints: int, seconds: int) -> None:
        lo_n, hi_n = ESCALATION_PRINTS_BOUNDS
        lo_t, hi_t = ESCALATION_SECONDS_BOUNDS
        if not (lo_n <= prints <= hi_n and lo_t <= seconds <= hi_t):
            raise PushRejected("oracle: escalation bounds")
        self.escalation_prints, self.escalation_seconds = prints, seconds

    def push(
        self,
        reporter: str,
        answer: int,
        observed_at: int,
        status: int,
        now: int,
        is_reporter: bool = True,
    ) -> str | None:
        """Apply a push. Returns the suspect transition ("suspect", "confirmed", "persisted",
        "reverted", "restarted") or None; raises PushRejected with the revert reason when the
        contract reverts. A staged split never does (docs/spec.md §6)."""
        if not is_reporter:
            raise PushRejected("oracle: not reporter")
        if answer <= 0:
            raise PushRejected("oracle: answer <= 0")
        if answer > MAX_ANSWER:
            raise PushRejected("oracle: answer too large")
        if observed_at > now:
            raise PushRejected("oracle: future timestamp")
        if not 0 <= status <= MarketStatus.HALTED:
            raise PushRejected("oracle: bad status")
        last = self.latest
        if observed_at <= (last.observed_at if last else 0):
            raise PushRejected("oracle: not newer")

        # Due corporate actions apply with the first push after a CLOSED round (or the
        # first push); otherwise they wait (`held`), and so do escalation paths (a), (b).
        rid = len(self.rounds) + 1
        last_mult = mult = self.multiplier_e12
        after_close = last is None or last.status is MarketStatus.CLOSED
        held = False
        if self.split is not None and observed_at >= self.split[1]:
            if after_close:
                mult *= self.split[0]
                self.actions_log.append(("split", rid, self.split[0]))
                self.split = None
            else:
                held = True
        if self.dividend is not None and observed_at >= self.dividend[1]:
            if after_close:
                amount, _, confirmed = self.dividend
                self.dividend = None
                cum = last.answer * last_mult // mult if last is not None else 0
                special = amount * BPS > cum * DIVIDEND_BOUND_BPS
                if amount * 2 > cum or (special and not confirmed):
                    self.actions_log.append(("dropped", rid, amount, cum))
                else:
                    mult = dividend_factor_e12(mult, cum, amount)
                    self.actions_log.append(("dividend", rid, amount, cum))
            else:
                held = True
        self.multiplier_e12 = mult

        event = None
        if last is not None:
            if not self.suspect:
                # per base share: across a split or an ex-date there is no false jump
                if is_jump(answer * mult, last.answer * last_mult, self.max_jump_bps):
                    self.suspect, self.suspect_reporter = True, reporter
                    self.anchor = last.answer * last_mult // mult
                    self.streak = Streak(answer, observed_at, 0)
                    self.streak.add(status)
                    event = "suspect"
            else:
                event = self._escalate(
                    reporter, answer, observed_at, status, last, (last_mult, mult), held
                )
        self.rounds.append(
            Round(
                len(self.rounds) + 1,
                answer,
                observed_at,
                MarketStatus(status),
                self.multiplier_wad,
                self.suspect,
            )
        )
        return event

    def _escalate(
        self,
        reporter: str,
        answer: int,
        observed_at: int,
        status: int,
        last: Round,
        mults: tuple[int, int],
        held: bool,
    ) -> str:
        assert self.anchor is not None and self.streak is not None
        last_mult, mult = mults

        def rescale(x: int) -> int:  # a quote under the last multiplier, in this push's
            return x * last_mult // mult

        anchor = rescale(self.anchor)
        if (
            not held
            and reporter != self.suspect_reporter
            and not is_jump(answer, rescale(last.answer), self.max_jump_bps)
        ):
            self.suspect = False
            return "confirmed"
        if not is_jump(answer, anchor, self.max_jump_bps):
            self.suspect = False
            return "reverted"
        streak = Streak(rescale(self.streak.candidate), self.streak.since, self.streak.prints)
        event = "still"
        if is_jump(answer, streak.candidate, self.max_jump_bps):
            streak, event = Streak(answer, observed_at, 0), "restarted"
        streak.add(status)
        if (
            not held
            and streak.prints >= self.escalation_prints
            and observed_at - streak.since >= self.escalation_seconds
            and within_factor(streak.candidate, anchor)
        ):
            self.suspect = False
            return "persisted"
        self.anchor, self.streak, self.suspect_reporter = anchor, streak, reporter
        return event

    def clear(self) -> None:
        if not self.suspect:
            raise PushRejected("oracle: not suspect")
        self.suspect = False
        last = self.rounds[-1]
        self.rounds[-1] = replace(last, suspect=False)


def dividend_per_base_share_wad(amount: int, decimals: int, multiplier_before_wad: int) -> int:
    """What a dividend of `amount` per share (feed decimals) paid one base share, in 1e18 USD,
    at the ex-date's reference price: the base share is worth the close there, `amount x
    multiplier_before` more than it would be without the dividend (rounded down)."""
    return quote_to_base_wad(amount, decimals, multiplier_before_wad)


def dividends_received_wad(
    paid: list[tuple[int, int, int]], per_share_wad: list[int]
) -> tuple[int, int]:
    """Over ex-dates, (received, paid) in 1e18 USD for an account that held, at each, the
    `(synth, debt, perp size)` (1e18 base shares) in `paid` and was paid `per_share_wad`
    per base share: synth and a long receive, debt and a short pay (each rounded down)."""
    received = charged = 0
    for (synth, debt, size), per in zip(paid, per_share_wad, strict=True):
        received += (synth + max(size, 0)) * per // 10**18
        charged += (debt + max(-size, 0)) * per // 10**18
    return received, charged
