"""A hostile collateral token (issue 8's catalogue; `HostileToken`): one that takes a fee on
transfer is refused at every entry (vault, perp market, pool) with nothing credited; one
that blacklists a liquidator stops only that liquidator; and one that re-enters mid-transfer
(Curve/Vyper 2023, cross-contract and read-only) finds the market *and* the pool's NAV locked
— the vault's own re-entry matrix is in test_vault_reentrancy.py."""

import ape
import pytest

from synthequity.deploy import deploy_core, deploy_perp, deploy_vault
from synthequity.model.vault import WAD, VaultParams

USD = 10**6


@pytest.fixture
def hostile(project, admin, oracle, push, borrower, trader, lp, liquidator, keeper):
    token = project.HostileToken.deploy(6, sender=admin)
    core = deploy_core(admin, token)
    vault = deploy_vault(
        admin, core, token, oracle, "sTSLA", "Synthetic Tesla", VaultParams(stability_fee_bps=0)
    )
    pool, market = deploy_perp(admin, core, token, oracle, "TSLA")
    for who in (borrower, trader, lp, liquidator, keeper):
        token.faucet(who, 10_000_000 * USD, sender=who)
        for spender in (vault, pool, market):
            token.approve(spender, 2**256 - 1, sender=who)
    push(200)
    return token, vault, pool, market


def test_fee_on_transfer_is_refused_everywhere(hostile, borrower, trader, lp):
    token, vault, pool, market = hostile
    token.set_fee_bps(100, sender=lp)  # 1% kept by the token
    before = [token.balanceOf(x) for x in (borrower, trader, lp, vault, pool, market)]
    with ape.reverts("vault: fee on transfer"):
        vault.deposit(1_000 * USD, sender=borrower)
    with ape.reverts("perp: fee on transfer"):
        market.deposit_margin(1_000 * USD, sender=trader)
    with ape.reverts("pool: fee on transfer"):
        pool.deposit(1_000 * USD, lp, sender=lp)
    assert [token.balanceOf(x) for x in (borrower, trader, lp, vault, pool, market)] == before
    assert vault.position(borrower) == (0, 0) and market.position(trader).margin == 0
    assert pool.balanceOf(lp) == 0
    token.set_fee_bps(0, sender=lp)
    vault.deposit(1_000 * USD, sender=borrower)  # the same calls, fee-less, are accepted
    market.deposit_margin(1_000 * USD, sender=trader)
    pool.deposit(1_000 * USD, lp, sender=lp)


def test_a_blacklisted_liquidator_blocks_only_itself(
    hostile, borrower, liquidator, keeper, move_to
):
    token, vault, _, _ = hostile
    vault.open(3_200 * USD, 10 * WAD, sender=borrower)  # 160% at $200
    for who in (liquidator, keeper):  # two liquidators with their own sTSLA
        vault.open(100_000 * USD, 20 * WAD, sender=who)
    move_to(270)  # 3,200 / 2,700 = 118.5% < 125%
    assert vault.is_liquidatable(borrower)
    token.set_blacklisted(liquidator, True, sender=keeper)
    before = vault.position(borrower)
    with ape.reverts():
        vault.liquidate(borrower, 2**256 - 1, sender=liquidator)
    assert vault.position(borrower) == before  # nothing moved
    tx = vault.liquidate(borrower, 2**256 - 1, sender=keeper)  # anyone else still can
    assert tx.events.filter(vault.Liquidate)
    assert not vault.is_liquidatable(borrower)


def test_reentry_into_the_market_and_the_pool_nav_fails(hostile, trader, lp, keeper):
    """The token is the trader: during `withdraw_margin`'s transfer it calls back into the
    market (withdraw again), into the pool (deposit) and into the pool's NAV (a view that
    reads the market). The market's lock covers its views, so the NAV cannot be read at a
    half-updated state (read-only reentrancy); the outer withdrawal happens exactly once."""
    token, _, pool, market = hostile
    me = token.address
    pool.deposit(1_000_000 * USD, lp, sender=lp)
    token.faucet(token, 10_000 * USD, sender=trader)
    token.self_approve(market, 2**256 - 1, sender=trader)
    token.self_approve(pool, 2**256 - 1, sender=trader)
    token.execute(market, market.deposit_margin.encode_input(5_000 * USD), sender=trader)
    inner = [
        (market, market.withdraw_margin.encode_input(1 * USD)),
        (pool, pool.deposit.encode_input(1 * USD, me)),
        (pool, pool.totalAssets.encode_input()),
        (market, market.pool_pnl.encode_input()),
    ]
    for target, data in inner:
        token.arm(target, data, sender=trader)
        margin, held = market.position(me).margin, token.balanceOf(market)
        token.execute(market, market.withdraw_margin.encode_input(100 * USD), sender=trader)
        assert token.hook_called() and not token.hook_succeeded(), data.hex()[:10]
        assert market.position(me).margin == margin - 100 * WAD  # the outer call, once
        assert token.balanceOf(market) == held - 100 * USD
    assert pool.balanceOf(me) == 0
