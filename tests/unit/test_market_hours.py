"""NYSE calendar edge cases: weekends, US holidays, early closes, daylight-saving shifts."""

import datetime as dt

import pytest

from synthequity.constants import MarketStatus
from synthequity.market_hours import OutsideCalendar, nyse, to_ts

OPEN, CLOSED = MarketStatus.OPEN, MarketStatus.CLOSED


@pytest.fixture(scope="module")
def cal():
    return nyse()


@pytest.mark.parametrize(
    "utc_time, status",
    [
        ("2022-11-22T14:29:59", CLOSED),  # Tue, one second before the 09:30 ET open (EST)
        ("2022-11-22T14:30:00", OPEN),  # the open
        ("2022-11-22T20:59:59", OPEN),
        ("2022-11-22T21:00:00", CLOSED),  # 16:00 ET close is exclusive
        ("2022-11-24T16:00:00", CLOSED),  # Thanksgiving
        ("2022-11-25T17:59:59", OPEN),  # Black Friday early close at 13:00 ET
        ("2022-11-25T18:00:00", CLOSED),
        ("2022-11-26T16:00:00", CLOSED),  # Saturday
        ("2022-11-27T16:00:00", CLOSED),  # Sunday
        ("2024-07-03T16:59:59", OPEN),  # day before Independence Day closes at 13:00 ET (EDT)
        ("2024-07-03T17:00:00", CLOSED),
        ("2024-07-04T15:00:00", CLOSED),  # Independence Day
        ("2024-07-05T13:30:00", OPEN),  # summer: 09:30 ET is 13:30 UTC
        ("2024-07-05T13:29:59", CLOSED),
        ("2023-03-10T14:30:00", OPEN),  # Fri before DST: 09:30 EST = 14:30 UTC
        ("2023-03-13T13:30:00", OPEN),  # Mon after DST: 09:30 EDT = 13:30 UTC
        ("2023-03-13T20:00:00", CLOSED),  # ... and 16:00 EDT = 20:00 UTC
        ("2023-01-02T15:00:00", CLOSED),  # New Year's Day observed (Monday)
        ("2023-01-16T15:00:00", CLOSED),  # Martin Luther King Jr. Day
        ("2023-04-07T15:00:00", CLOSED),  # Good Friday
        ("2023-06-19T15:00:00", CLOSED),  # Juneteenth
    ],
)
def test_status_at(cal, utc_time, status):
    assert cal.status_at(to_ts(utc_time)) is status


def test_next_open_skips_weekends_and_holidays(cal):
    # Wed close before Thanksgiving -> Fri open; Fri early close -> Mon open
    assert cal.next_open(to_ts("2022-11-23T21:00:00")) == to_ts("2022-11-25T14:30:00")
    assert cal.next_open(to_ts("2022-11-25T18:00:00")) == to_ts("2022-11-28T14:30:00")
    # at the open exactly, the next open is the following session's
    assert cal.next_open(to_ts("2022-11-28T14:30:00")) == to_ts("2022-11-29T14:30:00")


def test_sessions_and_early_close(cal):
    days = [d for d, _, _ in cal.sessions_between(dt.date(2022, 11, 21), dt.date(2022, 11, 27))]
    assert days == [dt.date(2022, 11, d) for d in (21, 22, 23, 25)]
    assert cal.session(dt.date(2022, 11, 24)) is None
    open_, close = cal.session(dt.date(2022, 11, 25))
    assert close - open_ == int(3.5 * 3600)


def test_session_index_and_last_closed(cal):
    during = to_ts("2022-11-23T18:00:00")
    i = cal.session_index_at(during)
    assert cal.sessions[i] == dt.date(2022, 11, 23)
    assert cal.session_index_at(to_ts("2022-11-24T18:00:00")) is None
    j = cal.last_closed_session(to_ts("2022-11-24T18:00:00"))
    assert cal.sessions[j] == dt.date(2022, 11, 23)


def test_outside_range_is_an_error(cal):
    with pytest.raises(OutsideCalendar):
        cal.status_at(to_ts("1999-01-04T15:00:00"))
