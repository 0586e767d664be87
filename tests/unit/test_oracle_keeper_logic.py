"""Oracle keeper decisions (pure): every branch of `decide`."""

from decimal import Decimal

import pytest

from synthequity.constants import MarketStatus
from synthequity.keepers.oracle.logic import (
    Action,
    FeedState,
    Observation,
    PushPolicy,
    decide,
    to_feed_units,
)

OPEN, CLOSED, HALTED = MarketStatus.OPEN, MarketStatus.CLOSED, MarketStatus.HALTED
T = 1_700_000_000
P = 250 * 10**8
POLICY = PushPolicy()


def feed(answer=P, updated_at=T, status=OPEN, suspect=False, jump=2_500):
    return FeedState(7, answer, updated_at, status, suspect, jump)


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


def test_jump_beyond_guard_is_refused_without_a_second_source():
    d = decide(obs(answer=P * 7 // 10), feed(), T + 10, POLICY)  # -30%
    assert d.action is Action.REFUSE
    assert "beyond the guard" in d.reason


def test_jump_confirmed_by_an_agreeing_second_source():
    gap = P * 7 // 10
    ok = decide(obs(answer=gap), feed(), T + 10, POLICY, confirmation=obs(answer=gap + gap // 200))
    assert (ok.action, ok.reason) == (Action.PUSH, "jump confirmed by second source")
    far = decide(obs(answer=gap), feed(), T + 10, POLICY, confirmation=obs(answer=P))
    assert far.action is Action.REFUSE


def test_suspect_feed_gets_our_independent_print():
    d = decide(obs(answer=P), feed(answer=P * 1_000, suspect=True), T + 10, POLICY)
    assert (d.action, d.reason) == (Action.PUSH, "resolve suspect feed")


def test_non_positive_price_is_refused():
    assert decide(obs(answer=0), feed(), T + 10, POLICY).action is Action.REFUSE


def test_to_feed_units_rounds_half_even():
    assert to_feed_units(Decimal("250.123456785")) == 25_012_345_678
    assert to_feed_units(Decimal("250.123456775")) == 25_012_345_678
    assert to_feed_units(Decimal("1")) == 10**8
