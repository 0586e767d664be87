"""Price sources: CSV replay (intraday path, closes, holidays), seeded GBM, HTTP JSON."""

import datetime as dt
from decimal import Decimal

import pytest

from synthequity.constants import MarketStatus
from synthequity.keepers.oracle.sources import (
    CsvReplaySource,
    DailyBar,
    GbmSource,
    HttpJsonSource,
    SourceError,
    intraday_price,
    parse_source,
)
from synthequity.market_hours import nyse, to_ts
from synthequity.testing.http_source import PriceServer

CSV = "data/tsla_daily.csv"


@pytest.fixture(scope="module")
def replay():
    return CsvReplaySource(CSV, nyse())


def test_intraday_path_visits_low_then_high_on_an_up_day():
    bar = DailyBar(dt.date(2022, 11, 23), Decimal(100), Decimal(130), Decimal(90), Decimal(120))
    assert [intraday_price(bar, f) for f in (0, 1 / 3, 2 / 3, 1)] == [100, 90, 130, 120]
    assert intraday_price(bar, 1 / 6) == 95


def test_intraday_path_visits_high_then_low_on_a_down_day():
    bar = DailyBar(dt.date(2022, 11, 23), Decimal(100), Decimal(110), Decimal(80), Decimal(85))
    assert [intraday_price(bar, f) for f in (0, 1 / 3, 2 / 3, 1)] == [100, 110, 80, 85]


def test_csv_replay_through_a_holiday_week(replay):
    q = replay.quote(to_ts("2022-11-23T14:30:00"))  # Wed open
    assert (q.price, q.status) == (Decimal("173.57"), MarketStatus.OPEN)
    q = replay.quote(to_ts("2022-11-23T21:00:00"))  # Wed close
    assert (q.price, q.status) == (Decimal("183.20"), MarketStatus.CLOSED)
    q = replay.quote(to_ts("2022-11-24T17:00:00"))  # Thanksgiving: Wednesday's close
    assert (q.price, q.status) == (Decimal("183.20"), MarketStatus.CLOSED)
    q = replay.quote(to_ts("2022-11-25T18:00:00"))  # Fri early close
    assert (q.price, q.status) == (Decimal("182.86"), MarketStatus.CLOSED)
    q = replay.quote(to_ts("2022-11-25T17:59:59"))
    assert q.status is MarketStatus.OPEN
    assert abs(q.price - Decimal("182.86")) < Decimal("0.01")


def test_csv_replay_has_no_quote_for_sessions_outside_the_file(replay):
    assert replay.quote(to_ts("2025-03-04T15:00:00")) is None


def test_gbm_is_deterministic_and_still_while_closed():
    cal = nyse()
    times = [to_ts("2022-11-25T15:00:00") + 60 * i for i in range(10)]
    a, b = GbmSource(7, calendar=cal), GbmSource(7, calendar=cal)
    assert [a.quote(t).price for t in times] == [b.quote(t).price for t in times]
    fresh = GbmSource(7, calendar=cal)
    assert len({fresh.quote(t).price for t in times}) == len(times)  # moves while OPEN
    c = GbmSource(7, calendar=cal)
    c.quote(to_ts("2022-11-25T17:00:00"))
    weekend = [c.quote(to_ts("2022-11-26T12:00:00") + 3_600 * i) for i in range(5)]
    assert len({q.price for q in weekend}) == 1
    assert all(q.status is MarketStatus.CLOSED for q in weekend)
    assert GbmSource(8, calendar=cal).quote(times[0]).price == Decimal("250.0")


@pytest.fixture
def server():
    with PriceServer() as srv:
        yield srv


def test_http_source_reads_nested_paths_and_time_formats(server):
    server.payload = {"data": {"px": "251.5", "t": 1_700_000_000_000}}
    src = HttpJsonSource(server.url + "#price=data.px&time=data.t")
    q = src.quote(0)
    assert (q.price, q.observed_at) == (Decimal("251.5"), 1_700_000_000)
    server.payload = {"data": {"px": 251.25, "t": "2022-11-25T17:00:00Z"}}
    q = src.quote(0)
    assert (q.price, q.observed_at, q.status) == (
        Decimal("251.25"),
        to_ts("2022-11-25T17:00:00"),
        MarketStatus.OPEN,
    )


def test_http_source_status_from_payload(server):
    server.payload = [{"price": 10, "timestamp": 1_669_392_000, "state": "halted"}]
    src = HttpJsonSource(server.url + "#price=0.price&time=0.timestamp&status=0.state")
    assert src.quote(0).status is MarketStatus.HALTED


@pytest.mark.parametrize(
    "payload, raw, code",
    [
        ({"price": 1}, None, 200),
        ({"price": 0, "timestamp": 1}, None, 200),
        (None, b"not json", 200),
        ({"price": 1, "timestamp": 1}, None, 500),
        ({"price": "NaN", "timestamp": 1_669_392_000}, None, 200),
        ({"price": 1, "timestamp": "yesterday"}, None, 200),
    ],
    ids=["missing-time", "zero-price", "not-json", "http-500", "nan", "bad-time"],
)
def test_http_source_errors_are_source_errors(server, payload, raw, code):
    server.payload, server.raw, server.status_code = payload, raw, code
    with pytest.raises(SourceError):
        HttpJsonSource(server.url).quote(0)


def test_http_source_unreachable_is_a_source_error():
    with pytest.raises(SourceError):
        HttpJsonSource("http://127.0.0.1:9/none", timeout_s=0.5).quote(0)


def test_parse_source():
    assert isinstance(parse_source(f"csv:{CSV}"), CsvReplaySource)
    g = parse_source("gbm:3:100:0.2")
    assert isinstance(g, GbmSource) and g.name == "gbm:3"
    assert parse_source("http:http://127.0.0.1:1/x").url == "http://127.0.0.1:1/x"
    assert parse_source("https://example.invalid/p#price=a").price_path == "a"
    with pytest.raises(ValueError, match="unknown source"):
        parse_source("ftp:nope")
