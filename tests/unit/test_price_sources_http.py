"""The network price sources against recorded answers served from 127.0.0.1
(tests/fixtures/sources, synthequity.testing.price_apis): Pyth Hermes (exponent, confidence,
several feed ids in one request, the API key, 429 back-off, the calendar's status), Chainlink
Data Streams (HMAC headers checked by the server, v8 and v10 reports decoded, marketStatus
authoritative, a stale report, a split schedule), and HttpJsonSource's headers, exponent and
single session."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from decimal import Decimal

import pytest
from eth_abi import encode

from synthequity.constants import MarketStatus
from synthequity.corporate_actions import Dividend
from synthequity.keepers.oracle.logic import Action, Observation, PushPolicy, decide
from synthequity.keepers.oracle.sources import (
    CorporateAction,
    DataStreamsSource,
    FeedSplit,
    HttpClient,
    HttpJsonSource,
    PythHermes,
    PythSource,
    SourceConfig,
    SourceError,
    SourceRateLimited,
    SourceUnauthorized,
    decode_full_report,
    parse_headers,
    parse_source,
    schema_version,
)
from synthequity.market_hours import nyse
from synthequity.testing.price_apis import (
    DS_KEY,
    DS_SECRET,
    DS_V8,
    DS_V10,
    FRI_1900,
    FRI_CLOSE,
    MON_OPEN,
    PYTH_AAPL,
    PYTH_KEY,
    PYTH_TSLA,
    SPLIT_AT,
    PriceApis,
    recorded,
)

SATURDAY = FRI_CLOSE + 86_400
E18 = 10**18


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def apis():
    with PriceApis(pyth_key=PYTH_KEY, ds_key=DS_KEY, ds_secret=DS_SECRET) as srv:
        yield srv


def pyth(apis: PriceApis, feed: str = PYTH_TSLA, key: str = PYTH_KEY, clock=None) -> PythSource:
    client = HttpClient(timeout_s=2, clock=clock or Clock())
    return PythSource(PythHermes(apis.url, key, client, cache_s=0), feed, nyse())


def datastreams(apis: PriceApis, feed: str = DS_V8, secret: str = DS_SECRET) -> DataStreamsSource:
    return DataStreamsSource(feed, apis.url, DS_KEY, secret, HttpClient(timeout_s=2))


# ---- Pyth ---------------------------------------------------------------------------


def test_pyth_applies_the_exponent_to_price_and_confidence(apis):
    apis.pyth = recorded("pyth_friday.json")
    q = pyth(apis).quote(FRI_1900 + 3)
    assert q.price == Decimal("300.12345")  # 30012345 x 10^-5
    assert q.conf == Decimal("0.15")  # 15000 x 10^-5
    assert (q.observed_at, q.status) == (FRI_1900, MarketStatus.OPEN)
    assert apis.headers_seen[-1]["Authorization"] == "Bearer pyth-key"


def test_pyth_reads_several_feed_ids_in_one_request(apis):
    apis.pyth = recorded("pyth_friday.json")
    hermes = PythHermes(apis.url, PYTH_KEY, HttpClient(timeout_s=2))
    tsla, aapl = PythSource(hermes, PYTH_TSLA), PythSource(hermes, PYTH_AAPL[2:])
    assert tsla.quote(FRI_1900).price == Decimal("300.12345")
    assert aapl.quote(FRI_1900).price == Decimal("203.9")
    assert len(apis.hits) == 1  # the second quote came from the same answer
    path, query = apis.hits[0]
    assert path == "/v2/updates/price/latest"
    assert query["ids[]"] == [PYTH_TSLA[2:], PYTH_AAPL[2:]] and query["parsed"] == ["true"]


def test_pyth_without_its_api_key_is_unauthorized(apis):
    apis.pyth = recorded("pyth_friday.json")
    with pytest.raises(SourceUnauthorized, match="401"):
        pyth(apis, key="").quote(FRI_1900)
    with pytest.raises(SourceUnauthorized, match="401"):
        pyth(apis, key="wrong").quote(FRI_1900)


def test_pyth_backs_off_after_429_without_sending(apis):
    apis.pyth = recorded("pyth_friday.json")
    clock = Clock()
    src = pyth(apis, clock=clock)
    apis.fail_with = 429
    with pytest.raises(SourceRateLimited) as first:
        src.quote(FRI_1900)
    assert first.value.retry_in_s == 60  # Hermes' public block
    clock.t += 59
    with pytest.raises(SourceRateLimited, match="backing off 1 s more"):
        src.quote(FRI_1900)
    assert len(apis.hits) == 1  # nothing sent while backing off
    clock.t += 1
    with pytest.raises(SourceRateLimited) as second:
        src.quote(FRI_1900)
    assert second.value.retry_in_s == 120 and len(apis.hits) == 2  # doubled, 429 in a row
    apis.fail_with, apis.retry_after = 429, 300
    clock.t += 120
    with pytest.raises(SourceRateLimited) as third:
        src.quote(FRI_1900)
    assert third.value.retry_in_s == 300  # Retry-After when longer (240 < 300)
    apis.fail_with = None
    clock.t += 300
    assert src.quote(FRI_1900).price == Decimal("300.12345")
    assert src.hermes.client.rate_limited == 0  # back to normal


def test_pyth_status_comes_from_the_calendar_and_a_closed_market_keeps_the_last_price(apis):
    apis.pyth = recorded("pyth_friday_last.json")  # published 19:59:59, then nothing
    src = pyth(apis)
    q = src.quote(FRI_CLOSE - 1)
    assert (q.status, q.observed_at, q.price) == (MarketStatus.OPEN, FRI_CLOSE - 1, 301)
    q = src.quote(SATURDAY)
    assert (q.status, q.observed_at, q.price) == (MarketStatus.CLOSED, SATURDAY, 301)


def test_pyth_market_session_in_the_payload_wins_over_the_calendar(apis):
    answer = recorded("pyth_friday.json")
    answer["parsed"][0]["metadata"]["market_session"] = "halted"
    apis.pyth = answer
    q = pyth(apis).quote(FRI_1900 + 3)  # the calendar says OPEN
    assert q.status is MarketStatus.HALTED and q.observed_at == FRI_1900 + 3


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda a: a.update(parsed=[]), "no price for this feed id"),
        (lambda a: a.pop("parsed"), "no parsed prices"),
        (lambda a: a["parsed"][0]["price"].pop("expo"), "malformed price"),
        (lambda a: a["parsed"][0]["price"].update(price="-5"), "non-positive"),
        (lambda a: a["parsed"][0].update(metadata="n/a"), "malformed price"),
    ],
    ids=["feed-missing", "no-parsed", "no-expo", "negative", "metadata-not-object"],
)
def test_pyth_malformed_answers_are_source_errors(apis, mutate, match):
    answer = recorded("pyth_friday.json")
    mutate(answer)
    apis.pyth = answer
    with pytest.raises(SourceError, match=match):
        pyth(apis).quote(FRI_1900)


def test_pyth_metadata_may_be_null(apis):
    answer = recorded("pyth_friday.json")
    answer["parsed"][0]["metadata"] = None
    apis.pyth = answer
    q = pyth(apis).quote(FRI_1900 + 3)
    assert (q.price, q.status) == (Decimal("300.12345"), MarketStatus.OPEN)


def test_a_report_for_a_feed_id_that_is_not_hex_is_a_source_error(apis):
    answer = recorded("ds_v8_open.json")
    answer["report"]["feedID"] = 8
    apis.datastreams[DS_V8] = answer
    with pytest.raises(SourceError, match="malformed report"):
        datastreams(apis, DS_V8).quote(FRI_1900)


def test_malformed_json_is_a_source_error(apis):
    apis.pyth = recorded("pyth_friday.json")
    apis.datastreams[DS_V8] = recorded("ds_v8_open.json")
    apis.raw = b'{"parsed": [ {"id": '
    with pytest.raises(SourceError, match="malformed JSON"):
        pyth(apis).quote(FRI_1900)
    with pytest.raises(SourceError, match="malformed JSON"):
        datastreams(apis).quote(FRI_1900)


# ---- Chainlink Data Streams ---------------------------------------------------------


def test_datastreams_v8_signed_request_and_decoded_report(apis):
    apis.datastreams[DS_V8] = recorded("ds_v8_open.json")
    q = datastreams(apis).quote(FRI_1900)  # the server checked the HMAC
    assert q.price == Decimal("300.25")  # midPrice 300.25e18
    assert (q.observed_at, q.status, q.action) == (FRI_1900 - 2, MarketStatus.OPEN, None)
    path, query = apis.hits[-1]
    assert path == "/api/v1/reports/latest" and query["feedID"] == [DS_V8]
    seen = apis.headers_seen[-1]
    assert seen["Authorization"] == DS_KEY and len(seen["X-Authorization-Signature-SHA256"]) == 64


def test_datastreams_hmac_signature_is_the_documented_one():
    src = DataStreamsSource(
        DS_V8, "http://x", "key-id", "secret", wall_ms=lambda: 1_716_211_845_123
    )
    headers = src.auth_headers(f"/api/v1/reports/latest?feedID={DS_V8}")
    message = (
        f"GET /api/v1/reports/latest?feedID={DS_V8} "
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 key-id 1716211845123"
    )
    assert headers == {
        "Authorization": "key-id",
        "X-Authorization-Timestamp": "1716211845123",
        "X-Authorization-Signature-SHA256": hmac.new(
            b"secret", message.encode(), hashlib.sha256
        ).hexdigest(),
    }


def test_datastreams_wrong_secret_is_unauthorized(apis):
    apis.datastreams[DS_V8] = recorded("ds_v8_open.json")
    with pytest.raises(SourceUnauthorized, match="401"):
        datastreams(apis, secret="not-the-secret").quote(FRI_1900)


def test_datastreams_market_status_is_authoritative(apis):
    apis.datastreams[DS_V8] = recorded("ds_v8_closed.json")
    q = datastreams(apis).quote(FRI_CLOSE + 3_600)
    # CLOSED, observed when the report was (an hour after the close), at the close price
    assert (q.status, q.observed_at, q.price) == (MarketStatus.CLOSED, FRI_CLOSE + 3_600, 301)
    apis.datastreams[DS_V8] = recorded("ds_v8_open.json")
    q = datastreams(apis).quote(SATURDAY)  # the calendar would say CLOSED: the report says OPEN
    assert q.status is MarketStatus.OPEN


def test_a_stale_report_is_not_pushed(apis):
    apis.datastreams[DS_V8] = recorded("ds_v8_stale.json")
    q = datastreams(apis).quote(FRI_1900)
    assert q.observed_at == FRI_1900 - 600  # lastUpdateTimestamp (ns), not the report's time
    obs = Observation(30_000_000_000, q.observed_at, q.status)
    d = decide(obs, None, FRI_1900, PushPolicy())
    assert (d.action, d.reason) == (Action.SKIP, "source stale")


def test_datastreams_v10_carries_the_split_schedule(apis):
    apis.datastreams[DS_V10] = recorded("ds_v10_friday.json")
    q = datastreams(apis, DS_V10).quote(FRI_1900)
    assert q.price == Decimal("300.2") and q.status is MarketStatus.OPEN
    assert q.action == CorporateAction(E18, 3 * E18, SPLIT_AT)
    assert q.action.split == FeedSplit(dt.date(2025, 6, 10), 3, SPLIT_AT)
    assert q.action.split.activation == SPLIT_AT


def test_datastreams_v10_after_an_activation_announces_nothing(apis):
    """Once the multiplier applied, v10 reports new = current: no corporate action (the keeper
    used to log that as one it could not stage, once per activation)."""
    apis.datastreams[DS_V10] = recorded("ds_v10_after_split.json")
    q = datastreams(apis, DS_V10).quote(SPLIT_AT + 86_400)
    assert q.price == Decimal(71) and q.action is None


def test_datastreams_v10_dividend_multiplier_is_not_a_split(apis):
    apis.datastreams[DS_V10] = recorded("ds_v10_dividend.json")
    q = datastreams(apis, DS_V10).quote(FRI_1900)
    assert q.action is not None and q.action.split is None  # 1 -> 1.0017
    # a dividend reinvested: 1.0017 = cum / (cum - d), so d = $300 x 0.0017 / 1.0017
    assert q.action.dividend(q.price) == Dividend(dt.date(2025, 6, 10), Decimal("0.50913447"))
    assert CorporateAction(3 * E18, E18, SPLIT_AT).split is None  # a reverse split
    assert CorporateAction(3 * E18, E18, SPLIT_AT).dividend(q.price) is None
    assert CorporateAction(E18, 5 * E18 + 1, SPLIT_AT).split.ratio == 5  # to 1e-6
    assert CorporateAction(E18, 5 * E18 + 1, SPLIT_AT).dividend(q.price) is None  # a split
    # the activation the evening before (21:00 UTC, 17:00 New York): the ex-date is the
    # next session's day, not the UTC day (the dividend would apply a session early)
    evening = CorporateAction(E18, 10_017 * E18 // 10_000, SPLIT_AT - 3 * 3_600)
    assert evening.dividend(q.price).ex_date == dt.date(2025, 6, 10)
    # x1.1 is 9.1%: an ordinary dividend; x1.5 (a 3-for-2 split?) and x2.1 are neither a
    # whole split nor an ordinary dividend: the admin decides
    assert CorporateAction(E18, E18 * 11 // 10, SPLIT_AT).dividend(q.price).amount == Decimal(
        "27.27272727"
    )
    for rise in (15, 21):
        wide = CorporateAction(E18, E18 * rise // 10, SPLIT_AT)
        assert wide.split is None and wide.dividend(q.price) is None
    assert CorporateAction(E18, E18, SPLIT_AT).dividend(q.price) is None  # no change


def test_full_report_decodes_every_v10_field():
    ctx, f = decode_full_report(recorded("ds_v10_monday.json")["report"]["fullReport"])
    assert ctx[1] == (7_000_001).to_bytes(32, "big")
    assert "0x" + f["feedId"].hex() == DS_V10 and schema_version(DS_V10) == 10
    assert (f["validFromTimestamp"], f["observationsTimestamp"]) == (MON_OPEN + 60,) * 2
    assert (f["nativeFee"], f["linkFee"], f["expiresAt"]) == (10**14, 10**15, MON_OPEN + 86_460)
    assert f["lastUpdateTimestamp"] == (MON_OPEN + 58) * 10**9
    assert f["price"] == 21_060 * E18 // 100 and f["marketStatus"] == 2
    assert (f["currentMultiplier"], f["newMultiplier"]) == (E18, 3 * E18)
    assert f["activationDateTime"] == SPLIT_AT and f["tokenizedPrice"] == f["price"] + E18 // 4


def test_datastreams_refuses_other_schemas_and_other_feeds(apis):
    with pytest.raises(ValueError, match="v3 is not supported"):
        DataStreamsSource("0x0003" + "00" * 30)
    answer = recorded("ds_v8_open.json")
    answer["report"]["feedID"] = DS_V10
    apis.datastreams[DS_V8] = answer
    with pytest.raises(SourceError, match="answer is for feed"):
        datastreams(apis).quote(FRI_1900)
    v3_blob = encode(["bytes32", "uint32"], [bytes.fromhex("0003" + "00" * 30), 1])
    full = encode(
        ["bytes32[3]", "bytes", "bytes32[]", "bytes32[]", "bytes32"],
        [[bytes(32)] * 3, v3_blob, [], [], bytes(32)],
    )
    with pytest.raises(SourceError, match="v3 is not supported"):
        decode_full_report("0x" + full.hex())
    with pytest.raises(SourceError, match="undecodable"):
        decode_full_report("0x1234")


def test_datastreams_unknown_feed_is_a_source_error(apis):
    with pytest.raises(SourceError, match="HTTP 404"):
        datastreams(apis).quote(FRI_1900)


# ---- HttpJsonSource ------------------------------------------------------------------


def test_http_source_sends_headers_applies_the_exponent_and_keeps_one_connection(apis):
    apis.json = {"data": {"px": 30_012_345_678, "t": FRI_1900}}
    src = HttpJsonSource(
        apis.url + "/price#price=data.px&time=data.t&exp=-8",
        headers={"X-Api-Key": "k1"},
        calendar=nyse(),
    )
    for _ in range(3):
        q = src.quote(FRI_1900)
    assert q.price == Decimal("300.12345678") and q.status is MarketStatus.OPEN
    assert all(h["X-Api-Key"] == "k1" for h in apis.headers_seen)
    assert len(apis.peers) == 3 and len(set(apis.peers)) == 1  # one keep-alive connection


def test_parse_source_builds_every_kind_from_the_config(apis):
    cfg = SourceConfig(
        pyth_url=apis.url,
        pyth_api_key=PYTH_KEY,
        datastreams_url=apis.url,
        datastreams_api_key=DS_KEY,
        datastreams_api_secret=DS_SECRET,
        http_headers=parse_headers("X-Api-Key: k2; Accept: application/json"),
    )
    apis.pyth = recorded("pyth_friday.json")
    apis.datastreams[DS_V10] = recorded("ds_v10_friday.json")
    apis.json = {"price": "300.5", "timestamp": FRI_1900}
    assert parse_source(f"pyth:{PYTH_TSLA}", config=cfg).quote(FRI_1900).price == Decimal(
        "300.12345"
    )
    assert parse_source(f"datastreams:{DS_V10}", config=cfg).quote(FRI_1900).price == Decimal(
        "300.2"
    )
    assert parse_source(f"http:{apis.url}/price", config=cfg).quote(FRI_1900).price == 300.5
    assert apis.headers_seen[-1]["X-Api-Key"] == "k2"
    with pytest.raises(ValueError, match="32 bytes"):
        parse_source("pyth:0x1234", config=cfg)
    with pytest.raises(ValueError, match="NAME: VALUE"):
        parse_headers("no-colon")
