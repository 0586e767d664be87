"""Oracle keeper decisions (docs/spec.md §9) — pure functions over plain data, no chain, no clock.

`decide` answers one question per tick: given what the source says, what the chain holds and
the push policy, do we push, skip, or refuse (loudly)?
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from synthequity.constants import BPS, ORACLE_DECIMALS, MarketStatus
from synthequity.model.oracle import is_jump


@dataclass(frozen=True)
class FeedState:
    """What `EquityOracle` holds now."""

    round_id: int
    answer: int
    updated_at: int
    status: MarketStatus  # as reported (`reported_status`), not folded with suspect
    suspect: bool
    max_jump_bps: int


@dataclass(frozen=True)
class Observation:
    """A price ready for the chain: `answer` in feed units (8 decimals)."""

    answer: int
    observed_at: int
    status: MarketStatus


@dataclass(frozen=True)
class PushPolicy:
    deviation_bps: int = 50  # push when the price moved at least 0.5% ...
    heartbeat_open_s: int = 60  # ... or this long passed while OPEN
    heartbeat_closed_s: int = 0  # 0: no heartbeat while CLOSED/HALTED (status changes only)
    max_source_age_s: int = 120  # an OPEN quote older than this is not worth pushing
    confirm_tolerance_bps: int = 100  # second source must agree this closely on a jump


class Action(StrEnum):
    PUSH = "push"
    SKIP = "skip"
    REFUSE = "refuse"  # a push the policy forbids: logged loudly, needs an operator


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    observation: Observation | None = None


def to_feed_units(price: Decimal, decimals: int = ORACLE_DECIMALS) -> int:
    """USD price -> integer feed units (round half to even)."""
    return int((price * (Decimal(10) ** decimals)).quantize(Decimal(1), ROUND_HALF_EVEN))


def moved_bps(new: int, old: int) -> Decimal:
    return Decimal(abs(new - old) * BPS) / Decimal(old)


def decide(
    obs: Observation,
    feed: FeedState | None,
    chain_now: int,
    policy: PushPolicy,
    confirmation: Observation | None = None,
) -> Decision:
    """What to do with `obs`.

    `chain_now` is the timestamp the push would land at. An observation timestamped after it
    (a source clock ahead of the chain) is pushed as observed at `chain_now`: later than the
    truth would be rejected by the contract, earlier only makes the price look older.
    """
    if obs.answer <= 0:
        return Decision(Action.REFUSE, "non-positive price")
    if obs.observed_at > chain_now:
        obs = replace(obs, observed_at=chain_now)
    if feed is not None and obs.observed_at <= feed.updated_at:
        return Decision(Action.SKIP, "not newer than chain")
    if obs.status is MarketStatus.OPEN and chain_now - obs.observed_at > policy.max_source_age_s:
        return Decision(Action.SKIP, "source stale")
    if feed is None:
        return Decision(Action.PUSH, "first round", obs)

    if feed.suspect:
        # Our independent print either confirms the jump or returns the feed to its anchor;
        # the contract decides which.
        return Decision(Action.PUSH, "resolve suspect feed", obs)
    if is_jump(obs.answer, feed.answer, feed.max_jump_bps):
        if confirmation is not None and not is_jump(
            confirmation.answer, obs.answer, policy.confirm_tolerance_bps
        ):
            return Decision(Action.PUSH, "jump confirmed by second source", obs)
        return Decision(
            Action.REFUSE,
            f"jump of {moved_bps(obs.answer, feed.answer):.0f} bps beyond the guard "
            f"({feed.max_jump_bps} bps) and no second source agrees",
        )
    if obs.status != feed.status:
        return Decision(Action.PUSH, f"status {feed.status.name} -> {obs.status.name}", obs)

    age = obs.observed_at - feed.updated_at
    if obs.status is MarketStatus.OPEN:
        if moved_bps(obs.answer, feed.answer) >= policy.deviation_bps:
            return Decision(Action.PUSH, "deviation", obs)
        if age >= policy.heartbeat_open_s:
            return Decision(Action.PUSH, "heartbeat", obs)
        return Decision(Action.SKIP, "fresh")
    if policy.heartbeat_closed_s and age >= policy.heartbeat_closed_s:
        return Decision(Action.PUSH, "heartbeat (closed)", obs)
    return Decision(Action.SKIP, "unchanged")
