"""The oracle keeper over the network sources, against an in-memory chain backed by the
oracle's reference model and the recorded answers served from 127.0.0.1: the first push
bounded by the operator's band (a misread exponent refused, loudly, never pushed; again after
an outage), a 429 and a 401 counted, and a v10 split schedule reaching `stage_split` — or
logged for the admin when the keeper may not stage it."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from synthequity.constants import WAD, MarketStatus
from synthequity.keepers.oracle.cli import build_sources
from synthequity.keepers.oracle.logic import (
    Action,
    FeedState,
    Observation,
    PushPolicy,
    decide,
    decide_confirm,
    parse_band,
)
from synthequity.keepers.oracle.runner import OracleKeeper
from synthequity.keepers.oracle.settings import OracleKeeperSettings, load_oracle_settings
from synthequity.keepers.oracle.sources import (
    DataStreamsSource,
    HttpClient,
    PythHermes,
    PythSource,
)
from synthequity.market_hours import nyse
from synthequity.model.oracle import FeedModel
from synthequity.testing.model_feed import ModelFeed
from synthequity.testing.price_apis import (
    DS_KEY,
    DS_SECRET,
    DS_V10,
    FRI_1900,
    MON_CLOSE,
    MON_OPEN,
    PYTH_AAPL,
    PYTH_KEY,
    PYTH_TSLA,
    SPLIT_AT,
    TUE_OPEN,
    PriceApis,
    recorded,
)

BAND = PushPolicy(expect=parse_band("150:400"))


@pytest.fixture
def apis():
    with PriceApis(pyth_key=PYTH_KEY, ds_key=DS_KEY, ds_secret=DS_SECRET) as srv:
        yield srv


def pyth(apis: PriceApis) -> PythSource:
    return PythSource(PythHermes(apis.url, PYTH_KEY, HttpClient(2), cache_s=0), PYTH_TSLA, nyse())


def datastreams(apis: PriceApis) -> DataStreamsSource:
    return DataStreamsSource(DS_V10, apis.url, DS_KEY, DS_SECRET, HttpClient(2))


def staging_keeper(apis: PriceApis, model: FeedModel, **kw: bool) -> OracleKeeper:
    """A keeper on the v10 stream whose account holds DEFAULT_ADMIN, asked to stage splits."""
    io = ModelFeed(FRI_1900, model, "admin", admin=True)
    return OracleKeeper(io=io, source=datastreams(apis), stage_splits=True, **kw)


def test_a_misread_exponent_is_refused_loudly_and_never_pushed(apis, caplog):
    apis.pyth = recorded("pyth_wrong_expo.json")  # $30,012.345: exponent -3 for -5
    model = FeedModel()
    keeper = OracleKeeper(io=ModelFeed(FRI_1900, model, "r1"), source=pyth(apis), policy=BAND)
    with caplog.at_level(logging.ERROR, "synthequity.keeper.oracle"):
        d = keeper.tick(FRI_1900 + 2)
    assert d.action is Action.REFUSE and "outside the expected band [150, 400]" in d.reason
    assert model.latest is None and keeper.metrics["refused"] == 1
    (refused,) = [r for r in caplog.records if r.getMessage() == "push refused"]
    assert "30012.345 outside" in refused.fields["reason"]  # type: ignore[attr-defined]
    apis.pyth = recorded("pyth_friday.json")  # the same print read right
    d = keeper.tick(FRI_1900 + 3)
    assert (d.action, d.reason) == (Action.PUSH, "first round")
    assert model.latest.answer == 30_012_345_000


def test_the_band_applies_again_after_an_outage_only():
    feed = FeedState(1, 30_000_000_000, FRI_1900, MarketStatus.OPEN, False, 2_500)
    far = Observation(3_000_000_000_000, FRI_1900 + 97 * 3_600, MarketStatus.OPEN)  # $30,000
    d = decide(far, feed, far.observed_at, BAND)
    assert d.action is Action.REFUSE and d.reason.startswith("first round after 97 h")
    # within the outage bound the band does not apply (the jump guard does)
    soon = Observation(3_000_000_000_000, FRI_1900 + 95 * 3_600, MarketStatus.OPEN)
    assert decide(soon, feed, soon.observed_at, BAND).reason.startswith("jump")
    # in the band after an outage: pushed; the confirming keeper is bounded the same way
    ok = Observation(31_000_000_000, FRI_1900 + 97 * 3_600, MarketStatus.OPEN)
    assert decide(ok, feed, ok.observed_at, BAND).action is Action.PUSH
    suspect = FeedState(2, 3_000_000_000_000, FRI_1900, MarketStatus.OPEN, True, 2_500, 30**10)
    assert decide_confirm(far, suspect, far.observed_at, BAND).action is Action.REFUSE
    # no band: no bound
    assert decide(far, None, far.observed_at, PushPolicy()).action is Action.PUSH


@pytest.mark.parametrize("spec", ["400:150", "0:10", "abc:1", "150", "-1:5"])
def test_parse_band_refuses_nonsense(spec):
    with pytest.raises(ValueError, match="LO:HI"):
        parse_band(spec)


def test_settings_carry_the_band_and_the_credentials(monkeypatch):
    monkeypatch.setenv("SYNTHEQUITY_ORACLE_EXPECT", "150.5:400")
    monkeypatch.setenv("SYNTHEQUITY_ORACLE_DATASTREAMS_API_SECRET", DS_SECRET)
    monkeypatch.setenv("SYNTHEQUITY_ORACLE_HTTP_HEADERS", "X-Api-Key: k")
    s = OracleKeeperSettings()
    assert s.policy().expect == (15_050_000_000, 40_000_000_000)
    assert s.policy().outage_s == 96 * 3_600
    assert DS_SECRET not in repr(s)  # secrets stay out of logs
    cfg = s.source_config()
    assert cfg.datastreams_api_secret == DS_SECRET and cfg.http_headers == {"X-Api-Key": "k"}


def test_a_config_file_under_the_environment_under_the_flags(tmp_path, monkeypatch):
    """`ape run keeper oracle --config oracle.toml` (or SYNTHEQUITY_ORACLE_CONFIG): the
    file's values, the environment over them, the flags over both; a missing file refuses."""
    path = tmp_path / "oracle.toml"
    path.write_text(
        'deviation_bps = 25\nheartbeat_open_s = 30\nexpect = "150:400"\n'
        'pyth_api_key = "from-the-file"\nmetrics_port = 9102\n'
    )
    s = load_oracle_settings(path)
    assert (s.deviation_bps, s.heartbeat_open_s, s.metrics_port) == (25, 30, 9102)
    assert s.source_config().pyth_api_key == "from-the-file"
    monkeypatch.setenv("SYNTHEQUITY_ORACLE_HEARTBEAT_OPEN_S", "45")
    monkeypatch.setenv("SYNTHEQUITY_ORACLE_CONFIG", str(path))
    s = load_oracle_settings(None, deviation_bps=10, heartbeat_open_s=None)
    assert (s.deviation_bps, s.heartbeat_open_s, s.expect) == (10, 45, "150:400")
    with pytest.raises(SystemExit, match=r"config file .* not found"):
        load_oracle_settings(tmp_path / "missing.toml")
    path.write_text("deviation_bps = 0\n")  # out of bounds: refuses to start
    with pytest.raises(ValueError, match="deviation_bps"):
        load_oracle_settings(path)


def test_both_roles_on_pyth_share_one_request_a_poll(apis):
    """One process running the primary and the confirming keeper on two Pyth feeds (the
    CLI's `build_sources`): one Hermes request carries both feed ids."""
    apis.pyth = recorded("pyth_friday.json")
    cfg = OracleKeeperSettings(pyth_url=apis.url, pyth_api_key=PYTH_KEY).source_config()
    specs = {"primary": f"pyth:{PYTH_TSLA}", "confirming": f"pyth:{PYTH_AAPL}"}
    sources = build_sources(specs, nyse(), (), cfg)
    assert set(sources) == {"primary", "confirming"}
    assert sources["primary"].hermes is sources["confirming"].hermes  # type: ignore[attr-defined]
    assert sources["primary"].quote(FRI_1900).price == Decimal("300.12345")
    assert sources["confirming"].quote(FRI_1900).price == Decimal("203.9")
    assert len(apis.hits) == 1
    assert apis.hits[0][1]["ids[]"] == [PYTH_TSLA[2:], PYTH_AAPL[2:]]
    assert build_sources({"primary": "gbm:1", "confirming": None}, nyse(), (), cfg).keys() == {
        "primary"
    }


def test_rate_limits_and_refused_keys_are_counted_not_fatal(apis, caplog):
    apis.pyth = recorded("pyth_friday.json")
    keeper = OracleKeeper(io=ModelFeed(FRI_1900, FeedModel(), "r1"), source=pyth(apis))
    apis.fail_with = 429
    assert keeper.tick(FRI_1900 + 2).reason == "no quote"
    assert keeper.tick(FRI_1900 + 3).reason == "no quote"  # backing off: nothing sent
    assert len(apis.hits) == 1 and keeper.metrics["source rate limited"] == 2
    apis.fail_with = 401
    keeper.source = pyth(apis)
    with caplog.at_level(logging.ERROR, "synthequity.keeper.oracle"):
        keeper.tick(FRI_1900 + 4)
    assert keeper.metrics["source unauthorized"] == 1 and "refused the API key" in caplog.text


def test_a_v10_split_schedule_reaches_stage_split(apis):
    apis.datastreams[DS_V10] = recorded("ds_v10_friday.json")
    model = FeedModel()
    keeper = staging_keeper(apis, model, confirm_only=True)
    keeper.tick(FRI_1900 + 1)
    assert model.split == (3, SPLIT_AT)
    assert keeper.metrics["splits staged"] == 1
    assert [(s.ratio, s.activation) for s in keeper.splits] == [(3, SPLIT_AT)]
    keeper.tick(FRI_1900 + 2)  # the same announcement: handled once
    assert keeper.metrics["splits staged"] == 1 and model.split == (3, SPLIT_AT)


def test_a_split_the_keeper_may_not_stage_is_logged_for_the_admin(apis, caplog):
    apis.datastreams[DS_V10] = recorded("ds_v10_friday.json")
    model = FeedModel()
    keeper = OracleKeeper(
        io=ModelFeed(FRI_1900, model, "r2"), source=datastreams(apis), stage_splits=True
    )
    with caplog.at_level(logging.WARNING, "synthequity.keeper.oracle"):
        keeper.tick(FRI_1900 + 1)
    assert model.split is None and keeper.metrics["splits awaiting admin"] == 1
    assert f"oracle.stage_split(3, {SPLIT_AT})" in caplog.text
    assert keeper.splits[0].activation == SPLIT_AT  # its own comparisons know the split
    # a different split staged on chain: a conflict for the admin, nothing staged
    model.stage_split(2, SPLIT_AT + 86_400, FRI_1900)
    other = staging_keeper(apis, model)
    other.tick(FRI_1900 + 2)
    assert other.metrics["split conflicts"] == 1 and model.split == (2, SPLIT_AT + 86_400)


def test_a_dividend_multiplier_is_staged_as_a_dividend_not_a_split(apis):
    """v10's 1 -> 1.0017 announced at $300: a dividend of $300 x 0.0017 / 1.0017 ex
    2025-06-10 joins the schedule and a reporter's keeper stages it on its next tick (more
    than a day ahead); no split."""
    apis.datastreams[DS_V10] = recorded("ds_v10_dividend.json")
    model = FeedModel()
    keeper = OracleKeeper(io=ModelFeed(FRI_1900, model, "r1"), source=datastreams(apis))
    keeper.tick(FRI_1900 + 1)
    keeper.tick(FRI_1900 + 2)
    assert model.split is None and keeper.splits == ()
    assert keeper.metrics["dividends announced by the feed"] == 1
    assert keeper.metrics["dividends staged"] == 1
    assert model.dividend == (50_913_447, SPLIT_AT, False)  # 8 decimals; not confirmed
    assert keeper.metrics.get("corporate actions not staged", 0) == 0


def test_the_primary_takes_the_chains_staged_split_for_what_it_is(apis):
    """Pyth says nothing of splits: Tuesday's $71.20 after Monday's $213 close looks like a
    -67% jump until the keeper sees the chain's staged 3:1 activating in between."""
    model = FeedModel()
    io = ModelFeed(MON_OPEN, model, "r1")
    keeper = OracleKeeper(io=io, source=pyth(apis), warp=True)
    apis.pyth = recorded("pyth_monday_last.json")
    assert keeper.tick(MON_CLOSE - 1).reason == "first round"
    assert keeper.tick(MON_CLOSE).reason == "status OPEN -> CLOSED"
    model.stage_split(3, SPLIT_AT, io.head_time)  # staged by the admin (or the v10 keeper)
    assert keeper.tick(SPLIT_AT + 60).reason == "unchanged"  # closed: nothing to push
    apis.pyth = recorded("pyth_tuesday_open.json")
    d = keeper.tick(TUE_OPEN + 5)
    assert (d.action, d.reason) == (Action.PUSH, "status CLOSED -> OPEN")
    assert model.multiplier_wad == 3 * WAD and not model.suspect
    assert model.latest.answer == 7_120_000_000 and keeper.metrics["suspect pushes"] == 0
    # in value per base share the open is within a day's move of the close ($213)
    assert abs(Decimal(model.latest.answer * 3) / 21_300_000_000 - 1) < Decimal("0.01")


def test_a_closed_quote_across_the_activation_waits_for_the_open(apis):
    """After the activation the feed still quotes the old share until the market reopens:
    a CLOSED heartbeat then would carry an old-share price into the split."""
    model = FeedModel()
    io = ModelFeed(MON_OPEN, model, "r1")
    keeper = OracleKeeper(
        io=io, source=pyth(apis), warp=True, policy=PushPolicy(heartbeat_closed_s=3_600)
    )
    apis.pyth = recorded("pyth_monday_last.json")
    keeper.tick(MON_CLOSE - 1)
    keeper.tick(MON_CLOSE)
    apis.datastreams[DS_V10] = recorded("ds_v10_monday.json")
    announcer = OracleKeeper(io=io, source=datastreams(apis), confirm_only=True)
    announcer.tick(MON_OPEN + 61)  # learns the split (not staged: no admin)
    keeper.splits = announcer.splits
    d = keeper.tick(SPLIT_AT + 7_200)
    assert (d.action, d.reason) == (
        Action.SKIP,
        "split activated: waiting for the first quote in new shares",
    )
    assert keeper.tick(SPLIT_AT - 3_600).reason == "heartbeat (closed)"  # before it: as usual
