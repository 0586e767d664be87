"""The oracle keeper loop against an in-memory chain backed by the oracle's reference model:
replay schedule, dry run, jumps pushed as suspect and a confirming keeper, RPC retries, races,
and stopping."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from ape.exceptions import ContractLogicError

from synthequity.constants import MarketStatus
from synthequity.corporate_actions import Dividend
from synthequity.keepers.common import StopFlag, is_transient, with_retries
from synthequity.keepers.oracle.logic import FeedState
from synthequity.keepers.oracle.runner import OracleKeeper, replay_schedule, run_keepers
from synthequity.keepers.oracle.sources import CorporateAction, CsvReplaySource, Quote
from synthequity.market_hours import nyse, to_ts
from synthequity.testing.model_feed import ModelFeed


class SecondReporter(ModelFeed):
    """Another reporter's view of `chain`: one model, one clock."""

    def __init__(self, chain: ModelFeed, reporter: str):
        self.chain = chain
        super().__init__(chain.head_time, model=chain.model, reporter=reporter)

    @property  # type: ignore[override]
    def head_time(self) -> int:
        return self.chain.head_time

    @head_time.setter
    def head_time(self, value: int) -> None:
        self.chain.head_time = value


@pytest.fixture(scope="module")
def calendar():
    return nyse()


def test_replay_schedule_follows_sessions(calendar):
    start, end = to_ts("2022-11-23T12:00:00"), to_ts("2022-11-26T00:00:00")
    ticks = list(replay_schedule(calendar, start, end, 1_800))
    days = [dt.datetime.fromtimestamp(t, dt.UTC) for t in ticks]
    assert days[0] == dt.datetime(2022, 11, 23, 12, tzinfo=dt.UTC)  # status at the start
    assert days[1] == dt.datetime(2022, 11, 23, 14, 30, tzinfo=dt.UTC)  # Wed open
    assert dt.datetime(2022, 11, 23, 21, tzinfo=dt.UTC) in days  # Wed close
    assert not [d for d in days if d.day == 24]  # Thanksgiving: no tick
    assert days[-1] == dt.datetime(2022, 11, 25, 18, tzinfo=dt.UTC)  # Fri early close
    assert ticks == sorted(set(ticks))


def test_replay_of_thanksgiving_week_pushes_what_the_calendar_says(calendar):
    start, end = to_ts("2022-11-21"), to_ts("2022-11-29")
    chain = ModelFeed(start)
    keeper = OracleKeeper(
        io=chain, source=CsvReplaySource("data/tsla_daily.csv", calendar), warp=True
    )
    keeper.run(replay_schedule(calendar, start, end, 300))
    per_day: dict[dt.date, list] = {}
    for p in keeper.pushes:
        per_day.setdefault(dt.datetime.fromtimestamp(p.observed_at, dt.UTC).date(), []).append(p)
    counts = {d.isoformat(): len(v) for d, v in per_day.items()}
    # the start (Sunday evening NY, CLOSED), 78 OPEN prints + the close on full days,
    # 42 + 1 on Friday's half day, nothing on Thanksgiving or the weekend
    assert counts == {
        "2022-11-21": 1 + 79,
        "2022-11-22": 79,
        "2022-11-23": 79,
        "2022-11-25": 43,
        "2022-11-28": 79,
    }
    closes = [p for p in keeper.pushes if p.reason == "status OPEN -> CLOSED"]
    assert [p.answer for p in closes] == [
        16_787_000_000,
        16_991_000_000,
        18_320_000_000,
        18_286_000_000,
        18_292_000_000,
    ]
    assert chain.model.latest.status is MarketStatus.CLOSED
    assert keeper.metrics["pushed"] == len(chain.model.rounds) == 360


class ScriptedSource:
    name = "scripted"

    def __init__(self, prices: list[str], status=MarketStatus.OPEN):
        self.prices = [Decimal(p) for p in prices]
        self.status = status

    def quote(self, now: int) -> Quote | None:
        return Quote(self.prices.pop(0), now, self.status, self.name) if self.prices else None


def test_dry_run_sends_nothing():
    chain = ModelFeed(1_700_000_000)
    keeper = OracleKeeper(io=chain, source=ScriptedSource(["250", "260"]), dry_run=True)
    keeper.run([1_700_000_001, 1_700_000_100], live=False)
    assert chain.sent == 0 and keeper.metrics["would_push"] == 2


def test_a_jump_is_pushed_suspect_and_a_confirming_keeper_confirms_it():
    """The primary pushes the gap (HALTED on chain) instead of refusing it; the confirming
    keeper — its own source and reporter, sharing the chain — pushes only while suspect."""
    t = 1_700_000_000
    chain = ModelFeed(t)
    confirmer_io = ModelFeed(t, model=chain.model, reporter="confirmer")
    primary = OracleKeeper(io=chain, source=ScriptedSource(["250", "170", "170"]))
    confirmer = OracleKeeper(
        io=confirmer_io, source=ScriptedSource(["250", "171", "171"]), confirm_only=True
    )
    primary.tick(t + 1)
    confirmer.tick(t + 2)  # not suspect: nothing
    primary.tick(t + 10)  # -32%: pushed, suspect
    assert primary.metrics["suspect pushes"] == 1 and primary.metrics.get("refused", 0) == 0
    assert chain.model.suspect and chain.model.market_status() is MarketStatus.HALTED
    confirmer_io.head_time = chain.head_time + 10  # one chain, one clock
    confirmer.tick(t + 20)
    assert confirmer.metrics["confirming pushes"] == 1 and confirmer_io.sent == 1
    assert not chain.model.suspect and chain.model.latest.answer == 171 * 10**8
    confirmer.tick(t + 30)  # no longer suspect: nothing
    assert confirmer_io.sent == 1


class AnnouncingSource(ScriptedSource):
    """Quotes that carry a corporate action (a Data Streams v10 multiplier schedule)."""

    def __init__(self, prices: list[str], action: CorporateAction):
        super().__init__(prices)
        self.action = action

    def quote(self, now: int) -> Quote | None:
        q = super().quote(now)
        return dataclasses.replace(q, action=self.action) if q else None


def test_one_process_ticks_both_roles_in_order_and_shares_announced_splits():
    """`run_keepers` (`--source` with `--confirm-source`): at each time the primary, then the
    confirming keeper with its own reporter — the gap pushed and confirmed in the same tick;
    a split one source announces joins the other keeper's schedule."""
    t = 1_700_000_000
    chain = ModelFeed(t, reporter="r1")
    second = SecondReporter(chain, "r2")
    stop = StopFlag()
    e18 = 10**18
    split_at = t + 86_400 * 30
    primary = OracleKeeper(io=chain, source=ScriptedSource(["250", "170", "170"]), stop=stop)
    confirmer = OracleKeeper(
        io=second,
        source=AnnouncingSource(["250", "171", "171"], CorporateAction(e18, 3 * e18, split_at)),
        confirm_only=True,
        stop=stop,
    )
    run_keepers((primary, confirmer), [t + 1, t + 10, t + 100])
    assert [p.reason for p in primary.pushes] == [
        "first round",
        "jump of 3200 bps beyond the guard (2500 bps): pushed as suspect",
        "deviation",  # 170 against the confirmed 171
    ]
    assert [p.reason for p in confirmer.pushes] == ["confirm suspect price"]  # tick 2
    assert (chain.sent, second.sent) == (3, 1)
    assert not chain.model.suspect and chain.model.latest.answer == 170 * 10**8
    assert [(s.ratio, s.activation) for s in primary.splits] == [(3, split_at)]
    assert primary.splits == confirmer.splits
    assert confirmer.metrics["ticks"] == primary.metrics["ticks"] == 3


def test_rpc_errors_are_retried_with_reconnects():
    chain = ModelFeed(1_700_000_000, fail_reads=2)
    keeper = OracleKeeper(io=chain, source=ScriptedSource(["250"]))
    keeper.stop.sleep = lambda s: False  # no real waiting in the test
    keeper.run([1_700_000_001])
    assert chain.reconnects == 2 and len(chain.model.rounds) == 1


def test_rpc_down_for_good_raises_after_the_attempts():
    chain = ModelFeed(1_700_000_000, fail_reads=100)
    keeper = OracleKeeper(io=chain, source=ScriptedSource(["250"]), rpc_attempts=3)
    keeper.stop.sleep = lambda s: False
    with pytest.raises(ConnectionError):
        keeper.run([1_700_000_001])
    assert chain.reconnects == 2


def test_a_push_raced_by_another_reporter_is_counted_not_fatal():
    chain = ModelFeed(1_700_000_000)
    keeper = OracleKeeper(io=chain, source=ScriptedSource(["250", "253"]))
    keeper.run([1_700_000_001])
    chain.head_time = 1_700_000_500
    chain.model.push("other", 252 * 10**8, 1_700_000_500, 2, 1_700_000_500)  # lands first
    real_read = chain.read
    chain.read = lambda: FeedState(1, 250 * 10**8, 1_700_000_001, MarketStatus.OPEN, False, 2_500)
    keeper.run([1_700_000_450])  # observed before the other reporter's round
    chain.read = real_read
    assert keeper.metrics["raced"] == 1 and len(chain.model.rounds) == 2


def test_stop_flag_ends_the_loop_between_ticks():
    chain = ModelFeed(1_700_000_000)
    stop = StopFlag()
    keeper = OracleKeeper(io=chain, source=ScriptedSource(["250"] * 10), stop=stop)
    ticks = iter(range(1_700_000_001, 1_700_000_011))

    def schedule():
        for i, t in enumerate(ticks):
            if i == 3:
                stop.set()  # as SIGTERM would
            yield t

    keeper.run(schedule())
    assert keeper.metrics["ticks"] == 3


def test_with_retries_backs_off_exponentially_and_lets_reverts_through():
    delays: list[float] = []
    calls = iter([ConnectionError(), TimeoutError(), 7])

    def flaky():
        v = next(calls)
        if isinstance(v, Exception):
            raise v
        return v

    assert with_retries(flaky, what="x", sleep=delays.append) == 7
    assert delays == [0.5, 1.0]

    def reverts():
        raise ContractLogicError("oracle: not newer")

    with pytest.raises(ContractLogicError):
        with_retries(reverts, what="x", sleep=delays.append)


def test_a_dead_node_is_transient_however_ape_wraps_it():
    from ape.exceptions import BlockNotFoundError

    wrapped = BlockNotFoundError(
        "latest", reason="HTTPConnectionPool(...): Max retries exceeded (Connection refused)"
    )
    try:  # chained, with a message of its own
        try:
            raise ConnectionRefusedError(111, "refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("call failed") from inner
    except RuntimeError as chained:
        assert is_transient(chained)
    assert is_transient(wrapped)
    assert not is_transient(ContractLogicError("vault: not liquidatable"))
    # a revert whose text carries hex (a tx hash, undecoded revert data) with 429 inside it is
    # still a revert; a provider's 429 is transient
    assert not is_transient(ContractLogicError("0x08c379a0f429ab reverted, tx 0xab4290"))
    assert is_transient(RuntimeError("HTTP 429: rate limited")) and is_transient(
        RuntimeError("429 Client Error: Too Many Requests for url: http://rpc")
    )
    calls = iter([wrapped, 3])

    def dead_then_back():
        v = next(calls)
        if isinstance(v, Exception):
            raise v
        return v

    assert with_retries(dead_then_back, what="x", sleep=lambda _s: None) == 3


def test_the_oracle_keepers_counters_reach_metrics_and_health():
    """`--metrics-port` on `keeper oracle`: what the keeper counts while it ticks (pushes,
    suspect rounds, source latency, its last tick) is what /metrics and /health answer."""
    import json
    import urllib.error
    import urllib.request

    from synthequity.keepers.metrics import MetricsServer, Watched

    t = 1_700_000_000
    chain = ModelFeed(t)
    primary = OracleKeeper(io=chain, source=ScriptedSource(["250", "170", "170"]))
    watched = Watched(labels={"market": "TSLA"})
    watched.add("oracle primary", primary.metrics)
    server = MetricsServer(watched, port=0, stale_s=30).start()
    base = f"http://127.0.0.1:{server.port}"

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        assert get("/health")[0] == 503  # never ticked: not alive yet
        primary.tick(t + 1)
        primary.tick(t + 10)  # -32%: pushed suspect
        status, text = get("/metrics")
        labels = 'keeper="oracle primary",market="TSLA"'
        assert status == 200
        assert f"synthequity_oracle_pushes_total{{{labels}}} 2.0" in text.splitlines()
        assert f"synthequity_oracle_suspect_rounds_total{{{labels}}} 1.0" in text.splitlines()
        assert f"synthequity_source_latency_seconds_count{{{labels}}} 2.0" in text.splitlines()
        status, body = get("/health")
        assert status == 200 and json.loads(body)["ok"] is True
    finally:
        server.stop()


def test_an_absurd_quote_is_a_source_error_not_a_crashed_keeper():
    """A misread field can put 1e30 in a quote; the tick skips it (counted), the loop lives."""
    t = 1_700_000_000
    chain = ModelFeed(t)
    keeper = OracleKeeper(io=chain, source=ScriptedSource(["1e30", "-5", "250"]))
    assert keeper.tick(t + 1).reason == "no quote"
    assert keeper.tick(t + 2).reason == "no quote"
    keeper.tick(t + 3)
    assert keeper.metrics["source_errors"] == 2 and keeper.metrics["pushed"] == 1
    assert chain.model.latest.answer == 250 * 10**8


def replay_with_dividend(calendar, div, start, end):
    """TSLA's bars replayed from `start` to `end` by a keeper whose schedule holds `div`."""
    chain = ModelFeed(to_ts(start))
    keeper = OracleKeeper(
        io=chain,
        source=CsvReplaySource("data/tsla_daily.csv", calendar),
        warp=True,
        dividends=(div,),
    )
    keeper.run(replay_schedule(calendar, to_ts(start), to_ts(end), 300))
    return chain, keeper


def test_the_primary_stages_its_dividend_schedule_and_the_ex_date_print_applies_it(calendar):
    """A week of TSLA's bars with a (hypothetical) $1.50 dividend ex Monday 2022-11-28: the
    keeper stages it from its schedule on the first tick (a week ahead), skips the closed
    status prints after the ex-date's 00:00 UTC activation (the source still quotes the
    cum-dividend close), and Monday's first OPEN print applies it on Friday's close; nothing
    is refused along the way."""
    div = Dividend(dt.date(2022, 11, 28), Decimal("1.50"))
    chain, keeper = replay_with_dividend(calendar, div, "2022-11-21", "2022-11-30")
    assert keeper.metrics["dividends staged"] == 1 and keeper.metrics["refused"] == 0
    [(kind, rid, amount, cum)] = chain.model.actions_log
    applied = chain.model.rounds[rid - 1]
    friday_close = [r for r in chain.model.rounds if r.observed_at < div.activation][-1]
    assert (kind, amount, cum) == ("dividend", 150_000_000, friday_close.answer)
    assert friday_close.status is MarketStatus.CLOSED
    assert applied.status is MarketStatus.OPEN
    assert dt.datetime.fromtimestamp(applied.observed_at, dt.UTC) == dt.datetime(
        2022, 11, 28, 14, 30, tzinfo=dt.UTC
    )  # Monday's open, the first print of the ex-date's session
    assert chain.model.multiplier_wad == (10**12 * cum // (cum - amount)) * 10**6


class DividendAnnouncingReplay(CsvReplaySource):
    """TSLA's bars, each quote carrying a Data Streams v10 multiplier rise that reinvests a
    `usd` dividend at the first quote's price (1 -> cum / (cum - usd)) at `activation`."""

    def __init__(self, calendar, usd: Decimal, activation: int):
        super().__init__("data/tsla_daily.csv", calendar)
        self.usd, self.activation, self.action = usd, activation, None

    def quote(self, now: int) -> Quote | None:
        q = super().quote(now)
        if q is None:
            return None
        if self.action is None:
            new = 10**18 * q.price / (q.price - self.usd)
            self.action = CorporateAction(10**18, int(new), self.activation)
        return dataclasses.replace(q, action=self.action)


def test_a_dividend_the_feed_announces_is_staged_and_applied(calendar):
    """No schedule file: the feed's multiplier rise (1 -> 1.0084 at $180.19) becomes a $1.50
    dividend in the schedule, staged on the next tick (a week ahead) and applied by Monday's
    first OPEN print; a schedule that has the ex-date keeps its own amount."""
    ex = dt.datetime(2022, 11, 28, 14, 30, tzinfo=dt.UTC)  # the feed's activation: the open
    start, end = to_ts("2022-11-21"), to_ts("2022-11-30")
    chain = ModelFeed(start)
    source = DividendAnnouncingReplay(calendar, Decimal("1.50"), int(ex.timestamp()))
    keeper = OracleKeeper(io=chain, source=source, warp=True)
    keeper.run(replay_schedule(calendar, start, end, 300))
    assert keeper.metrics["dividends announced by the feed"] == 1
    assert keeper.metrics["dividends staged"] == 1 and keeper.metrics["refused"] == 0
    [div] = keeper.dividends
    assert div.ex_date == dt.date(2022, 11, 28)
    assert abs(div.amount - Decimal("1.50")) <= Decimal("1e-8")  # the multiplier's rounding
    [(kind, rid, amount, _cum)] = chain.model.actions_log
    assert (kind, amount) == ("dividend", int(div.amount * 10**8))
    assert chain.model.rounds[rid - 1].observed_at == int(ex.timestamp())
    scheduled = Dividend(dt.date(2022, 11, 28), Decimal("1.49"))
    chain = ModelFeed(start)
    source = DividendAnnouncingReplay(calendar, Decimal("1.50"), int(ex.timestamp()))
    keeper = OracleKeeper(io=chain, source=source, warp=True, dividends=(scheduled,))
    keeper.run(replay_schedule(calendar, start, end, 300))
    assert (
        keeper.dividends == (scheduled,) and keeper.metrics["dividends announced by the feed"] == 0
    )
    [(kind, _rid, amount, _cum)] = chain.model.actions_log
    assert amount == 149_000_000


def test_a_dividend_inside_the_notice_is_left_to_the_admin(calendar):
    """Started on the eve of the ex-date, the keeper may not stage it (a reporter gives a
    day's notice): it says what the admin must call, once, and pushes as usual."""
    div = Dividend(dt.date(2022, 11, 28), Decimal("1.50"))
    chain, keeper = replay_with_dividend(
        calendar, div, "2022-11-27T12:00:00", "2022-11-28T12:00:00"
    )
    assert keeper.metrics["dividends awaiting admin"] == 1
    assert keeper.metrics["dividends staged"] == 0 and chain.model.dividend is None
    assert keeper.pushes and not chain.model.actions_log
