"""The oracle keeper over the network sources, against an in-memory chain backed by the
oracle's reference model and the recorded answers served from 127.0.0.1: the first push
bounded by the operator's band (a misread exponent refused, loudly, never pushed; again after
an outage), a 429 and a 401 counted, and a v10 split schedule reaching `stage_split` — or
logged for the admin when the keeper may not stage it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

import pytest
from ape.exceptions import ContractLogicError

from synthequity.constants import MarketStatus
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
from synthequity.keepers.oracle.settings import OracleKeeperSettings
from synthequity.keepers.oracle.sources import (
    DataStreamsSource,
    HttpClient,
    PythHermes,
    PythSource,
)
from synthequity.market_hours import nyse
from synthequity.model.oracle import FeedModel, PushRejected
from synthequity.testing.price_apis import PriceApis, recorded

PYTH_TSLA = "16dad506d7db8da01c87581c87ca897a012a153557d4d578c3b9c9e1bc0632f1"
DS_V10 = "0x000a7e5a" + "00" * 28
FRI_1900 = 1_749_236_400
FRI_CLOSE = 1_749_240_000
MON_OPEN = 1_749_475_800
MON_CLOSE = 1_749_499_200
SPLIT_AT = 1_749_513_600  # 2025-06-10 00:00 UTC
TUE_OPEN = 1_749_562_200
KEY, SECRET = "4f1c8a5e-0000-4000-8000-00000000c0de", "s3cr3t"
BAND = PushPolicy(expect=parse_band("150:400"))


@dataclass
class Receipt:
    gas_used: int = 41_000
    txn_hash: str = "0x00"


class ModelFeed:
    """FeedIO and SplitStaging over FeedModel: the contract's rules, no node. `admin`: the
    keeper's account holds DEFAULT_ADMIN."""

    def __init__(self, head_time: int, model: FeedModel, reporter: str, admin: bool = False):
        self.model, self.reporter, self.head_time, self.admin = model, reporter, head_time, admin

    def read(self) -> FeedState | None:
        return FeedState.of_model(self.model)

    def next_block_time(self) -> int:
        return self.head_time + 1

    def warp_to(self, ts: int) -> None:
        self.head_time = max(self.head_time, ts - 1)

    def push(self, obs: Observation) -> Receipt:
        self.head_time += 1
        try:
            self.model.push(
                self.reporter, obs.answer, obs.observed_at, int(obs.status), self.head_time
            )
        except PushRejected as exc:
            raise ContractLogicError(exc.reason) from None
        return Receipt()

    def reconnect(self) -> None:
        pass

    def staged_split(self) -> tuple[int, int]:
        return self.model.split or (0, 0)

    def can_stage_splits(self) -> bool:
        return self.admin

    def stage_split(self, ratio: int, activation: int) -> Receipt:
        if not self.admin:
            raise ContractLogicError("access is denied")
        self.model.stage_split(ratio, activation, self.head_time + 1)
        return Receipt()


@pytest.fixture
def apis():
    with PriceApis(pyth_key="pyth-key", ds_key=KEY, ds_secret=SECRET) as srv:
        yield srv


def pyth(apis: PriceApis) -> PythSource:
    return PythSource(PythHermes(apis.url, "pyth-key", HttpClient(2), cache_s=0), PYTH_TSLA, nyse())


def datastreams(apis: PriceApis) -> DataStreamsSource:
    return DataStreamsSource(DS_V10, apis.url, KEY, SECRET, HttpClient(2))


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
    monkeypatch.setenv("SYNTHEQUITY_ORACLE_DATASTREAMS_API_SECRET", SECRET)
    monkeypatch.setenv("SYNTHEQUITY_ORACLE_HTTP_HEADERS", "X-Api-Key: k")
    s = OracleKeeperSettings()
    assert s.policy().expect == (15_050_000_000, 40_000_000_000)
    assert s.policy().outage_s == 96 * 3_600
    assert SECRET not in repr(s)  # secrets stay out of logs
    cfg = s.source_config()
    assert cfg.datastreams_api_secret == SECRET and cfg.http_headers == {"X-Api-Key": "k"}


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
    keeper = OracleKeeper(
        io=ModelFeed(FRI_1900, model, "admin", admin=True),
        source=datastreams(apis),
        confirm_only=True,
        stage_splits=True,
    )
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
    other = OracleKeeper(
        io=ModelFeed(FRI_1900, model, "admin", admin=True),
        source=datastreams(apis),
        stage_splits=True,
    )
    other.tick(FRI_1900 + 2)
    assert other.metrics["split conflicts"] == 1 and model.split == (2, SPLIT_AT + 86_400)


def test_a_dividend_multiplier_is_not_staged(apis):
    apis.datastreams[DS_V10] = recorded("ds_v10_dividend.json")
    model = FeedModel()
    keeper = OracleKeeper(
        io=ModelFeed(FRI_1900, model, "admin", admin=True),
        source=datastreams(apis),
        stage_splits=True,
    )
    keeper.tick(FRI_1900 + 1)
    assert model.split is None and keeper.splits == ()
    assert keeper.metrics["corporate actions not staged"] == 1


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
    assert model.multiplier == 3 and not model.suspect
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
