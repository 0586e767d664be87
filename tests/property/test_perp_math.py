"""`perp_math` (Vyper) == `synthequity.model.perp` (Python) over random inputs: fill price,
fees, funding accrual across the cap, keeper reward, liquidation size. Direct titanoboa."""

from __future__ import annotations

import dataclasses

import boa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from synthequity.model import perp as m

P = m.PerpParams()
T = dataclasses.astuple(P)
WAD = m.WAD


@pytest.fixture(scope="module")
def harness():
    return boa.load("contracts/mocks/PerpMathHarness.vy")


prices = st.integers(WAD // 100, 10**5 * WAD)  # $0.01 .. $100,000
skews = st.integers(-3 * 10**6 * WAD, 3 * 10**6 * WAD)  # up to 3x the skew scale
deltas = st.integers(-(10**6) * WAD, 10**6 * WAD)


@given(price=prices, skew=skews, delta=deltas)
def test_fill_price_and_fee(harness, price, skew, delta):
    fill = m.fill_price(price, skew, delta, P)
    assert harness.fill_price(price, skew, delta, T) == fill
    if fill > 0:
        assert harness.order_fee(skew, delta, fill, T) == m.order_fee(skew, delta, fill, P)


@settings(max_examples=max(400, settings.default.max_examples))  # cheap pure calls
@example(rate=0, index=0, dt=10 * m.DAY, skew=-777_777 * WAD, price=200 * WAD)  # hits -cap
@example(rate=0, index=0, dt=10 * m.DAY, skew=777_777 * WAD, price=200 * WAD)  # hits +cap
@given(
    rate=st.integers(-2 * P.max_funding_rate, 2 * P.max_funding_rate),
    index=st.integers(-(10**24), 10**24),
    dt=st.integers(0, 30 * m.DAY),
    skew=skews,
    price=prices,
)
def test_funding_accrual(harness, rate, index, dt, skew, price):
    got = harness.accrue_funding(rate, index, dt, skew, price, T)
    want = m.accrue_funding(m.FundingState(rate, index, 0), skew, price, dt, P)
    if dt == 0:
        assert tuple(got) == (rate, index)
    else:
        assert tuple(got) == (want.rate, want.index)
        assert abs(want.rate) <= P.max_funding_rate


@given(
    size=st.integers(-(10**7) * WAD, 10**7 * WAD),
    index_now=st.integers(-(10**22), 10**22),
    index_entry=st.integers(-(10**22), 10**22),
)
def test_funding_owed(harness, size, index_now, index_entry):
    assert harness.funding_owed(size, index_now, index_entry) == m.funding_owed(
        size, index_now, index_entry
    )


@given(
    size=st.integers(-(10**7) * WAD, 10**7 * WAD).filter(bool),
    price=prices,
    equity=st.integers(-(10**30), 10**30),
)
def test_keeper_reward_and_liquidation_size(harness, size, price, equity):
    assert harness.keeper_reward(size, price, T) == m.keeper_reward(size, price, P)
    pos = m.Position(size, price, 0, 0)  # equity passed directly
    want = _liq(pos, equity, price)
    assert harness.liquidation_size(size, equity, price, T) == want


@given(
    size=st.integers(-(10**7) * WAD, 10**7 * WAD),
    price=prices,
    margin_bps=st.sampled_from([P.maintenance_margin_bps, P.initial_margin_bps]),
)
def test_min_equity(harness, size, price, margin_bps):
    """The minimum size (SPEC.md §4): the contract's floor == the model's, and it is never
    within the liquidation threshold."""
    want = m.min_equity(size, price, margin_bps, P)
    assert harness.min_equity(size, price, margin_bps, T) == want
    if size:
        assert not m.is_liquidatable(m.Position(size, price, want, 0), price, 0, P)
        assert want >= P.min_margin_usd


def _liq(pos: m.Position, equity: int, price: int) -> int:
    """model.liquidation_size with a given equity (margin chosen to produce it)."""
    return m.liquidation_size(dataclasses.replace(pos, margin=equity), price, 0, P)
