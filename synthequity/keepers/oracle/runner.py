"""The oracle keeper's thin I/O shell: read the feed, ask `logic.decide` (the primary) or
`logic.decide_confirm` (the confirming keeper: its own source and reporter account, pushing
only while the feed is suspect), push, log. `run_keepers` ticks one or both roles on one
schedule (one process, two reporter accounts: `--source` with `--confirm-source`).

Two ways to drive time:
- live: tick every `poll_interval_s` of wall time; the chain's clock is the real one;
- replay (local chains only): ticks follow a virtual clock through the exchange calendar
  (`replay_schedule`), and before each push the chain's next block is set to the virtual
  time (`warp`), so that a week of 2022 replays in seconds with every staleness check
  behaving as it would have.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from synthequity.constants import MarketStatus
from synthequity.corporate_actions import Dividend, Split, dividends_between, ratio_between
from synthequity.keepers.common import Metrics, StopFlag, with_retries
from synthequity.keepers.oracle.logic import (
    Action,
    Decision,
    DividendStep,
    FeedState,
    Observation,
    PushPolicy,
    decide,
    decide_confirm,
    next_dividend_step,
    to_feed_units,
)
from synthequity.keepers.oracle.sources import (
    CorporateAction,
    FeedSplit,
    PriceSource,
    Quote,
    SourceError,
    SourceRateLimited,
    SourceUnauthorized,
)
from synthequity.logs import event
from synthequity.market_hours import MarketCalendar

log = logging.getLogger("synthequity.keeper.oracle")
MAX_QUOTE_USD = Decimal(10**12)  # far above any share price, far below int192 feed units


class FeedIO(Protocol):
    """What the keeper needs from a chain."""

    def read(self) -> FeedState | None: ...
    def next_block_time(self) -> int: ...
    def warp_to(self, ts: int) -> None: ...
    def push(self, obs: Observation) -> Any: ...
    def reconnect(self) -> None: ...


@runtime_checkable
class DividendStaging(Protocol):
    """What the keeper needs to stage its dividend schedule (a REPORTER may, a day ahead)."""

    def staged_dividend(self) -> tuple[int, int, bool]: ...
    def stage_dividend(self, amount: int, activation: int) -> Any: ...


@runtime_checkable
class SplitStaging(Protocol):
    """What the keeper needs to stage a split a feed announces (docs/runbooks/splits.md)."""

    def staged_split(self) -> tuple[int, int]: ...
    def can_stage_splits(self) -> bool: ...
    def stage_split(self, ratio: int, activation: int) -> Any: ...


def read_feed_state(oracle: Any) -> FeedState | None:
    """The feed as the keeper's logic sees it, from any oracle handle (Ape's, or the
    simulation's in-process one); None before the first round (latestRoundData would revert
    "oracle: no data")."""
    if oracle.latestRound() == 0:
        return None
    rid, answer, _, updated_at, _ = oracle.latestRoundData()
    suspect = bool(oracle.suspect())
    return FeedState(
        round_id=rid,
        answer=answer,
        updated_at=updated_at,
        status=MarketStatus(oracle.reported_status()),
        suspect=suspect,
        max_jump_bps=oracle.max_jump_bps(),
        anchor=oracle.escalation()[0] if suspect else None,
    )


class ApeFeedIO:
    """`FeedIO` over an Ape contract instance and a signing account."""

    def __init__(self, oracle: Any, account: Any):
        from ape import chain

        self.oracle = oracle
        self.account = account
        self.chain = chain

    def read(self) -> FeedState | None:
        return read_feed_state(self.oracle)

    def next_block_time(self) -> int:
        return int(self.chain.pending_timestamp)

    def warp_to(self, ts: int) -> None:
        head = self.chain.blocks.head.timestamp
        if ts > head:
            self.chain.pending_timestamp = ts

    def push(self, obs: Observation) -> Any:
        return self.oracle.push_price(
            obs.answer, obs.observed_at, int(obs.status), sender=self.account
        )

    def staged_split(self) -> tuple[int, int]:
        ratio, activation = self.oracle.staged_split()
        return int(ratio), int(activation)

    def can_stage_splits(self) -> bool:
        return bool(self.oracle.hasRole(self.oracle.DEFAULT_ADMIN_ROLE(), self.account))

    def stage_split(self, ratio: int, activation: int) -> Any:
        return self.oracle.stage_split(ratio, activation, sender=self.account)

    def staged_dividend(self) -> tuple[int, int, bool]:
        amount, activation, confirmed = self.oracle.staged_dividend()
        return int(amount), int(activation), bool(confirmed)

    def stage_dividend(self, amount: int, activation: int) -> Any:
        return self.oracle.stage_dividend(amount, activation, sender=self.account)

    def reconnect(self) -> None:
        provider = self.chain.provider
        provider.disconnect()
        provider.connect()


@dataclass
class PushRecord:
    round_id: int | None
    answer: int
    observed_at: int
    status: MarketStatus
    reason: str
    gas_used: int | None
    tx_hash: str | None


@dataclass
class OracleKeeper:
    io: FeedIO
    source: PriceSource
    policy: PushPolicy = field(default_factory=PushPolicy)
    confirm_only: bool = False  # the confirming keeper: push only to end a suspect episode
    warp: bool = False
    dry_run: bool = False
    rpc_attempts: int = 6
    stop: StopFlag = field(default_factory=StopFlag)
    metrics: Metrics = field(default_factory=Metrics)
    pushes: list[PushRecord] = field(default_factory=list)
    splits: tuple[Split, ...] = ()  # the schedule the source's quotes cross (docs/spec.md §6)
    last_pushed_at: int | None = None  # chain time of this keeper's last push
    # stage the splits the source announces (Data Streams v10) with this keeper's account,
    # which then needs DEFAULT_ADMIN; otherwise they are logged for the admin to stage
    stage_splits: bool = False
    # the cash dividends the source's quotes cross (docs/design/corporate-actions.md): the
    # primary stages each a day ahead at least, and compares quotes across its ex-date
    dividends: tuple[Dividend, ...] = ()
    _actions_seen: set[tuple[int, int]] = field(default_factory=set)
    _dividend_said: dict[Dividend, DividendStep] = field(default_factory=dict)
    _dividend_check_at: int = 0  # chain time of the next look at the staged dividend

    @property
    def role(self) -> str:
        return "confirming" if self.confirm_only else "primary"

    def _quote(self, source: PriceSource, now: int) -> Quote | None:
        started = time.perf_counter()
        try:
            quote = source.quote(now)
            if quote is not None and not (0 < quote.price < MAX_QUOTE_USD):
                # a misread field or exponent: no feed can carry it (the --expect band
                # catches the plausible-looking ones)
                raise SourceError(f"price {quote.price} outside (0, {MAX_QUOTE_USD})")
            return quote
        except SourceRateLimited as exc:
            self.metrics["source rate limited"] += 1
            event(log, "source rate limited", logging.WARNING, source=source.name, error=str(exc))
        except SourceUnauthorized as exc:
            self.metrics["source unauthorized"] += 1
            event(
                log, "source refused the API key", logging.ERROR, source=source.name, error=str(exc)
            )
        except SourceError as exc:
            self.metrics["source_errors"] += 1
            event(log, "source error", logging.WARNING, source=source.name, error=str(exc))
        finally:
            self.metrics.observe("source latency", time.perf_counter() - started)
        return None

    def _observe(self, source: PriceSource, now: int) -> Observation | None:
        quote = self._quote(source, now)
        if quote is None:
            return None
        return Observation(to_feed_units(quote.price), quote.observed_at, quote.status)

    def _add_split(self, split: Split) -> bool:
        """Add a split to the schedule unless it is there (same ratio and day): True if new."""
        if any(s.ratio == split.ratio and s.effective == split.effective for s in self.splits):
            return False
        self.splits = tuple(sorted((*self.splits, split), key=lambda s: s.activation))
        return True

    def _on_corporate_action(self, action: CorporateAction, price: Decimal) -> None:
        """A multiplier change the source schedules: once per announcement, add the split to
        the schedule and make sure the chain has it staged (staging it when allowed); a
        smaller rise is a dividend reinvested, added to the dividend schedule (staged by
        `_schedule_dividends`) unless the schedule has that ex-date already."""
        key = (action.new_multiplier, action.activation)
        if key in self._actions_seen:
            return
        self._actions_seen.add(key)
        fields: dict[str, Any] = dict(
            role=self.role,
            current_multiplier=action.current_multiplier,
            new_multiplier=action.new_multiplier,
            activation=action.activation,
        )
        split = action.split
        div = action.dividend(price) if split is None else None
        if div is not None:
            self._add_feed_dividend(div, fields)
            return
        if split is None:
            self.metrics["corporate actions not staged"] += 1
            event(
                log,
                "corporate action is neither a forward split nor an ordinary dividend: not "
                "staged (a reverse or fractional split, a special dividend: the admin decides; "
                "docs/runbooks/splits.md, docs/runbooks/dividends.md)",
                logging.ERROR,
                **fields,
            )
            return
        if self._add_split(split):
            event(log, "split announced by the feed", ratio=split.ratio, **fields)
        if not isinstance(self.io, SplitStaging):
            return
        io = self.io
        staged = self._rpc(io.staged_split, "read staged split")
        if staged == (split.ratio, split.activation):
            event(log, "split already staged", ratio=split.ratio, **fields)
            return
        if staged != (0, 0):
            self.metrics["split conflicts"] += 1
            event(
                log,
                "another split is staged on chain: the admin must cancel one",
                logging.ERROR,
                staged_ratio=staged[0],
                staged_activation=staged[1],
                ratio=split.ratio,
                **fields,
            )
            return
        if self.dry_run or not self.stage_splits or not io.can_stage_splits():
            self.metrics["splits awaiting admin"] += 1
            event(
                log,
                f"split to stage: DEFAULT_ADMIN oracle.stage_split({split.ratio}, "
                f"{split.activation})",
                logging.WARNING,
                ratio=split.ratio,
                dry_run=self.dry_run,
                **fields,
            )
            return
        ratio, activation = split.ratio, split.activation
        if not self._stage(lambda: io.stage_split(ratio, activation), "stage split", fields):
            return
        self.metrics["splits staged"] += 1
        event(log, "split staged from the feed", logging.WARNING, ratio=split.ratio, **fields)

    def _in_new_shares(
        self, feed: FeedState | None, obs: Observation
    ) -> tuple[FeedState | None, int]:
        """Across a split the chain's last quote is in old shares, across an ex-date it is
        cum-dividend: compare in the new quote's terms (the oracle applies the staged split
        and dividend with this push). (feed rescaled, ratio; ratio 0 when only a dividend's
        ex-date was crossed)."""
        if feed is None or not (self.splits or self.dividends):
            return feed, 1
        ratio = ratio_between(feed.updated_at, obs.observed_at, self.splits)
        paid = to_feed_units(dividends_between(feed.updated_at, obs.observed_at, self.dividends))
        if ratio > 1 or paid:
            answer, anchor = feed.answer // ratio, feed.anchor
            if anchor is not None:
                anchor = max(1, anchor // ratio - paid)
            feed = dataclasses.replace(feed, answer=max(1, answer - paid), anchor=anchor)
        return feed, ratio if ratio > 1 or not paid else 0

    def _rpc(self, fn: Any, what: str) -> Any:
        """`fn()` with this keeper's retries, reconnecting between attempts."""
        return with_retries(
            fn, what=what, attempts=self.rpc_attempts, on_retry=self.io.reconnect, stop=self.stop
        )

    def _stage(self, fn: Any, what: str, fields: dict[str, Any]) -> bool:
        """Send a staging transaction; False (logged, counted) when it reverts."""
        from ape.exceptions import ContractLogicError

        try:
            self._rpc(fn, what)
        except ContractLogicError as exc:
            self.metrics["failed"] += 1
            event(log, f"{what} reverted", logging.ERROR, error=str(exc), **fields)
            return False
        return True

    def _add_dividend(self, div: Dividend) -> bool:
        """Add a dividend unless the schedule has one on its ex-date: True if new (then the
        next tick looks at what is staged)."""
        if any(d.ex_date == div.ex_date for d in self.dividends):
            return False
        self.dividends = tuple(sorted((*self.dividends, div), key=lambda d: d.ex_date))
        self._dividend_check_at = 0
        return True

    def _add_feed_dividend(self, div: Dividend, fields: dict[str, Any]) -> None:
        """A dividend the feed announced: into the schedule, looked at on the next tick; a
        scheduled one on that ex-date wins (the declared amount, not one derived from a
        quote)."""
        fields = dict(fields, ex_date=div.ex_date.isoformat(), amount_usd=str(div.amount))
        mine = [d for d in self.dividends if d.ex_date == div.ex_date]
        if mine:
            if mine[0].amount != div.amount:
                event(
                    log,
                    "dividend announced by the feed: the schedule's amount kept",
                    logging.WARNING,
                    scheduled_usd=str(mine[0].amount),
                    **fields,
                )
            return
        self._add_dividend(div)
        self.metrics["dividends announced by the feed"] += 1
        event(
            log, "dividend announced by the feed: added to the schedule", logging.WARNING, **fields
        )

    def _schedule_dividends(self, now: int) -> None:
        """At most once an hour of chain time: make sure the next scheduled dividend is staged
        on chain, staging it when a reporter still may (a day ahead), else saying what the
        admin must do. Each outcome is logged once per dividend."""
        if not self.dividends or self.confirm_only or now < self._dividend_check_at:
            return
        if not isinstance(self.io, DividendStaging):
            return
        self._dividend_check_at = now + 3_600
        io = self.io
        staged = self._rpc(io.staged_dividend, "read staged dividend")
        step = next_dividend_step(self.dividends, staged, now)
        if step is None:
            return
        what, div = step
        amount = to_feed_units(div.amount)
        fields: dict[str, Any] = dict(
            ex_date=div.ex_date.isoformat(), amount_usd=str(div.amount), activation=div.activation
        )
        if what is DividendStep.STAGE and not self.dry_run:
            stage = lambda: io.stage_dividend(amount, div.activation)  # noqa: E731
            if not self._stage(stage, "stage dividend", fields):
                return
            self.metrics["dividends staged"] += 1
            self._dividend_said[div] = DividendStep.STAGED
            event(log, "dividend staged from the schedule", logging.WARNING, **fields)
            return
        if self._dividend_said.get(div) is what:
            return
        self._dividend_said[div] = what
        if what is DividendStep.STAGED:
            event(log, "dividend already staged", **fields)
        elif what is DividendStep.STAGE:
            event(log, "dividend to stage (dry run)", **fields)
        elif what is DividendStep.CONFLICT:
            self.metrics["dividend conflicts"] += 1
            event(
                log,
                "another dividend is staged on chain: the admin must cancel one",
                logging.ERROR,
                staged_amount=staged[0],
                staged_activation=staged[1],
                **fields,
            )
        else:
            self.metrics["dividends awaiting admin"] += 1
            event(
                log,
                f"dividend inside a reporter's notice: DEFAULT_ADMIN "
                f"oracle.stage_dividend({amount}, {div.activation})",
                logging.ERROR,
                **fields,
            )

    def _staged_split_between(self, feed: FeedState, obs: Observation) -> FeedSplit | None:
        """The chain's staged split when it activates between the chain's round and `obs`
        (a jump that is the split itself, staged by someone else)."""
        if not isinstance(self.io, SplitStaging):
            return None
        ratio, activation = self.io.staged_split()
        if ratio < 2 or not feed.updated_at < activation <= obs.observed_at:
            return None
        day = dt.datetime.fromtimestamp(activation, dt.UTC).date()
        return FeedSplit(day, ratio, activation)

    def tick(self, now: int) -> Decision:
        """One decision at (wall or virtual) time `now`; pushes unless dry-running."""
        self.metrics["ticks"] += 1
        self.metrics.gauges["last tick"] = time.time()  # /health: the loop is alive
        self._schedule_dividends(now)
        quote = self._quote(self.source, now)
        if quote is None:
            self.metrics["skipped"] += 1
            return Decision(Action.SKIP, "no quote")
        obs = Observation(to_feed_units(quote.price), quote.observed_at, quote.status)
        if quote.action is not None:
            self._on_corporate_action(quote.action, quote.price)
        chain_feed = with_retries(
            self.io.read,
            what="read feed",
            attempts=self.rpc_attempts,
            on_retry=self.io.reconnect,
            stop=self.stop,
        )
        feed, ratio = self._in_new_shares(chain_feed, obs)
        if ratio != 1 and obs.status is not MarketStatus.OPEN:
            # a split or an ex-date activated while closed: the source still quotes the old
            # share, cum-dividend, until the market reopens, and the chain would apply the
            # corporate action to that quote
            self.metrics["skipped"] += 1
            if ratio > 1:
                return Decision(
                    Action.SKIP, "split activated: waiting for the first quote in new shares"
                )
            return Decision(Action.SKIP, "ex-date activated: waiting for the session's first quote")
        chain_now = (
            max(self.io.next_block_time(), obs.observed_at)
            if self.warp
            else (
                with_retries(
                    self.io.next_block_time,
                    what="chain time",
                    attempts=self.rpc_attempts,
                    on_retry=self.io.reconnect,
                    stop=self.stop,
                )
            )
        )
        decision = self._decide(obs, feed, chain_now)
        if (
            decision.reason.startswith("jump")
            and chain_feed is not None
            and (split := self._staged_split_between(chain_feed, obs)) is not None
            and self._add_split(split)
        ):
            # the jump is a split staged on chain that this keeper's schedule did not know
            event(log, "split staged on chain joins the schedule", ratio=split.ratio)
            feed, _ = self._in_new_shares(chain_feed, obs)
            decision = self._decide(obs, feed, chain_now)
        if decision.action is Action.REFUSE:
            self.metrics["refused"] += 1
            event(
                log,
                "push refused",
                logging.ERROR,
                role=self.role,
                reason=decision.reason,
                price=obs.answer,
                chain_price=feed.answer if feed else None,
            )
            return decision
        if decision.action is Action.SKIP:
            self.metrics["skipped"] += 1
            return decision
        assert decision.observation is not None
        self._push(decision, feed)
        return decision

    def _decide(self, obs: Observation, feed: FeedState | None, chain_now: int) -> Decision:
        if self.confirm_only:
            return decide_confirm(obs, feed, chain_now, self.policy, self.last_pushed_at)
        return decide(obs, feed, chain_now, self.policy)

    def _push(self, decision: Decision, feed: FeedState | None) -> None:
        obs = decision.observation
        assert obs is not None
        fields = dict(
            role=self.role,
            reason=decision.reason,
            price=obs.answer,
            observed_at=obs.observed_at,
            status=obs.status.name,
            dry_run=self.dry_run,
        )
        if "suspect" in decision.reason and not self.confirm_only:
            # a jump reaches the chain HALTED; printing on completes the escalation path
            self.metrics["suspect pushes"] += 1
            if decision.reason.startswith("jump"):
                event(log, "jump pushed as suspect", logging.WARNING, **fields)
        if self.dry_run:
            self.metrics["would_push"] += 1
            event(log, "push (dry run)", **fields)
            self.pushes.append(
                PushRecord(
                    None, obs.answer, obs.observed_at, obs.status, decision.reason, None, None
                )
            )
            return
        if self.warp:
            self.io.warp_to(obs.observed_at)
        from ape.exceptions import ContractLogicError

        try:
            receipt = with_retries(
                lambda: self.io.push(obs),
                what="push",
                attempts=self.rpc_attempts,
                on_retry=self.io.reconnect,
                stop=self.stop,
            )
        except ContractLogicError as exc:
            # Another reporter landed a newer round first: nothing lost, next tick re-reads.
            self.metrics["raced" if "not newer" in str(exc) else "failed"] += 1
            event(log, "push reverted", logging.WARNING, error=str(exc), **fields)
            return
        self.metrics["pushed"] += 1
        if self.confirm_only:
            self.metrics["confirming pushes"] += 1
        self.last_pushed_at = obs.observed_at
        round_id = (feed.round_id + 1) if feed else 1
        self.pushes.append(
            PushRecord(
                round_id,
                obs.answer,
                obs.observed_at,
                obs.status,
                decision.reason,
                receipt.gas_used,
                receipt.txn_hash,
            )
        )
        event(
            log,
            "pushed",
            logging.DEBUG if self.warp else logging.INFO,
            round_id=round_id,
            gas=receipt.gas_used,
            **fields,
        )

    def run(self, schedule: Iterable[int], speed: float = 0.0, live: bool = False) -> Metrics:
        """Tick at each time of `schedule` until it ends or a stop signal arrives
        (`run_keepers` with this keeper alone)."""
        run_keepers((self,), schedule, speed=speed, live=live)
        return self.metrics

    def _log_day(self, day: str, first: int) -> None:
        """Replay progress: one line per replayed day."""
        done = self.pushes[first:]
        event(
            log,
            "replayed day",
            role=self.role,
            day=day,
            pushes=len(done),
            last_price=done[-1].answer / 10**8 if done else None,
            last_status=done[-1].status.name if done else None,
        )


def run_keepers(
    keepers: Sequence[OracleKeeper],
    schedule: Iterable[int],
    speed: float = 0.0,
    live: bool = False,
) -> None:
    """Tick every keeper, in order, at each time of `schedule` until it ends or a stop signal
    arrives (the first keeper's `stop`: give them one). The primary first, then the
    confirming keeper: a gap the primary pushes is confirmed in the same tick when the second
    source already agrees. The splits and dividends one keeper's source announces join the
    others' schedules (one process, one view of the corporate actions).

    Replay: `speed` virtual seconds per wall second (0 = as fast as possible).
    Live: the schedule yields wall times; sleeps until each.
    """
    stop = keepers[0].stop
    prev: int | None = None
    day: str | None = None
    day_starts = [0] * len(keepers)
    for t in schedule:
        if stop.stopped:
            break
        if not live and (d := utc_day(t)) != day:
            if day is not None:
                for k, first in zip(keepers, day_starts, strict=True):
                    k._log_day(day, first)
            day, day_starts = d, [len(k.pushes) for k in keepers]
        if live:
            if stop.sleep(t - time.time()):
                break
        elif speed > 0 and prev is not None and stop.sleep(min((t - prev) / speed, 5.0)):
            break
        prev = t
        for k in keepers:
            k.tick(t)
        for split in {s for k in keepers for s in k.splits}:
            for k in keepers:
                k._add_split(split)
        for div in {d for k in keepers for d in k.dividends}:
            for k in keepers:
                k._add_dividend(div)
    if day is not None:
        for k, first in zip(keepers, day_starts, strict=True):
            k._log_day(day, first)
    for k in keepers:
        event(log, "keeper stopped", role=k.role, **k.metrics.as_fields())


def utc_day(ts: int) -> str:
    return time.strftime("%Y-%m-%d %a", time.gmtime(ts))


def replay_schedule(calendar: MarketCalendar, start: int, end: int, step_s: int) -> Iterator[int]:
    """Virtual tick times from `start` to `end`: every `step_s` seconds while a session is
    open, plus each session's close (the CLOSED push), skipping the hours in between."""
    t = start
    while t < end:
        i = calendar.session_index_at(t)
        if i is not None:
            close = calendar.closes[i]
            while t < min(close, end):
                yield t
                t += step_s
            if close < end:
                yield close
            t = close + 1
        else:
            if t == start:
                yield t  # the status at the start of the window
            t = calendar.next_open(t)


def live_schedule(poll_interval_s: float) -> Iterator[int]:
    """Wall-clock ticks, forever."""
    nxt = time.time()
    while True:
        yield int(nxt)
        nxt = max(nxt + poll_interval_s, time.time())
