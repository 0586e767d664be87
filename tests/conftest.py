"""Shared fixtures: role-named actors, the mock stablecoin (6 and 18 decimals), the oracle.

Test bodies name actors by role (`admin`, `reporter`, `borrower`, ...); only this file maps
roles to the node's test accounts.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from synthequity.constants import MarketStatus
from synthequity.contracts import at

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
def next_block_time(chain):
    """Pin the next block's timestamp and return it, so that a test's timestamps are exact (an
    unpinned block lands whenever the wall clock says, which may be a second later)."""

    def _pin():
        now = max(chain.pending_timestamp, chain.blocks.head.timestamp + 1)
        chain.pending_timestamp = now
        return now

    return _pin


@pytest.fixture
def push(oracle, reporter, chain):
    """Push `price` (USD, float or int) observed `age` seconds before the next block."""

    def _push(price, status=MarketStatus.OPEN, age=0, sender=None):
        # strictly after the head: a price pushed after a transaction is newer than it
        now = max(chain.pending_timestamp, chain.blocks.head.timestamp + 1)
        last = oracle.latestRoundData()[3] if oracle.latestRound() else 0
        if now - age <= last:  # two pushes within one second: move the clock on
            now = last + 1 + age
        # Pin the block: the push lands at exactly `now`, so `age` is exact at the head (anvil's
        # eth_call runs at the head's timestamp; an unpinned block may land a second later).
        chain.pending_timestamp = now
        return oracle.push_price(
            round(price * 10**8), now - age, int(status), sender=sender or reporter
        )

    return _push


@pytest.fixture
def move_to(push, oracle):
    """Walk the OPEN price to `price` in steps of at most 20% (under the 25% jump guard)."""

    def _move(price):
        last = oracle.latestRoundData()[1] / 10**8 if oracle.latestRound() else price
        while abs(price / last - 1) > 0.2:
            last = last * (1.2 if price > last else 0.8)
            push(last)
        return push(price)

    return _move


# ---- vault ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def core(admin, stablecoin):
    """Insurance fund + factory (blueprints) for the collateral token."""
    from synthequity.deploy import deploy_core

    return deploy_core(admin, stablecoin)


@pytest.fixture(scope="session")
def vault(admin, core, stablecoin, oracle, risk_admin, guardian):
    from synthequity.deploy import deploy_vault

    v = deploy_vault(admin, core, stablecoin, oracle, "sTSLA", "Synthetic Tesla")
    v.grantRole(v.RISK_ADMIN_ROLE(), risk_admin, sender=admin)
    v.grantRole(v.GUARDIAN_ROLE(), guardian, sender=admin)
    return v


@pytest.fixture(scope="session")
def synth(project, vault):
    return at(project.SynthToken, vault.SYNTH())


@pytest.fixture(scope="session")
def usd(stablecoin):
    """Whole dollars -> collateral units of the parametrized stablecoin."""
    scale = 10 ** stablecoin.decimals()
    return lambda dollars: int(dollars * scale)


@pytest.fixture(scope="session")
def funded(stablecoin, vault, usd, borrower, liquidator, trader, outsider):
    """Borrower-side actors hold 1M USD of collateral and have approved the vault."""
    for who in (borrower, liquidator, trader, outsider):
        stablecoin.faucet(who, usd(1_000_000), sender=who)
        stablecoin.approve(vault, 2**256 - 1, sender=who)
    return True


# ---- perp market --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def perp(admin, core, stablecoin, oracle, risk_admin, guardian):
    """(pool, market) for TSLA on the parametrized collateral."""
    from synthequity.deploy import deploy_perp

    pool, market = deploy_perp(admin, core, stablecoin, oracle, "TSLA")
    market.grantRole(market.RISK_ADMIN_ROLE(), risk_admin, sender=admin)
    market.grantRole(market.GUARDIAN_ROLE(), guardian, sender=admin)
    pool.grantRole(pool.RISK_ADMIN_ROLE(), risk_admin, sender=admin)  # the deposit lock
    return pool, market


@pytest.fixture
def fund_perp(perp, stablecoin, usd, lp, push):
    """fund_perp(actors, each_usd, pool_usd): each of `actors` (and lp) holds `each_usd`,
    approved to the pool and the market; an OPEN $200 price; lp puts `pool_usd` in the pool."""

    def _fund(actors, each_usd, pool_usd):
        pool, market = perp
        for who in (lp, *actors):
            stablecoin.faucet(who, usd(each_usd), sender=who)
            stablecoin.approve(pool, 2**256 - 1, sender=who)
            stablecoin.approve(market, 2**256 - 1, sender=who)
        push(200)
        pool.deposit(usd(pool_usd), lp, sender=lp)
        return pool, market

    return _fund


@pytest.fixture
def funded_perp(fund_perp, trader, outsider):
    """`perp` with lp, trader and outsider holding $10M each (approved to the pool and the
    market), an OPEN $200 price and $5M in the pool."""
    return fund_perp((trader, outsider), 10_000_000, 5_000_000)


# ---- every deployable -------------------------------------------------------------------


@pytest.fixture
def deployables(project, core, oracle, vault, perp, admin):
    """Contract name -> one deployed instance, for the tests that go over all of them (the
    role matrix, the admin hand-over)."""
    from synthequity.deploy import deploy_perp_orders

    pool, market = perp
    return {
        "SynthFactory": core.factory,
        "InsuranceFund": core.insurance,
        "EquityOracle": oracle,
        "SynthVault": vault,
        "SynthToken": at(project.SynthToken, vault.SYNTH()),
        "PerpMarket": market,
        "LiquidityPool": pool,
        "PerpParamsCodec": at(project.PerpParamsCodec, core.factory.params_codec()),
        "PerpMarketExt": at(project.PerpMarketExt, market.EXTENSION()),
        "SynthVaultExt": at(project.SynthVaultExt, vault.EXTENSION()),
        "PerpOrders": deploy_perp_orders(admin, market),
    }
