"""`synthequity.testing.deploy_protocol`, the public in-process deploy API (docs/testing.md):
every handle is there, every role is granted to its named account, and the documented example
runs — deposit, mint, a perp order filled at the next price — with both extensions reached
through their deployables."""

from __future__ import annotations

import boa
import pytest

from synthequity.model import perp as pm
from synthequity.model.vault import VaultParams
from synthequity.testing import deploy_protocol
from synthequity.testing.boa_stack import deployer

pytestmark = pytest.mark.parametrize("decimals", [6, 18], ids=["usdc6", "usd18"])


def test_every_handle_and_role(decimals):
    p = deploy_protocol(decimals=decimals)
    assert p.collateral.decimals() == decimals
    assert p.factory.vaults("sTSLA") == p.vault.address
    assert p.factory.perps("TSLA") == p.market.address
    assert p.factory.pool_of(p.market.address) == p.pool.address
    assert p.vault.SYNTH() == p.synth.address
    assert p.market.EXTENSION() == p.market_ext.address
    assert p.vault.EXTENSION() == p.vault_ext.address
    admin_role = b"\x00" * 32
    for c in (p.oracle, p.insurance, p.factory, p.vault, p.market, p.pool):
        assert c.hasRole(admin_role, p.admin)
    assert not p.market.hasRole(admin_role, p.factory.address)  # the factory keeps no role
    assert p.oracle.hasRole(p.oracle.REPORTER_ROLE(), p.reporter)
    for book in (p.vault, p.market):
        assert book.hasRole(book.GUARDIAN_ROLE(), p.guardian)
        assert book.hasRole(book.RISK_ADMIN_ROLE(), p.risk_admin)
        assert p.insurance.hasRole(p.insurance.MARKET_ROLE(), book.address)
    assert p.pool.hasRole(p.pool.RISK_ADMIN_ROLE(), p.risk_admin)  # the deposit lock


def test_the_documented_example(decimals):
    p = deploy_protocol(decimals=decimals)
    p.push(250.0)
    p.fund(p.trader, 100_000)
    p.fund(p.lp, 1_000_000)
    with boa.env.prank(p.lp):
        p.pool.deposit(p.units(500_000), p.lp)
    with boa.env.prank(p.trader):
        p.vault.open(p.units(1_500), 4 * 10**18)
        p.market.deposit_margin(p.units(1_000))
        p.market.commit_order(10**18, 260 * 10**18)
    p.push(251.0)
    p.market.execute_order(p.trader, sender=p.keeper)
    assert p.vault.position(p.trader)[0] == p.units(1_500)
    assert p.synth.balanceOf(p.trader) == 4 * 10**18
    size, entry, margin, _ = p.market.position(p.trader)
    fill = pm.fill_price(251 * 10**18, 0, 10**18, pm.PerpParams())
    assert (size, entry) == (10**18, fill)
    fee = pm.order_fee(0, 10**18, fill, pm.PerpParams())
    # the order's keeper fee, and the taker fee paid in whole collateral units (rounded up)
    fee_units = -(-fee // p.usd_per_unit)
    assert margin == 1_000 * 10**18 - 10**18 - fee_units * p.usd_per_unit
    with boa.env.prank(p.guardian):
        p.market.pause()  # a cold path, through the market's extension
    assert p.market.paused()


def test_extensions_refuse_direct_calls(decimals):
    p = deploy_protocol(decimals=decimals)
    with boa.reverts("perp: delegate only"):
        p.market_ext.pause(sender=p.guardian)
    with boa.reverts("vault: delegate only"):
        p.vault_ext.pause(sender=p.guardian)
    # initialize runs once, from the factory, in the deploying transaction
    as_ext = deployer("perp_ext").at(p.market.address)  # the extension's ABI at the market
    with boa.reverts("perp: initialized"):
        as_ext.initialize(p.admin, pm.MarketParams().as_tuple(), sender=p.admin)
    as_ext = deployer("vault_ext").at(p.vault.address)
    with boa.reverts("vault: initialized"):
        as_ext.initialize(p.admin, p.oracle, 120, VaultParams().as_tuple(), sender=p.admin)
