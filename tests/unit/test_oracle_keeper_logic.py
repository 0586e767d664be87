"""Oracle keeper decisions (pure): every branch of `decide` and `decide_confirm`, and the
escalation targets of docs/spec.md §2 driven against the oracle's reference model."""

import datetime as dt
from decimal import Decimal

import pytest

from synthequity.constants import WAD, MarketStatus
from synthequity.corporate_actions import Dividend, parse_dividends
from synthequity.keepers.oracle.logic import (
    DIVIDEND_STAGING_MARGIN_S,
    Action,
    DividendStep,
    FeedState,
    Observation,
    PushPolicy,
    decide,
    decide_confirm,
    next_dividend_step,
    roles_refusal,
    to_feed_units,
)
from synthequity.market_hours import to_ts
from synthequity.model.oracle import MIN_DIVIDEND_NOTICE_S, FeedModel

OPEN, CLOSED, HALTED = MarketStatus.OPEN, MarketStatus.CLOSED, MarketStatus.HALTED
T = 1_700_000_000
P = 250 * 10**8
POLICY = PushPolicy()


def feed(answer=P, updated_at=T, status=OPEN, suspect=False, jump=2_500, anchor=None):
    return FeedState(7, answer, updated_at, status, suspect, jump, anchor)


def obs(answer=P, at=T + 10, status=OPEN):
    return Observation(answer, at, status)


def test_first_round_is_pushed():
    d = decide(obs(), None, T + 10, POLICY)
    assert (d.action, d.reason) == (Action.PUSH, "first round")


def test_not_newer_than_chain_is_skipped():
    for at in (T, T - 1):
        assert decide(obs(at=at), feed(), T + 10, POLICY).reason == "not newer than chain"


def test_observation_ahead_of_chain_is_clamped_to_chain_time():
    d = decide(obs(answer=P * 101 // 100, at=T + 500), feed(), T + 30, POLICY)
    assert d.action is Action.PUSH
    assert d.observation.observed_at == T + 30


def test_stale_open_quote_is_skipped_but_stale_closed_is_not():
    assert decide(obs(at=T + 10), feed(), T + 10 + 121, POLICY).reason == "source stale"
    d = decide(obs(at=T + 10, status=CLOSED), feed(), T + 10 + 10_000, POLICY)
    assert d.action is Action.PUSH  # status change OPEN -> CLOSED


@pytest.mark.parametrize(
    "move_bps, age, expected",
    [
        (50, 1, "deviation"),
        (-50, 1, "deviation"),
        (49, 1, "fresh"),
        (0, 59, "fresh"),
        (0, 60, "heartbeat"),
        (10, 3_600, "heartbeat"),
    ],
)
def test_deviation_and_heartbeat_while_open(move_bps, age, expected):
    answer = P + P * move_bps // 10_000
    d = decide(obs(answer=answer, at=T + age), feed(), T + age, POLICY)
    assert d.reason == expected
    assert d.action is (Action.SKIP if expected == "fresh" else Action.PUSH)


def test_status_change_is_pushed_even_without_a_move():
    d = decide(obs(status=CLOSED), feed(), T + 10, POLICY)
    assert (d.action, d.reason) == (Action.PUSH, "status OPEN -> CLOSED")


def test_closed_market_pushes_nothing_unless_a_closed_heartbeat_is_set():
    f = feed(status=CLOSED)
    assert decide(obs(at=T + 86_400, status=CLOSED), f, T + 86_400, POLICY).reason == "unchanged"
    hb = PushPolicy(heartbeat_closed_s=3_600)
    d = decide(obs(at=T + 3_600, status=CLOSED), f, T + 3_600, hb)
    assert (d.action, d.reason) == (Action.PUSH, "heartbeat (closed)")


def test_a_jump_beyond_the_guard_is_pushed_as_suspect_never_refused():
    """A real gap is never refused: the chain stores it suspect (HALTED) and the escalation
    path decides when it is usable (was: refused without a second source)."""
    d = decide(obs(answer=P * 7 // 10), feed(), T + 10, POLICY)  # -30%
    assert d.action is Action.PUSH
    assert d.reason == "jump of 3000 bps beyond the guard (2500 bps): pushed as suspect"
    far = decide(obs(answer=P * 1_000), feed(), T + 10, POLICY)
    assert far.action is Action.PUSH  # the chain's hard factor keeps 1000x out of use


@pytest.mark.parametrize(
    "move_bps, age, expected",
    [
        (0, 10, (Action.SKIP, "fresh")),
        (60, 10, (Action.PUSH, "suspect, deviation")),
        (0, 60, (Action.PUSH, "suspect, heartbeat")),
        (-6_000, 10, (Action.PUSH, "suspect, deviation")),  # back to the anchor: no guard
    ],
)
def test_a_suspect_feed_gets_the_usual_cadence(move_bps, age, expected):
    """While suspect the primary keeps printing (heartbeat 60 s while OPEN) so that the
    chain's persistence path counts its prints; no print every tick."""
    f = feed(answer=P * 2, suspect=True, anchor=P)
    d = decide(obs(answer=P * 2 * (10_000 + move_bps) // 10_000, at=T + age), f, T + age, POLICY)
    assert (d.action, d.reason) == expected


R1, R2 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


@pytest.mark.parametrize(
    "source, confirm_source, account, confirm_account, refused",
    [
        ("pyth:A", None, R1, None, None),  # the primary
        (None, "datastreams:B", R2, None, None),  # the confirming keeper, its own process
        ("pyth:A", "datastreams:B", R1, R2, None),  # both roles, two reporters, one process
        (None, None, R1, None, "give --source"),
        ("pyth:A", "datastreams:B", R1, None, "give the confirming reporter's account"),
        ("pyth:A", "datastreams:B", R1, R1.lower(), "only from a different reporter"),
        ("pyth:A", None, R1, R2, "give it with --source and --confirm-source"),
        (None, "datastreams:B", R1, R2, "give it with --source and --confirm-source"),
    ],
)
def test_roles_of_a_keeper_process(source, confirm_source, account, confirm_account, refused):
    why = roles_refusal(source, confirm_source, account, confirm_account)
    assert why is None if refused is None else refused in why


def test_confirming_keeper_pushes_only_to_end_a_suspect_episode():
    gap = P * 157 // 100
    suspect = feed(answer=gap, suspect=True, anchor=P)
    skip = decide_confirm(obs(answer=gap), feed(answer=gap), T + 10, POLICY)
    assert (skip.action, skip.reason) == (Action.SKIP, "feed not suspect")
    ok = decide_confirm(obs(answer=gap * 104 // 100), suspect, T + 10, POLICY)
    assert (ok.action, ok.reason) == (Action.PUSH, "confirm suspect price")
    back = decide_confirm(obs(answer=P * 101 // 100), suspect, T + 10, POLICY)
    assert (back.action, back.reason) == (Action.PUSH, "revert suspect price to its anchor")
    neither = decide_confirm(obs(answer=gap * 130 // 100), suspect, T + 10, POLICY)
    assert neither.action is Action.SKIP and "neither" in neither.reason
    recent = decide_confirm(obs(answer=gap), suspect, T + 10, POLICY, last_pushed_at=T - 30)
    assert (recent.action, recent.reason) == (Action.SKIP, "confirmed recently")
    stale = decide_confirm(obs(answer=gap, at=T + 1), suspect, T + 500, POLICY)
    assert (stale.action, stale.reason) == (Action.SKIP, "source stale")


# ---- the escalation targets (docs/spec.md §2), decisions driven against the oracle's model ---


def reopen(primary, confirming=None, minutes=240):
    """Friday's close at $100 on chain; from Monday's open the primary (and, if given, the
    confirming keeper) see `primary(minute)` / `confirming(minute)` every 60 s. Returns the
    minutes from the open until the chain's price is usable (None: never), and the model."""
    model, t0 = FeedModel(), T
    model.push("primary", 100 * 10**8, t0, int(CLOSED), t0)
    open_at, last_confirm = t0 + 17 * 3_600, None
    for minute in range(minutes + 1):
        now = open_at + minute * 60
        d = decide(Observation(primary(minute), now, OPEN), FeedState.of_model(model), now, POLICY)
        if d.action is Action.PUSH:
            model.push("primary", d.observation.answer, now, int(OPEN), now)
        if confirming is not None:
            c = decide_confirm(
                Observation(confirming(minute), now + 20, OPEN),
                FeedState.of_model(model),
                now + 20,
                POLICY,
                last_confirm,
            )
            if c.action is Action.PUSH:
                model.push("confirmer", c.observation.answer, now + 20, int(OPEN), now + 20)
                last_confirm = now + 20
        if model.market_status() is OPEN and model.latest.answer != 100 * 10**8:
            return minute, model
    return None, model


def gap_path(level, wobble_bps=150):
    """The gapped price with a small intraday wobble (deterministic)."""
    return lambda m: level * 10**8 * (10_000 + wobble_bps * ((m * 7) % 5 - 2) // 2) // 10_000


@pytest.mark.parametrize("level", [157, 250, 40, 79])  # +57%, +150%, -60%, -21%
def test_a_real_gap_is_usable_within_30_minutes_with_two_sources(level):
    minutes, model = reopen(gap_path(level), gap_path(level, 200))
    assert minutes is not None and minutes <= 30, minutes
    assert model.rounds[-1].multiplier_wad == WAD and not model.suspect


@pytest.mark.parametrize("level", [157, 250, 40, 79])
def test_a_real_gap_is_usable_within_2_hours_with_one_source(level):
    minutes, model = reopen(gap_path(level))
    assert minutes is not None and minutes <= 120, minutes
    assert model.market_status() is OPEN


def test_a_one_print_1000x_spike_never_reaches_usable():
    spike = reopen(lambda m: 100_000 * 10**8 if m == 0 else 100 * 10**8)[1]
    assert [r.suspect for r in spike.rounds[1:3]] == [True, False]  # HALTED, then reverted
    assert not any(r.answer > 200 * 10**8 and not r.suspect for r in spike.rounds)
    stuck, model = reopen(lambda m: 100_000 * 10**8)  # a source stuck at 1000x for 4 h
    assert stuck is None and model.market_status() is HALTED
    # a confirming source that disagrees reverts the primary's broken print at once
    fixed, model = reopen(lambda m: 100_000 * 10**8, lambda m: 100 * 10**8)
    assert fixed is None and model.rounds[2].answer == 100 * 10**8 and not model.suspect


def test_non_positive_price_is_refused():
    assert decide(obs(answer=0), feed(), T + 10, POLICY).action is Action.REFUSE


def test_to_feed_units_rounds_half_even():
    assert to_feed_units(Decimal("250.123456785")) == 25_012_345_678
    assert to_feed_units(Decimal("250.123456775")) == 25_012_345_678
    assert to_feed_units(Decimal("1")) == 10**8


# ---- the dividend schedule (issue 21, docs/design/corporate-actions.md) ----------------------


def test_next_dividend_step_stages_a_day_ahead_and_says_what_the_admin_must_do():
    q1 = Dividend(dt.date(2024, 2, 9), Decimal("0.24"))
    q2 = Dividend(dt.date(2024, 5, 10), Decimal("0.25"))
    schedule = (q2, q1)  # any order: the next ex-date first
    none = (0, 0, False)
    week_before = q1.activation - 7 * 86_400
    assert next_dividend_step(schedule, none, week_before) == (DividendStep.STAGE, q1)
    staged = (24_000_000, q1.activation, False)  # $0.24 in 8 decimals
    assert next_dividend_step(schedule, staged, week_before) == (DividendStep.STAGED, q1)
    other = (25_000_000, q1.activation, False)
    assert next_dividend_step(schedule, other, week_before) == (DividendStep.CONFLICT, q1)
    # inside a reporter's notice (a day, and the keeper's margin): the admin's to stage
    late = q1.activation - MIN_DIVIDEND_NOTICE_S - DIVIDEND_STAGING_MARGIN_S + 1
    assert next_dividend_step(schedule, none, late) == (DividendStep.LATE, q1)
    assert next_dividend_step(schedule, none, late - 1) == (DividendStep.STAGE, q1)
    # from the ex-date on, the next one
    assert next_dividend_step(schedule, none, q1.activation) == (DividendStep.STAGE, q2)
    assert next_dividend_step(schedule, none, q2.activation) is None
    assert next_dividend_step((), none, week_before) is None
    # found by the AAPL replay: from its ex-date's 00:00 UTC until the session's first print
    # applies it, q1 is still staged; that is no conflict with q2 (it logged an ERROR)
    for t in (q1.activation, q1.activation + 9 * 3_600):
        assert next_dividend_step(schedule, staged, t) is None


def test_dividend_schedules_parse_from_flags_and_the_data_file():
    assert parse_dividends("") == ()
    assert parse_dividends("2024-05-10:0.25, 2024-02-09:0.24") == (
        Dividend(dt.date(2024, 2, 9), Decimal("0.24")),
        Dividend(dt.date(2024, 5, 10), Decimal("0.25")),
    )
    for bad in ("2024-02-09", "2024-02-09:zero", "2024-02-09:0", "2024-02-30:0.24"):
        with pytest.raises(ValueError):
            parse_dividends(bad)
    aapl = parse_dividends("data/aapl_dividends.csv")
    assert len(aapl) == 8 and aapl[0] == Dividend(dt.date(2023, 2, 10), Decimal("0.23"))
    assert {d.amount for d in aapl} == {Decimal("0.23"), Decimal("0.24"), Decimal("0.25")}
    # each ex-date is a session, activation at its 00:00 UTC (the market CLOSED)
    assert all(d.activation == to_ts(d.ex_date) for d in aapl)
