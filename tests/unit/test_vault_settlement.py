"""Delisting (docs/spec.md §6), the vault's half: the admin freezes the market at the oracle's
last price; no new risk after it; each borrower is settled at that price (equity paid out,
under water covered by the insurance fund); every sTSLA holder redeems at that price; at the
end every account is paid and the vault holds only rounding dust (and the value of the fee
sTSLA the insurance fund holds). Nobody gains from the freeze: a mint-and-redeem round trip
is impossible and the price is the oracle's, not an admin's number."""

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
    with ape.reverts("vault: not settled"):
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
    cash = {w: stablecoin.balanceOf(w) for w in (borrower, trader, outsider)}
    b_coll, b_debt = vault.position(borrower)
    with ape.reverts("vault: settle positions first"):  # nothing moved to the system yet
        vault.redeem(5 * WAD, sender=outsider)
    # anyone settles anyone: the holder settles both borrowers
    tx = vault.settle_position(borrower, sender=outsider)
    unit = 10**18 // usd(1)  # USD wad per collateral unit
    paid = b_coll - -(-b_debt * final // (WAD * unit))
    assert stablecoin.balanceOf(borrower) - cash[borrower] == paid  # equity, to the unit
    settled = vault.PositionSettled(
        account=borrower, by=outsider, debt=b_debt, collateral=b_coll, paid=paid
    )
    assert settled in tx.events
    tx = vault.settle_position(trader, sender=outsider)
    assert stablecoin.balanceOf(trader) == cash[trader]  # under water: nothing back
    assert any(e.event_name == "BadDebt" for e in tx.events)  # the fund covered the gap
    assert vault.position(borrower) == (0, 0) and vault.position(trader) == (0, 0)
    with ape.reverts("vault: no position"):
        vault.settle_position(borrower, sender=outsider)
    # every holder redeems at the frozen price
    for holder in (outsider, borrower, trader):
        amount = synth.balanceOf(holder)
        if amount == 0:
            continue
        before = stablecoin.balanceOf(holder)
        vault.redeem(amount, sender=holder)
        got = stablecoin.balanceOf(holder) - before
        assert abs(got - amount * final // (WAD * unit)) <= 1  # at $320, to a unit
        assert synth.balanceOf(holder) == 0
    # what is left: the fee sTSLA the insurance fund holds, at the frozen price, and dust
    fees = synth.balanceOf(vault.INSURANCE())
    assert synth.totalSupply() == fees == vault.system_debt()
    left = stablecoin.balanceOf(vault)
    assert left == vault.system_collateral()
    assert abs(left - fees * final // (WAD * unit)) <= 3


def test_no_round_trip_through_the_freeze(
    vault, synth, usd, admin, risk_admin, borrower, outsider, push
):
    push(200, MarketStatus.CLOSED)
    vault.settle(sender=admin)
    with ape.reverts("vault: settled"):  # no mint at the frozen price to redeem later
        vault.open(usd(1_000), WAD, sender=outsider)
    with ape.reverts("vault: settled"):
        vault.set_risk_params(vault.risk_params(), sender=risk_admin)
    # burning is still allowed (and needs no minimum-debt check), then settle the rest
    vault.burn(WAD, sender=borrower)
    vault.settle_position(borrower, sender=borrower)
    assert vault.position(borrower) == (0, 0)
