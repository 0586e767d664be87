"""Integration fixtures: future NYSE sessions relative to the node's clock, so that replays
never need the clock to go backwards, whatever day CI runs."""

from __future__ import annotations

import datetime as dt

import pytest

from synthequity.market_hours import nyse


@pytest.fixture(scope="session")
def calendar():
    return nyse()


@pytest.fixture
def weekend_gap(calendar, chain):
    """(friday, monday): the first session that a weekend (or longer break) follows, at least
    two days after the node's clock, and the session after it."""
    today = dt.datetime.fromtimestamp(chain.pending_timestamp, dt.UTC).date()
    sessions = calendar.sessions
    for i, day in enumerate(sessions[:-1]):
        if day >= today + dt.timedelta(days=2) and (sessions[i + 1] - day).days >= 3:
            return day, sessions[i + 1]
    raise AssertionError("calendar too short")
