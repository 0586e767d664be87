"""Property: whatever the oracle keepers decide to push, the oracle accepts — checked against
the oracle's reference model over random price paths, clocks and a second source's answers —
and the primary's view of a jump is the chain's (a print it calls a jump is stored suspect)."""

from hypothesis import given
from hypothesis import strategies as st

from synthequity.constants import MarketStatus
from synthequity.keepers.oracle.logic import (
    Action,
    FeedState,
    Observation,
    PushPolicy,
    decide,
    decide_confirm,
)
from synthequity.model.oracle import FeedModel

P = 250 * 10**8
POLICY = PushPolicy()


@given(
    start=st.integers(10**9, 2 * 10**9),
    steps=st.lists(
        st.tuples(
            st.integers(-4_000, 4_000),  # move, bps
            st.integers(0, 400),  # seconds passing
            st.sampled_from(list(MarketStatus)),
            st.integers(0, 30),  # source clock skew
            st.sampled_from([None, 0, 300, -5_000, 99_900_000]),  # second source: off by bps
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_whatever_the_keepers_push_the_oracle_accepts(start, steps):
    """Drive decide() and decide_confirm() against the oracle's reference model: a PUSH never
    reverts, nothing older than the chain is sent, a primary's jump is stored suspect, and the
    confirming keeper pushes only while the feed is suspect."""
    model = FeedModel()
    now, price, confirmed_at = start, P, None
    for move_bps, dt_s, status, skew, second_off_bps in steps:
        now += dt_s
        price = max(1, price + price * move_bps // 10_000)
        o = Observation(price, now - skew + 5, status)  # sometimes ahead of the chain
        before = FeedState.of_model(model)
        d = decide(o, before, now, POLICY)
        assert d.action is not Action.REFUSE
        if d.action is Action.PUSH:
            assert d.observation.observed_at <= now
            model.push(
                "primary",
                d.observation.answer,
                d.observation.observed_at,
                int(d.observation.status),
                now,
            )  # raises if the oracle would revert
            if d.reason.startswith("jump"):
                assert model.suspect
        if second_off_bps is None:
            continue
        now += 1
        second = max(1, price + price * second_off_bps // 10_000)
        feed = FeedState.of_model(model)
        c = decide_confirm(Observation(second, now - skew, status), feed, now, POLICY, confirmed_at)
        if c.action is Action.PUSH:
            assert feed is not None and feed.suspect
            model.push(
                "confirmer", c.observation.answer, c.observation.observed_at, int(status), now
            )
            confirmed_at = now
