"""Reference model of `EquityOracle` (SPEC.md §2): round history, push validation, jump guard.

Written from the spec, not from the contract, so that the property and stateful tests compare
two independent implementations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


def is_jump(price: int, reference: int, max_jump_bps: int) -> bool:
    """True when |price - reference| is strictly more than `max_jump_bps` of `reference`."""
    return abs(price - reference) * BPS > reference * max_jump_bps


@dataclass
class FeedModel:
    max_jump_bps: int = 2_500
    history: int = ORACLE_HISTORY
    rounds: list[Round] = field(default_factory=list)
    suspect: bool = False
    suspect_reporter: str | None = None
    anchor: int | None = None

    @property
    def latest(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None

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

    def push(
        self,
        reporter: str,
        answer: int,
        observed_at: int,
        status: int,
        now: int,
        is_reporter: bool = True,
    ) -> str | None:
        """Apply a push. Returns the suspect transition ("suspect", "confirmed", "reverted")
        or None; raises PushRejected with the revert reason when the contract reverts."""
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

        event = None
        if last is not None:
            if not self.suspect:
                if is_jump(answer, last.answer, self.max_jump_bps):
                    self.suspect, self.suspect_reporter, self.anchor = True, reporter, last.answer
                    event = "suspect"
            else:
                assert self.anchor is not None
                if reporter != self.suspect_reporter and not is_jump(
                    answer, last.answer, self.max_jump_bps
                ):
                    self.suspect, event = False, "confirmed"
                elif not is_jump(answer, self.anchor, self.max_jump_bps):
                    self.suspect, event = False, "reverted"
                else:
                    self.suspect_reporter = reporter
        self.rounds.append(Round(len(self.rounds) + 1, answer, observed_at, MarketStatus(status)))
        return event

    def clear(self) -> None:
        if not self.suspect:
            raise PushRejected("oracle: not suspect")
        self.suspect = False
