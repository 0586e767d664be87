"""The oracle keeper across TSLA's real 5:1 split (2020-08-31), on a chain whose clock starts
in that week: the admin stages the split, the keeper replays data/tsla_daily.csv as the
unadjusted quotes of each day (its schedule says where the split is), the oracle applies the
split with the first print of 2020-08-31, and no print is refused or taken for a jump."""

from __future__ import annotations

import pytest
from ape_cli import own_chain

from synthequity.constants import WAD, MarketStatus
from synthequity.corporate_actions import TSLA_SPLITS
from synthequity.keepers.oracle.logic import Action
from synthequity.keepers.oracle.runner import ApeFeedIO, OracleKeeper, replay_schedule
from synthequity.keepers.oracle.sources import CsvReplaySource
from synthequity.market_hours import nyse, to_ts

pytestmark = pytest.mark.integration


@pytest.fixture
def chain_in_2020(networks):
    with own_chain(networks, chain_id=31340, timestamp=to_ts("2020-08-27")) as node:
        yield node


def test_oracle_keeper_replays_across_the_5_for_1_split(chain_in_2020, project, accounts):
    admin, reporter = accounts[11], accounts[1]
    oracle = project.EquityOracle.deploy(admin, 8, "TSLA / USD", 2_500, sender=admin)
    oracle.grantRole(oracle.REPORTER_ROLE(), reporter, sender=admin)
    split = TSLA_SPLITS[0]
    oracle.stage_split(split.ratio, split.activation, sender=admin)
    calendar = nyse()
    keeper = OracleKeeper(
        io=ApeFeedIO(oracle, reporter),
        source=CsvReplaySource("data/tsla_daily.csv", calendar, TSLA_SPLITS),
        warp=True,
        splits=TSLA_SPLITS,
    )
    decisions = [
        keeper.tick(t)
        for t in replay_schedule(calendar, to_ts("2020-08-27"), to_ts("2020-09-01"), 1_800)
    ]
    assert not any(d.action is Action.REFUSE for d in decisions)
    assert not oracle.suspect() and oracle.shares_multiplier_wad() == 5 * WAD
    before = [p for p in keeper.pushes if p.observed_at < split.activation]
    after = [p for p in keeper.pushes if p.observed_at >= split.activation]
    assert before and after
    # the quotes of the day: ~$2,200 a share on Friday, ~$450-500 from Monday
    assert 2_000 * 10**8 < before[-1].answer < 2_400 * 10**8
    assert before[-1].status == MarketStatus.CLOSED  # the split landed after the close
    assert 400 * 10**8 < after[0].answer < 520 * 10**8
    first = after[0].round_id
    assert (
        oracle.round_multiplier_wad(first - 1) == WAD
        and oracle.round_multiplier_wad(first) == 5 * WAD
    )
    # in value (per base share) Monday's open is within a day's move of Friday's close
    value_change = after[0].answer * 5 / before[-1].answer - 1
    assert -0.05 < value_change < 0.05
