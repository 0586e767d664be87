"""NYSE session calendar (docs/spec.md §5, §9): when is the equity market OPEN or CLOSED.

Built on `exchange_calendars` (XNYS: weekends, US holidays, early closes). Session bounds are
precomputed as unix seconds so that `status_at` is a bisect, cheap enough for every keeper tick
and every replayed print.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterator
from functools import lru_cache

import exchange_calendars as xcals

from synthequity.constants import MarketStatus

CALENDAR_START = "2010-01-01"


class OutsideCalendar(ValueError):
    """A time outside the loaded calendar's range."""


class MarketCalendar:
    """Sessions of one exchange as [open, close) intervals in unix seconds."""

    def __init__(self, name: str = "XNYS", start: str = CALENDAR_START, end: str | None = None):
        end = end or (dt.date.today() + dt.timedelta(days=730)).isoformat()
        cal = xcals.get_calendar(name, start=start, end=end)
        self.name = name
        self.sessions: list[dt.date] = [d.date() for d in cal.sessions]
        self.opens: list[int] = [int(t.timestamp()) for t in cal.opens]
        self.closes: list[int] = [int(t.timestamp()) for t in cal.closes]
        self._by_date = {d: i for i, d in enumerate(self.sessions)}

    # ---- queries --------------------------------------------------------------------
    def _check(self, ts: int) -> None:
        if not self.opens[0] - 7 * 86_400 <= ts <= self.closes[-1]:
            raise OutsideCalendar(f"{ts} is outside the {self.name} calendar range")

    def status_at(self, ts: int) -> MarketStatus:
        """OPEN during a session ([open, close)), CLOSED otherwise."""
        self._check(ts)
        i = bisect_right(self.opens, ts) - 1
        return MarketStatus.OPEN if i >= 0 and ts < self.closes[i] else MarketStatus.CLOSED

    def session(self, day: dt.date) -> tuple[int, int] | None:
        """(open, close) of `day`, or None when it is not a trading day."""
        i = self._by_date.get(day)
        return None if i is None else (self.opens[i], self.closes[i])

    def next_open(self, ts: int) -> int:
        """The first session open strictly after `ts`."""
        self._check(ts)
        i = bisect_right(self.opens, ts)
        if i >= len(self.opens):
            raise OutsideCalendar(f"no session after {ts}")
        return self.opens[i]

    def last_closed_session(self, ts: int) -> int | None:
        """Index of the latest session that had closed at `ts` (close <= ts)."""
        i = bisect_right(self.closes, ts) - 1
        return i if i >= 0 else None

    def session_index_at(self, ts: int) -> int | None:
        """Index of the session in progress at `ts`, if any."""
        i = bisect_right(self.opens, ts) - 1
        return i if i >= 0 and ts < self.closes[i] else None

    def sessions_between(self, start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, int, int]]:
        """(date, open, close) of every session with start <= date <= end."""
        for i, day in enumerate(self.sessions):
            if start <= day <= end:
                yield day, self.opens[i], self.closes[i]


@lru_cache(maxsize=4)
def nyse(end: str | None = None) -> MarketCalendar:
    """The shared XNYS calendar (loading it takes ~0.5 s, so it is built once)."""
    return MarketCalendar("XNYS", CALENDAR_START, end)


def utc(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def to_ts(value: str | dt.date | dt.datetime) -> int:
    """Unix seconds from an ISO date/datetime (naive values are UTC)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp())
    return int(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp())
