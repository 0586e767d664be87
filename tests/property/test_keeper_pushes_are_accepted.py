"""Property: whatever the oracle keeper decides to push, the oracle accepts — checked against
the oracle's reference model over random price paths, clocks and second-source answers."""

from hypothesis import given
from hypothesis import strategies as st

from synthequity.constants import MarketStatus
from synthequity.keepers.oracle.logic import Action, FeedState, Observation, PushPolicy, decide
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
            st.booleans(),  # a second source agrees
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_whatever_the_keeper_pushes_the_oracle_accepts(start, steps):
    """Drive decide() against the oracle's reference model: a PUSH never reverts, a jump is
    never pushed unconfirmed, and nothing older than the chain is ever sent."""
    model = FeedModel()
    now, price = start, P
    for move_bps, dt_s, status, skew, confirm in steps:
        now += dt_s
        price = max(1, price + price * move_bps // 10_000)
        o = Observation(price, now - skew + 5, status)  # sometimes ahead of the chain
        latest = model.latest
        state = (
            None
            if latest is None
            else FeedState(
                latest.round_id,
                latest.answer,
                latest.observed_at,
                latest.status,
                model.suspect,
                model.max_jump_bps,
            )
        )
        d = decide(o, state, now, POLICY, confirmation=o if confirm else None)
        if d.action is Action.PUSH:
            assert d.observation.observed_at <= now
            if state is not None and not state.suspect and not confirm:
                assert abs(d.observation.answer - state.answer) * 10_000 <= (
                    state.answer * state.max_jump_bps
                )
            model.push(
                "keeper",
                d.observation.answer,
                d.observation.observed_at,
                int(d.observation.status),
                now,
            )  # raises if the oracle would revert
