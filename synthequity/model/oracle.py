"""Reference model of `EquityOracle` (docs/spec.md §2, §6): round history, push validation, the
jump guard and its escalation path, staged splits.

Written from the spec, not from the contract, so that the property and stateful tests compare
two independent implementations.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from synthequity.constants import BPS, ORACLE_HISTORY, MarketStatus

MAX_ANSWER = 2**96 - 1


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
    multiplier: int = 1  # shares per base share this answer is quoted under
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
    multiplier: int = 1

    @property
    def latest(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None

    def copy(self) -> FeedModel:
        """An independent copy (to probe a push without applying it)."""
        return replace(
            self,
            rounds=list(self.rounds),
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
        return (MarketStatus.HALTED if r.suspect else r.status), r.multiplier

    def escalation(self) -> tuple[int, int, int, int]:
        if not self.suspect:
            return 0, 0, 0, 0
        assert self.anchor is not None and self.streak is not None
        return self.anchor, self.streak.candidate, self.streak.since, self.streak.prints

    def stage_split(self, ratio: int, activation: int, now: int) -> None:
        if not 2 <= ratio <= 100:
            raise PushRejected("oracle: split ratio bounds")
        if not now < activation <= 2**64 - 1:
            raise PushRejected("oracle: activation bounds")
        if self.split is not None:
            raise PushRejected("oracle: split already staged")
        if self.multiplier * ratio > 2**22 - 1:
            raise PushRejected("oracle: multiplier too large")
        self.split = (ratio, activation)

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

        # A due split applies with the first push after a CLOSED round (or the first push).
        ratio = 1
        split_due = self.split is not None and observed_at >= self.split[1]
        if split_due and (last is None or last.status is MarketStatus.CLOSED):
            assert self.split is not None
            ratio = self.split[0]
            self.multiplier *= ratio
            self.split, split_due = None, False

        event = None
        if last is not None:
            if not self.suspect:
                if is_jump(answer * ratio, last.answer, self.max_jump_bps):
                    self.suspect, self.suspect_reporter = True, reporter
                    self.anchor = last.answer // ratio
                    self.streak = Streak(answer, observed_at, 0)
                    self.streak.add(status)
                    event = "suspect"
            else:
                event = self._escalate(
                    reporter, answer, observed_at, status, last, ratio, split_due
                )
        self.rounds.append(
            Round(
                len(self.rounds) + 1,
                answer,
                observed_at,
                MarketStatus(status),
                self.multiplier,
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
        ratio: int,
        split_due: bool,
    ) -> str:
        assert self.anchor is not None and self.streak is not None
        anchor = self.anchor // ratio
        if (
            not split_due
            and reporter != self.suspect_reporter
            and not is_jump(answer, last.answer // ratio, self.max_jump_bps)
        ):
            self.suspect = False
            return "confirmed"
        if not is_jump(answer, anchor, self.max_jump_bps):
            self.suspect = False
            return "reverted"
        streak = Streak(self.streak.candidate // ratio, self.streak.since, self.streak.prints)
        event = "still"
        if is_jump(answer, streak.candidate, self.max_jump_bps):
            streak, event = Streak(answer, observed_at, 0), "restarted"
        streak.add(status)
        if (
            not split_due
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
