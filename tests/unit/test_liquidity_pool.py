"""LiquidityPool (docs/spec.md §4): ERC-4626 at the NAV the market reports, market-hours gating,
the open-interest floor on withdrawals, the deposit lock (no just-in-time LP; the attack
itself is in test_finding_regressions_pool.py), market-only payouts, and the first-depositor
inflation attack. The market is a test double here; the perp market replaces it (issue 4)."""

import ape
import pytest

DAY = 86_400


def _after_the_lock(chain) -> None:
    chain.mine(timestamp=chain.blocks.head.timestamp + DAY)


@pytest.fixture
def market(project, admin):
    return project.MockPoolMarket.deploy(sender=admin)


@pytest.fixture
def pool(project, admin, stablecoin, market, lp, outsider, usd):
    p = project.LiquidityPool.deploy(admin, stablecoin, "synthequity TSLA LP", "sqLP", sender=admin)
    p.set_market(market, sender=admin)
    for who in (lp, outsider):
        stablecoin.faucet(who, usd(10_000_000), sender=who)
        stablecoin.approve(p, 2**256 - 1, sender=who)
    return p


def test_metadata(pool, stablecoin):
    assert pool.asset() == stablecoin.address
    assert pool.decimals() == stablecoin.decimals() + 6
    assert (pool.name(), pool.symbol()) == ("synthequity TSLA LP", "sqLP")


def test_deposit_and_redeem_at_nav_with_events(pool, stablecoin, lp, usd, chain):
    tx = pool.deposit(usd(1_000), lp, sender=lp)
    shares = tx.return_value
    assert shares == usd(1_000) * 10**6  # virtual offset: 10^6 shares per unit at par
    assert pool.Deposit(sender=lp, owner=lp, assets=usd(1_000), shares=shares) in tx.events
    unlock = chain.blocks.head.timestamp + DAY
    assert pool.Locked(owner=lp, unlock_at=unlock) in tx.events
    assert pool.totalAssets() == usd(1_000) and pool.balanceOf(lp) == shares
    assert pool.unlock_at(lp) == unlock and pool.maxRedeem(lp) == 0
    with ape.reverts("pool: locked"):  # not in the deposit's block: no just-in-time LP
        pool.redeem(shares, lp, lp, sender=lp)
    _after_the_lock(chain)
    assert pool.maxRedeem(lp) == shares
    tx = pool.redeem(shares, lp, lp, sender=lp)
    assert tx.return_value == usd(1_000)
    assert (
        pool.Withdraw(sender=lp, receiver=lp, owner=lp, assets=usd(1_000), shares=shares)
        in tx.events
    )


def test_share_price_follows_the_traders_pnl(pool, market, lp, outsider, usd, admin):
    pool.deposit(usd(1_000), lp, sender=lp)
    market.set_state(usd(500), 0, True, sender=admin)  # traders are down $500: the pool is up
    assert pool.totalAssets() == usd(1_500)
    assert pool.convertToAssets(pool.balanceOf(lp)) == usd(1_500) - 1  # rounded down
    market.set_state(-usd(2_000), 0, True, sender=admin)  # traders up more than the pool
    assert pool.totalAssets() == 0


def test_rounding_favours_the_pool(pool, lp, usd, market, admin):
    pool.deposit(usd(1_000), lp, sender=lp)
    market.set_state(usd(333), 0, True, sender=admin)
    for amount in (1, 7, usd(1), usd(3.33)):
        assert pool.previewMint(pool.previewDeposit(amount)) <= amount
        assert pool.previewRedeem(pool.previewWithdraw(amount)) >= amount
        assert pool.previewMint(1) >= 1


def test_lp_actions_only_while_the_market_trades(pool, market, lp, usd, admin):
    pool.deposit(usd(1_000), lp, sender=lp)
    market.set_state(0, 0, False, sender=admin)
    assert (
        pool.maxDeposit(lp) == pool.maxMint(lp) == pool.maxWithdraw(lp) == pool.maxRedeem(lp) == 0
    )
    for call in (
        lambda: pool.deposit(usd(1), lp, sender=lp),
        lambda: pool.mint(10**6, lp, sender=lp),
        lambda: pool.withdraw(usd(1), lp, lp, sender=lp),
        lambda: pool.redeem(10**6, lp, lp, sender=lp),
    ):
        with ape.reverts("pool: market closed"):
            call()


def test_withdrawals_stop_at_what_open_interest_needs(pool, market, lp, usd, admin, chain):
    pool.deposit(usd(1_000), lp, sender=lp)
    _after_the_lock(chain)
    market.set_state(0, usd(800), True, sender=admin)
    assert pool.maxWithdraw(lp) == usd(200)
    with ape.reverts("pool: needed by open interest"):
        pool.withdraw(usd(200) + 1, lp, lp, sender=lp)
    pool.withdraw(usd(200), lp, lp, sender=lp)
    with ape.reverts("pool: needed by open interest"):
        pool.redeem(pool.balanceOf(lp), lp, lp, sender=lp)


def test_the_lock_and_its_parameter(pool, lp, outsider, admin, usd, chain):
    """The rest (transfers, third-party deposits, bounds at both ends, `mint`) is in
    test_finding_regressions_pool.py on the real market."""
    shares = pool.deposit(usd(1_000), lp, sender=lp).return_value
    with ape.reverts("pool: locked"):
        pool.transfer(outsider, shares, sender=lp)
    with ape.reverts("pool: locked"):
        pool.withdraw(1, lp, lp, sender=lp)
    with ape.reverts("pool: receiver holds shares"):
        pool.deposit(usd(1), lp, sender=outsider)
    with ape.reverts("access_control: account is missing role"):
        pool.set_deposit_lock_s(3_600, sender=admin)  # RISK_ADMIN, not DEFAULT_ADMIN
    pool.grantRole(pool.RISK_ADMIN_ROLE(), admin, sender=admin)
    with ape.reverts("pool: lock bounds"):
        pool.set_deposit_lock_s(3_599, sender=admin)
    tx = pool.set_deposit_lock_s(3_600, sender=admin)
    assert tx.events == [pool.DepositLockSet(old_s=DAY, new_s=3_600)]
    _after_the_lock(chain)
    assert pool.transfer(outsider, shares, sender=lp).return_value
    assert pool.unlock_at(outsider) == 0 and pool.maxRedeem(outsider) == shares


def test_zero_share_deposits_revert(pool, lp):
    with ape.reverts("pool: zero shares"):
        pool.deposit(0, lp, sender=lp)
    with ape.reverts("pool: zero shares"):
        pool.mint(0, lp, sender=lp)


def test_only_the_market_pays_out(pool, market, stablecoin, lp, outsider, usd, admin):
    pool.deposit(usd(1_000), lp, sender=lp)
    with ape.reverts("pool: only market"):
        pool.pay(outsider, 1, sender=outsider)
    before = stablecoin.balanceOf(outsider)
    tx = market.pay_from(pool, outsider, usd(10), sender=admin)
    assert pool.Paid(to=outsider, amount=usd(10)) in tx.events
    assert stablecoin.balanceOf(outsider) == before + usd(10)


def test_market_is_attached_once_by_the_admin(project, admin, stablecoin, market, outsider):
    p = project.LiquidityPool.deploy(admin, stablecoin, "LP", "sqLP", sender=admin)
    with ape.reverts("access_control: account is missing role"):
        p.set_market(market, sender=outsider)
    with ape.reverts("pool: zero market"):
        p.set_market(ape.utils.ZERO_ADDRESS, sender=admin)
    assert p.set_market(market, sender=admin).events == [p.MarketSet(market=market)]
    with ape.reverts("pool: market set"):
        p.set_market(market, sender=admin)


def test_first_depositor_inflation_attack_is_unprofitable(pool, stablecoin, lp, outsider, usd):
    """The attacker deposits 1 unit, donates $1M to the pool, and waits for a $10,000
    deposit to round down to nothing. With 10^6 virtual shares the victim keeps all but a
    sliver, and half of the attacker's donation stays with the virtual shares, i.e. in the
    pool for whoever provides liquidity next: the attack loses money."""
    attacker, victim = outsider, lp
    pool.deposit(1, attacker, sender=attacker)
    stablecoin.transfer(pool, usd(1_000_000), sender=attacker)
    shares = pool.deposit(usd(10_000), victim, sender=victim).return_value
    assert shares > 0
    victim_value = pool.convertToAssets(shares)
    assert victim_value >= usd(10_000) * 9_999 // 10_000  # loses < 0.01%
    attacker_value = pool.convertToAssets(pool.balanceOf(attacker))
    assert attacker_value < usd(1_000_000) * 51 // 100  # about half the donation is gone
