"""Shared fixtures: role-named actors, the mock stablecoin (6 and 18 decimals), the oracle.

Test bodies name actors by role (`admin`, `reporter`, `borrower`, ...); only this file maps
roles to the node's test accounts.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from synthequity.constants import MarketStatus

settings.register_profile(
    "ci",
    max_examples=60,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
    print_blob=True,
)
settings.register_profile(
    "nightly",
    max_examples=2_000,
    stateful_step_count=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=20,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROLE_INDEX = {
    "admin": 0,
    "reporter": 1,
    "reporter2": 2,
    "risk_admin": 3,
    "guardian": 4,
    "keeper": 5,
    "liquidator": 6,
    "borrower": 7,
    "trader": 8,
    "lp": 9,
    "outsider": 10,
}


def _actor(accounts, role: str):
    return accounts[ROLE_INDEX[role]]


@pytest.fixture(scope="session")
def admin(accounts):
    return _actor(accounts, "admin")


@pytest.fixture(scope="session")
def reporter(accounts):
    return _actor(accounts, "reporter")


@pytest.fixture(scope="session")
def reporter2(accounts):
    return _actor(accounts, "reporter2")


@pytest.fixture(scope="session")
def risk_admin(accounts):
    return _actor(accounts, "risk_admin")


@pytest.fixture(scope="session")
def guardian(accounts):
    return _actor(accounts, "guardian")


@pytest.fixture(scope="session")
def keeper(accounts):
    return _actor(accounts, "keeper")


@pytest.fixture(scope="session")
def liquidator(accounts):
    return _actor(accounts, "liquidator")


@pytest.fixture(scope="session")
def borrower(accounts):
    return _actor(accounts, "borrower")


@pytest.fixture(scope="session")
def trader(accounts):
    return _actor(accounts, "trader")


@pytest.fixture(scope="session")
def lp(accounts):
    return _actor(accounts, "lp")


@pytest.fixture(scope="session")
def outsider(accounts):
    return _actor(accounts, "outsider")


@pytest.fixture(scope="session", params=[6, 18], ids=["usdc6", "usd18"])
def stablecoin(request, project, admin):
    """The collateral token; suites that take it run once per decimals variant."""
    return project.MockStablecoin.deploy("Mock USD", "mUSD", request.param, sender=admin)


@pytest.fixture(scope="session")
def oracle(project, admin, reporter, reporter2, risk_admin):
    """TSLA / USD, 8 decimals, 25% jump guard; two reporters and a risk admin."""
    feed = project.EquityOracle.deploy(admin, 8, "TSLA / USD", 2_500, sender=admin)
    for who in (reporter, reporter2):
        feed.grantRole(feed.REPORTER_ROLE(), who, sender=admin)
    feed.grantRole(feed.RISK_ADMIN_ROLE(), risk_admin, sender=admin)
    return feed


@pytest.fixture
def push(oracle, reporter, chain):
    """Push `price` (USD, float or int) observed `age` seconds before the next block."""

    def _push(price, status=MarketStatus.OPEN, age=0, sender=None):
        now = chain.pending_timestamp
        return oracle.push_price(
            round(price * 10**8), now - age, int(status), sender=sender or reporter
        )

    return _push
