"""oracle_guard (docs/spec.md §2, §5): the one decision of "is this price usable for risk", and a
plain Chainlink consumer reading EquityOracle."""

import ape
import pytest

from synthequity.constants import MarketStatus

MAX_AGE = 120


@pytest.fixture(scope="session")
def guard(project, oracle, admin):
    return project.GuardConsumer.deploy(oracle, MAX_AGE, sender=admin)


@pytest.fixture(scope="session")
def consumer(project, oracle, admin):
    return project.ChainlinkConsumer.deploy(oracle, 3_600, sender=admin)


def test_open_fresh_price_is_usable_and_normalized(guard, push):
    push(251.37)
    assert guard.is_usable()
    assert guard.price_for_risk() == 251_370_000_000_000_000_000
    assert guard.mark_price() == 251_370_000_000_000_000_000


def test_closed_market_gives_a_mark_but_no_risk_price(guard, push):
    push(240, status=MarketStatus.CLOSED)
    assert not guard.is_usable()
    assert guard.mark_price() == 240 * 10**18
    with ape.reverts("market closed"):
        guard.price_for_risk()


@pytest.mark.parametrize("status", [MarketStatus.HALTED, MarketStatus.UNKNOWN])
def test_halted_or_unknown_status_is_not_usable(guard, push, status):
    push(240, status=status)
    assert not guard.is_usable()
    with ape.reverts("market halted"):
        guard.price_for_risk()


def test_suspect_feed_reads_as_halted(guard, push):
    push(200, age=1)
    push(300)
    assert not guard.is_usable()
    with ape.reverts("market halted"):
        guard.price_for_risk()
    assert guard.mark_price() == 300 * 10**18


def test_staleness_boundary(guard, push, chain):
    push(250, age=MAX_AGE)  # the push's block is exactly max age after the observation: usable
    assert guard.price_for_risk() == 250 * 10**18
    push(251, age=0)
    chain.mine(1, timestamp=chain.pending_timestamp + MAX_AGE + 1)
    with ape.reverts("stale price"):
        guard.price_for_risk()
    assert not guard.is_usable()


def test_no_price_yet_reverts(guard):
    with ape.reverts("oracle: no data"):
        guard.price_for_risk()


def test_max_age_bounds_and_event(guard, risk_admin):
    for bad in (0, 9, 3_601):
        with ape.reverts("guard: max age bounds"):
            guard.set_max_age_open(bad, sender=risk_admin)
    tx = guard.set_max_age_open(60, sender=risk_admin)
    assert tx.events == [guard.MaxAgeOpenSet(old_seconds=MAX_AGE, new_seconds=60)]


def test_guard_normalizes_an_18_decimal_feed(project, admin, reporter, chain):
    feed = project.EquityOracle.deploy(admin, 18, "X / USD", 2_500, sender=admin)
    feed.grantRole(feed.REPORTER_ROLE(), reporter, sender=admin)
    feed.push_price(25 * 10**19, chain.pending_timestamp, MarketStatus.OPEN, sender=reporter)
    guard18 = project.GuardConsumer.deploy(feed, MAX_AGE, sender=admin)
    assert guard18.price_for_risk() == 25 * 10**19


# ---- a Chainlink consumer -------------------------------------------------------------


def test_chainlink_consumer_reads_latest_and_history(consumer, push, chain):
    push(250.5, age=20)
    push(251.25, age=10)
    assert consumer.latest_price_wad() == 251_250_000_000_000_000_000
    assert consumer.price_at_round_wad(1) == 250_500_000_000_000_000_000
    chain.mine(1, timestamp=chain.pending_timestamp + 3_600)
    with ape.reverts("consumer: stale"):
        consumer.latest_price_wad()


def test_chainlink_consumer_sees_no_data_revert(consumer):
    with ape.reverts("oracle: no data"):
        consumer.latest_price_wad()
