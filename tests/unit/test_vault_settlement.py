"""Delisting (docs/spec.md §6), the vault's half: the admin freezes the market at the oracle's
last price; no new risk after it; each borrower's debt is settled at that price (equity paid
out, or left as its debt-free collateral when someone else settled it; under water covered by
the insurance fund); once every debt is settled, every sTSLA holder — the fund's fee sTSLA
included — redeems at one rate; at the end every account is paid and the vault holds only
rounding dust. Nobody gains from the freeze: a mint-and-redeem round trip is impossible, the
price is the oracle's, not an admin's number, and a debt is never repaid at par after it."""

import ape
import pytest

from synthequity.constants import MarketStatus

WAD = 10**18


@pytest.fixture
def insurance_funded(vault, stablecoin, usd, outsider):
    stablecoin.faucet(vault.INSURANCE(), usd(100_000), sender=outsider)
    return True


def test_before_settlement_nothing_settles(vault, outsider):
    with ape.reverts("vault: not settled"):
        vault.settle_position(outsider, sender=outsider)
    # while listed, `redeem` is a live redemption (issue 19): it needs a fee bound
    with ape.reverts("vault: fee above max"):
        vault.redeem(WAD, sender=outsider)


@pytest.fixture(autouse=True)
def _book(vault, synth, stablecoin, usd, funded, borrower, trader, outsider, move_to, push):
    push(200)
    vault.open(usd(10_000), 25 * WAD, sender=borrower)  # 200% at $200
    vault.open(usd(3_100), 10 * WAD, sender=trader)  # 155%: under water above $310
    synth.transfer(outsider, 5 * WAD, sender=borrower)  # a holder without a position


def test_settle_roles_freeze_and_events(
    vault, oracle, admin, outsider, borrower, trader, usd, push, move_to
):
    with ape.reverts():  # DEFAULT_ADMIN only
        vault.settle(sender=outsider)
    push(201, MarketStatus.CLOSED)  # the delisted stock's last print
    tx = vault.settle(sender=admin)
    assert vault.Settled(by=admin, price_wad=201 * WAD) in tx.events
    assert vault.settlement_price_wad() == 201 * WAD
    with ape.reverts("vault: settled"):
        vault.settle(sender=admin)
    move_to(260)  # the trader's CR is 119% at a fresh OPEN price: still nothing to liquidate
    assert not vault.is_liquidatable(trader)
    assert vault.liquidatable([trader, borrower]) == [False, False]
    for call in (
        lambda: vault.deposit(usd(1), sender=borrower),
        lambda: vault.mint(WAD, sender=borrower),
        lambda: vault.withdraw(usd(1), sender=borrower),
        lambda: vault.liquidate(borrower, WAD, sender=outsider),
    ):
        with ape.reverts("vault: settled"):
            call()
    # the oracle moving on changes nothing: the price is frozen, and so is the fee
    push(150, MarketStatus.CLOSED)
    before = vault.position(borrower)
    from ape import chain

    chain.mine(timestamp=chain.blocks.head.timestamp + 365 * 86_400)
    assert vault.position(borrower) == before


def test_everyone_is_paid_at_the_frozen_price(
    vault, synth, stablecoin, usd, admin, borrower, trader, outsider, liquidator, move_to,
    insurance_funded,
):  # fmt: skip
    move_to(320)  # the trader's position is now under water (3,100 < 10 x 320)
    final = 320 * WAD
    vault.settle(sender=admin)
    insurance = vault.INSURANCE()
    cash = {w: stablecoin.balanceOf(w) for w in (borrower, trader, outsider)}
    b_coll, b_debt = vault.position(borrower)
    with ape.reverts("vault: settle positions first"):  # nothing moved to the system yet
        vault.redeem(5 * WAD, sender=outsider)
    # anyone settles anyone with debt: the holder settles the borrower, whose equity stays
    # its debt-free collateral
    tx = vault.settle_position(borrower, sender=outsider)
    unit = 10**18 // usd(1)  # USD wad per collateral unit
    equity = b_coll - -(-b_debt * final // (WAD * unit))
    settled = vault.PositionSettled(
        account=borrower, by=outsider, debt=b_debt, collateral=b_coll, paid=equity
    )
    assert settled in tx.events
    assert vault.position(borrower) == (equity, 0)
    assert stablecoin.balanceOf(borrower) == cash[borrower]
    with ape.reverts("vault: no position"):  # no debt left: nothing for others to settle
        vault.settle_position(borrower, sender=outsider)
    with ape.reverts("vault: settle positions first"):  # the trader's debt is still open
        vault.redeem(5 * WAD, sender=outsider)
    vault.close(sender=borrower)  # takes its equity, to the unit
    assert stablecoin.balanceOf(borrower) - cash[borrower] == equity
    tx = vault.settle_position(trader, sender=trader)  # the trader settles itself
    assert stablecoin.balanceOf(trader) == cash[trader]  # under water: nothing back
    assert any(e.event_name == "BadDebt" for e in tx.events)  # the fund covered the gap
    assert vault.position(borrower) == (0, 0) and vault.position(trader) == (0, 0)
    # every holder, and the fund for its fees, redeems at the frozen price (gap covered)
    assert synth.totalSupply() == vault.system_debt()
    tx = vault.redeem_fees(sender=liquidator)  # anyone, for the fund
    fees = tx.return_value
    assert synth.balanceOf(insurance) == 0
    assert vault.redemption_rate_wad() == final
    for holder in (outsider, borrower, trader):
        amount = synth.balanceOf(holder)
        if amount == 0:
            continue
        before = stablecoin.balanceOf(holder)
        vault.redeem(amount, sender=holder)
        got = stablecoin.balanceOf(holder) - before
        assert got == amount * final // (WAD * unit)  # at $320, rounded down to the unit
        assert synth.balanceOf(holder) == 0
    assert fees >= 0 and synth.totalSupply() == vault.system_debt() == 0
    # what is left: rounding dust, under a unit per rounding (the settled debt and the gap
    # rounded up, four redemptions down)
    left = stablecoin.balanceOf(vault)
    assert left == vault.system_collateral() <= 7


def test_no_round_trip_through_the_freeze(
    vault, synth, usd, admin, risk_admin, borrower, outsider, push
):
    push(200, MarketStatus.CLOSED)
    vault.settle(sender=admin)
    with ape.reverts("vault: settled"):  # no mint at the frozen price to redeem later
        vault.open(usd(1_000), WAD, sender=outsider)
    with ape.reverts("vault: settled"):
        vault.set_risk_params(vault.risk_params(), sender=risk_admin)
    # no repaying at par after the freeze (the synth would escape any gap): the debt is
    # settled at the frozen price, and the borrower redeems its synth like any holder
    with ape.reverts("vault: settled"):
        vault.burn(WAD, sender=borrower)
    with ape.reverts("vault: settled"):
        vault.close(sender=borrower)
    vault.settle_position(borrower, sender=borrower)
    assert vault.position(borrower) == (0, 0)
