"""Delisting (docs/spec.md §6), the perp market's half: DEFAULT_ADMIN freezes the market at the
oracle's last price; funding stops and nothing new can be deposited, opened, filled or
liquidated; every position closes at that price (anyone may close anyone, no penalty, no
reward), the pool paying gains and taking losses, a loss beyond the margin covered by the
insurance fund; traders withdraw, and LPs leave last. The market and the pool end empty but
for rounding dust, and every payout equals an independent computation at the frozen price."""

import ape
import pytest

from synthequity.constants import MarketStatus

WAD = 10**18
BOOK = (("trader", 5_000, 50), ("outsider", 2_000, -40))  # a 2x long and a 4x short at $200


@pytest.fixture(autouse=True)
def _book(fund_perp, usd, trader, outsider, borrower, keeper, push, chain):
    _, market = fund_perp((trader, outsider, borrower), 1_000_000, 1_000_000)
    actors = {"trader": trader, "outsider": outsider}
    for name, margin, size in BOOK:
        who = actors[name]
        market.deposit_margin(usd(margin), sender=who)
        tx = market.commit_order(size * WAD, 2**255 if size > 0 else 0, sender=who)
        chain.pending_timestamp = tx.timestamp + 1
        push(200)
        market.execute_order(who, sender=keeper)
    market.deposit_margin(usd(1_000), sender=borrower)  # margin only, no position


def _equity_at(position, price_wad: int, index: int) -> int:
    """Margin + PnL - funding owed, computed here from the stored position (USD wad)."""
    size, entry, margin, funding_entry = position
    return margin + size * (price_wad - entry) // WAD - size * (index - funding_entry) // WAD


def test_settle_freezes_the_market(perp, admin, trader, outsider, keeper, usd, push, chain):
    pool, market = perp
    with ape.reverts():  # DEFAULT_ADMIN only
        market.settle(sender=outsider)
    with ape.reverts("perp: not settled"):
        market.settle_position(trader, sender=outsider)
    push(210, MarketStatus.CLOSED)  # the last print
    tx = market.settle(sender=admin)
    assert market.Settled(by=admin, price_wad=210 * WAD) in tx.events
    assert market.settlement_price_wad() == 210 * WAD
    assert market.funding_rate() == 0
    with ape.reverts("perp: settled"):
        market.settle(sender=admin)
    push(300)  # the oracle moving on changes nothing
    with ape.reverts("perp: settled"):
        market.deposit_margin(usd(1), sender=trader)
    with ape.reverts("perp: settled"):
        market.commit_order(WAD, 2**255, sender=trader)
    with ape.reverts("perp: settled"):
        market.liquidate(outsider, sender=keeper)
    with ape.reverts("perp: close first"):
        market.withdraw_margin(usd(1), sender=trader)
    assert not market.is_liquidatable(outsider)
    assert market.liquidatable([trader, outsider]) == [False, False]
    assert not market.lp_open()  # LPs leave last
    with ape.reverts("pool: market closed"):
        pool.withdraw(usd(1), keeper, keeper, sender=keeper)
    equity = market.equity(trader)
    _, index, _ = market.funding_state()
    assert equity == _equity_at(market.position(trader), 210 * WAD, index)
    chain.mine(timestamp=chain.blocks.head.timestamp + 365 * 86_400)
    assert market.equity(trader) == equity  # funding stopped, price frozen
    assert market.funding_state()[1] == index


def test_a_pending_order_is_cancelled_not_filled(perp, admin, trader, keeper, push, chain):
    _, market = perp
    tx = market.commit_order(10 * WAD, 2**255, sender=trader)
    fee = market.pending_order(trader).keeper_fee
    market.settle(sender=admin)
    chain.pending_timestamp = tx.timestamp + 2
    push(205)  # a newer price exists, but the market is frozen
    size = market.position(trader).size
    tx = market.execute_order(trader, sender=keeper)
    assert market.OrderCancelled(account=trader, by=keeper, reason="settled") in tx.events
    assert market.position(trader).size == size
    assert market.pending_order(trader).committed_at == 0
    assert fee > 0


def test_everyone_is_paid_and_the_market_ends_empty(
    perp, stablecoin, usd, admin, lp, trader, outsider, borrower, keeper, move_to, chain
):
    pool, market = perp
    insurance = market.INSURANCE()
    stablecoin.faucet(insurance, usd(100_000), sender=lp)  # covers the short's loss
    move_to(260)  # +30%: the 4x short is under water (margin 2,000 < 40 x 60)
    market.settle(sender=admin)
    final = market.settlement_price_wad()
    assert final == 260 * WAD
    _, index, _ = market.funding_state()
    long_eq = _equity_at(market.position(trader), final, index)
    short_eq = _equity_at(market.position(outsider), final, index)
    assert long_eq == market.equity(trader) and short_eq == market.equity(outsider) < 0
    upu = WAD // usd(1)
    pool_before, fund_before = stablecoin.balanceOf(pool), stablecoin.balanceOf(insurance)
    long_margin, short_margin = market.position(trader).margin, market.position(outsider).margin

    tx = market.settle_position(trader, sender=outsider)  # anyone closes anyone
    assert market.PositionSettled(account=trader, by=outsider, size=50 * WAD, shortfall=0) in (
        tx.events
    )
    pos = market.position(trader)
    assert pos.size == 0 and long_eq - upu < pos.margin <= long_eq  # its equity, no penalty
    tx = market.settle_position(outsider, sender=keeper)
    assert market.PositionSettled(account=outsider, shortfall=-short_eq) in tx.events
    assert market.position(outsider).margin == 0  # lost it all; the fund paid the rest
    with ape.reverts("perp: no position"):
        market.settle_position(trader, sender=trader)
    assert market.open_interest() == (0, 0) and market.skew() == 0 and market.pool_pnl() == 0
    # the pool paid the long's gain and got the short's whole loss: its margin, then the fund
    expected = (short_margin - short_eq) - (long_eq - long_margin)
    assert abs((stablecoin.balanceOf(pool) - pool_before) * upu - expected) <= 2 * upu
    assert abs((fund_before - stablecoin.balanceOf(insurance)) * upu + short_eq) <= upu

    # traders withdraw everything they have, then LPs leave
    for who in (trader, borrower):
        units = market.position(who).margin // upu
        market.withdraw_margin(units, sender=who)
        assert market.position(who).margin < upu
    assert market.lp_open()
    # the LP's deposit lock (docs/design/pool.md) runs its course, delisted or not
    chain.mine(timestamp=max(chain.blocks.head.timestamp, pool.unlock_at(lp)))
    pool.redeem(pool.balanceOf(lp), lp, lp, sender=lp)
    assert pool.totalSupply() == 0
    assert stablecoin.balanceOf(pool) <= 1  # dust
    assert stablecoin.balanceOf(market) <= 3  # payouts round down: the market keeps dust
