"""Oracle keeper decisions (docs/spec.md §2 "Escalation", §9) — pure functions over plain data,
no chain, no clock.

Two roles, each with its own signing account and source (docs/design/oracle.md), in two
processes or in one (`roles_refusal` says which combinations of flags are coherent):
- the primary keeper (`decide`): pushes on deviation or heartbeat, and pushes a jump beyond the
  guard too — the chain stores it as suspect (HALTED to consumers) and it becomes usable when a
  second reporter confirms it or when the primary keeps printing it through the escalation
  bound (N prints over T seconds). It never refuses a real gap: it keeps printing.
- the confirming keeper (`decide_confirm`): reads an independent source with its own reporter
  account and pushes only while the feed is suspect — a print that confirms the suspect price
  (path a), or one that returns the feed to its anchor (a broken primary).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from synthequity.constants import BPS, ORACLE_DECIMALS, MarketStatus
from synthequity.corporate_actions import Dividend
from synthequity.model.oracle import MIN_DIVIDEND_NOTICE_S, FeedModel, is_jump


@dataclass(frozen=True)
class FeedState:
    """What `EquityOracle` holds now."""

    round_id: int
    answer: int
    updated_at: int
    status: MarketStatus  # as reported (`reported_status`), not folded with suspect
    suspect: bool
    max_jump_bps: int
    anchor: int | None = None  # while suspect: the last trusted answer (`escalation()[0]`)

    @staticmethod
    def of_model(model: FeedModel) -> FeedState | None:
        """What the oracle's reference model holds, as the keeper reads it from the chain
        (None before the first round): the keeper's decisions driven against the model."""
        r = model.latest
        if r is None:
            return None
        anchor = model.escalation()[0] if model.suspect else None
        return FeedState(
            r.round_id, r.answer, r.observed_at, r.status, model.suspect, model.max_jump_bps, anchor
        )


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
    # the confirming keeper vouches for a suspect price only this close to it (the chain
    # accepts up to `max_jump_bps`; two sources minutes apart at a gapped open differ by %)
    confirm_tolerance_bps: int = 500
    # the first round of a new feed, or a push after an outage, must lie in [lo, hi] (feed
    # units; None: no band): a misread exponent would otherwise land 10^k off unopposed
    expect: tuple[int, int] | None = None
    # an outage: the chain's last round is older than this (longer than any scheduled NYSE
    # closure: a four-day weekend is 89.5 h)
    outage_s: int = 96 * 3_600


class Action(StrEnum):
    PUSH = "push"
    SKIP = "skip"
    # a price no chain may hold (<= 0), or a first push outside the operator's band: logged
    # loudly, counted, never pushed; needs an operator
    REFUSE = "refuse"


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


def _checked(
    obs: Observation, feed: FeedState | None, chain_now: int, policy: PushPolicy
) -> tuple[Observation, Decision | None]:
    """The checks both roles share: (the observation clamped to the chain's clock, or the
    decision that ends the tick)."""
    if obs.answer <= 0:
        return obs, Decision(Action.REFUSE, "non-positive price")
    if obs.observed_at > chain_now:
        obs = replace(obs, observed_at=chain_now)
    if feed is not None and obs.observed_at <= feed.updated_at:
        return obs, Decision(Action.SKIP, "not newer than chain")
    if obs.status is MarketStatus.OPEN and chain_now - obs.observed_at > policy.max_source_age_s:
        return obs, Decision(Action.SKIP, "source stale")
    if (refused := outside_band(obs, feed, chain_now, policy)) is not None:
        return obs, refused
    return obs, None


def outside_band(
    obs: Observation, feed: FeedState | None, chain_now: int, policy: PushPolicy
) -> Decision | None:
    """The first push bound: the first round of a feed, or the first after an outage (the
    chain's last round older than `policy.outage_s`), must lie within `policy.expect`, else it
    is refused (never pushed: an operator checks the source's exponent, feed id and band)."""
    if policy.expect is None:
        return None
    if feed is None:
        when = "first round"
    elif chain_now - feed.updated_at > policy.outage_s:
        when = f"first round after {(chain_now - feed.updated_at) / 3_600:.0f} h without one"
    else:
        return None
    lo, hi = policy.expect
    if lo <= obs.answer <= hi:
        return None
    return Decision(
        Action.REFUSE,
        f"{when}: {_usd(obs.answer)} outside the expected band [{_usd(lo)}, {_usd(hi)}] "
        "(--expect): check the source's feed id and exponent",
    )


def _usd(units: int) -> str:
    return format(units / 10**ORACLE_DECIMALS, ".10g")


def parse_band(spec: str) -> tuple[int, int]:
    """`"150:400"` (USD) -> (lo, hi) in feed units."""
    lo_s, sep, hi_s = spec.partition(":")
    try:
        lo, hi = to_feed_units(Decimal(lo_s)), to_feed_units(Decimal(hi_s))
    except ArithmeticError:
        lo = hi = 0
    if not sep or not 0 < lo < hi:
        raise ValueError(f"band {spec!r}: expected LO:HI in USD with 0 < LO < HI, e.g. 150:400")
    return lo, hi


def roles_refusal(
    source: str | None,
    confirm_source: str | None,
    account: str | None,
    confirm_account: str | None,
) -> str | None:
    """Why a keeper process's roles do not hold together (None: they do). `account` and
    `confirm_account` are the addresses of `--account` and `--confirm-account`.

    - `--source`: the primary, signing with `--account`;
    - `--confirm-source`: the confirming keeper, signing with `--account` (a second process);
    - both: one process, both roles; the confirmations are signed by `--confirm-account`,
      which must be another reporter — the oracle's path (a) counts only a *different*
      reporter's print (the same reporter's would only count toward persistence, path b).
    """
    if not source and not confirm_source:
        return (
            "give --source (the primary), --confirm-source (the confirming keeper), or both "
            "with --confirm-account (one process, two reporter accounts)"
        )
    if source and confirm_source:
        if not confirm_account:
            return (
                "--source with --confirm-source runs both roles in one process: give the "
                "confirming reporter's account, --confirm-account (the oracle's path (a) "
                "needs a second reporter), or run the confirming keeper as its own process"
            )
        if account is not None and confirm_account.lower() == account.lower():
            return (
                "--confirm-account is the same account as --account: the oracle counts a "
                "confirmation only from a different reporter (path a); the same account's print "
                "would only count toward persistence (path b). Give a second REPORTER account"
            )
        return None
    if confirm_account:
        return (
            "--confirm-account signs the confirmations of one process running both roles: "
            "give it with --source and --confirm-source (a confirming keeper on its own "
            "signs with --account)"
        )
    return None


def decide(
    obs: Observation,
    feed: FeedState | None,
    chain_now: int,
    policy: PushPolicy,
) -> Decision:
    """The primary keeper: what to do with `obs`.

    `chain_now` is the timestamp the push would land at. An observation timestamped after it
    (a source clock ahead of the chain) is pushed as observed at `chain_now`: later than the
    truth would be rejected by the contract, earlier only makes the price look older.
    A jump beyond the on-chain guard is pushed like any print (the chain marks it suspect);
    while suspect the usual cadence goes on, so that persistence (path b) can complete.
    """
    obs, done = _checked(obs, feed, chain_now, policy)
    if done is not None:
        return done
    if feed is None:
        return Decision(Action.PUSH, "first round", obs)

    prefix = "suspect, " if feed.suspect else ""
    if not feed.suspect and is_jump(obs.answer, feed.answer, feed.max_jump_bps):
        return Decision(
            Action.PUSH,
            f"jump of {moved_bps(obs.answer, feed.answer):.0f} bps beyond the guard "
            f"({feed.max_jump_bps} bps): pushed as suspect",
            obs,
        )
    if obs.status != feed.status:
        return Decision(Action.PUSH, f"{prefix}status {feed.status.name} -> {obs.status.name}", obs)

    age = obs.observed_at - feed.updated_at
    if obs.status is MarketStatus.OPEN:
        if moved_bps(obs.answer, feed.answer) >= policy.deviation_bps:
            return Decision(Action.PUSH, f"{prefix}deviation", obs)
        if age >= policy.heartbeat_open_s:
            return Decision(Action.PUSH, f"{prefix}heartbeat", obs)
        return Decision(Action.SKIP, "fresh")
    if policy.heartbeat_closed_s and age >= policy.heartbeat_closed_s:
        return Decision(Action.PUSH, f"{prefix}heartbeat (closed)", obs)
    return Decision(Action.SKIP, "unchanged")


def decide_confirm(
    obs: Observation,
    feed: FeedState | None,
    chain_now: int,
    policy: PushPolicy,
    last_pushed_at: int | None = None,
) -> Decision:
    """The confirming keeper (its own source, its own reporter account): push only while the
    feed is suspect, and only a print that ends the episode — within `confirm_tolerance_bps`
    of the suspect price (the chain's path a: a different reporter agrees), or within the
    guard of the anchor (the primary's source broke; the print reverts it). At most one push
    per `heartbeat_open_s` (`last_pushed_at`: this keeper's last push, chain time)."""
    if feed is None or not feed.suspect:
        return Decision(Action.SKIP, "feed not suspect")
    obs, done = _checked(obs, feed, chain_now, policy)
    if done is not None:
        return done
    if last_pushed_at is not None and chain_now - last_pushed_at < policy.heartbeat_open_s:
        return Decision(Action.SKIP, "confirmed recently")
    if not is_jump(obs.answer, feed.answer, policy.confirm_tolerance_bps):
        return Decision(Action.PUSH, "confirm suspect price", obs)
    if feed.anchor is not None and not is_jump(obs.answer, feed.anchor, feed.max_jump_bps):
        return Decision(Action.PUSH, "revert suspect price to its anchor", obs)
    return Decision(
        Action.SKIP, "second source agrees with neither the suspect price nor the anchor"
    )


class DividendStep(StrEnum):
    """What the oracle keeper does about the next scheduled dividend."""

    STAGE = "stage"  # stage it now (a reporter may: at least a day ahead)
    STAGED = "staged"  # the chain has it
    CONFLICT = "conflict"  # the chain has another one staged: the admin decides
    LATE = "late"  # inside the notice a reporter must give: only the admin can stage it


# a reporter stages a dividend at least MIN_DIVIDEND_NOTICE_S ahead; the keeper keeps a margin
# for the transaction to land
DIVIDEND_STAGING_MARGIN_S = 600


def next_dividend_step(
    schedule: tuple[Dividend, ...], staged: tuple[int, int, bool], now: int
) -> tuple[DividendStep, Dividend] | None:
    """The next scheduled dividend whose ex-date has not begun at chain time `now`, and what to
    do about it given the chain's `staged_dividend()` (amount in feed units, activation,
    confirmed); None when the schedule holds nothing ahead, or while a staged dividend is due
    (its ex-date began; the oracle applies it with the session's first print: no conflict)."""
    amount, activation, _ = staged
    if amount and activation <= now:
        return None  # the last one is due: the session's first print applies it, then the next
    ahead = [d for d in schedule if d.activation > now]
    if not ahead:
        return None
    div = min(ahead, key=lambda d: d.activation)
    if (amount, activation) == (to_feed_units(div.amount), div.activation):
        return DividendStep.STAGED, div
    if amount:
        return DividendStep.CONFLICT, div
    if div.activation < now + MIN_DIVIDEND_NOTICE_S + DIVIDEND_STAGING_MARGIN_S:
        return DividendStep.LATE, div
    return DividendStep.STAGE, div
