"""Issue 15, the vault's findings, replayed through `synthequity.testing.deploy_protocol`
(titanoboa, in process). Each reproduces the scenario of the outside review and checks the
victim's or the attacker's result against plain arithmetic done here, not the vault's views.

- Finding 5: stability fees minted to the insurance fund made Σ debt exceed the synth anyone
  could hold; the last borrower could not close. Now anyone buys the fund's synth at the
  oracle price (paid to the fund in collateral), and a close or a liquidation buys what
  the caller's synth lacks (the fee the call itself mints) out of what it pays out.
- Finding 6: after a delisting, redeeming before the under-water positions were settled paid
  full value and left the gap to later holders. Now redemption opens once every debt is
  settled, and every synth unit redeems at one rate."""

from __future__ import annotations

import boa
import pytest

from synthequity.model.vault import VaultParams
from synthequity.testing import deploy_protocol

WAD = 10**18
YEAR = 365 * 86_400


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@pytest.fixture(params=[6, 18], ids=["usdc6", "usd18"])
def decimals(request):
    with boa.env.anchor():
        yield request.param


@pytest.fixture
def p(decimals):
    """The default parameters: a 1% stability fee."""
    return deploy_protocol(decimals=decimals, vault_params=VaultParams())


def climb(p, start: float, end: float) -> None:
    """OPEN prints from `start` to `end` in steps the oracle's 25% jump guard accepts."""
    price = start
    while price != end:
        price = min(price * 1.2, end) if end > start else max(price / 1.2, end)
        p.push(price)


def test_finding5_last_borrower_repays_in_full(p):
    """One borrower, one year at the default 1%: its debt is 1% above the synth it minted and
    all of that 1% sits in the insurance fund. It buys the fund's synth at the oracle price,
    closes, and gets all its collateral back; the fund ends with the fee's value in
    collateral and no synth; the supply is zero."""
    borrower, vault, synth, fund = p.borrower, p.vault, p.synth, p.insurance
    p.push(200.0)
    p.fund(borrower, 10_000)
    with boa.env.prank(borrower):
        vault.open(p.units(1_000), 2 * WAD)  # $400 of debt at $200: 250%
    minted = 2 * WAD
    p.push(200.0, dt=YEAR)  # a year later, the same price, fresh
    with boa.env.prank(borrower):
        vault.burn(WAD)  # touching the position mints the year's fee to the fund
    fee = synth.balanceOf(fund)
    assert abs(fee - minted // 100) <= minted // 10**6  # 1% (the fee per second is floored)
    debt = vault.position(borrower)[1]
    circulating = synth.balanceOf(borrower)  # every synth outside the fund
    assert circulating == WAD and debt == minted + fee - WAD  # debt 1.02, circulating 1.00
    assert debt > circulating  # before the fix, no sequence of actions could close it
    with boa.env.prank(borrower):
        assert vault.buy_fee_synth(fee, 2**256 - 1) == ceil_div(fee * 200, p.usd_per_unit)
    cash = p.collateral.balanceOf(borrower)
    with boa.env.prank(borrower):
        vault.close()
    # all the collateral back; the fund holds the fee at $200, rounded up, and no synth
    assert p.collateral.balanceOf(borrower) - cash == p.units(1_000)
    assert p.collateral.balanceOf(fund) == ceil_div(fee * 200, p.usd_per_unit)
    assert synth.balanceOf(fund) == 0 and synth.totalSupply() == 0
    assert vault.position(borrower) == (0, 0)


def test_finding5_lone_borrower_closes_a_block_after_buying_the_fund_out(p):
    """On a real chain the close lands in a later block than the purchase: the fee of those
    seconds is minted to the fund by the close itself, so no one could have bought it first
    (the dapp's end-to-end run found it: the lone borrower could never close). The close
    buys what the borrower's synth lacks from the fund at the oracle price, out of the
    collateral it returns."""
    borrower, vault, synth, fund = p.borrower, p.vault, p.synth, p.insurance
    p.push(200.0)
    p.fund(borrower, 10_000)
    with boa.env.prank(borrower):
        vault.open(p.units(1_000), 2 * WAD)
    p.push(200.0, dt=YEAR)
    with boa.env.prank(borrower):
        vault.burn(WAD)  # mints the year's fee to the fund
        vault.buy_fee_synth(synth.balanceOf(fund), 2**256 - 1)  # all of it
    held = synth.balanceOf(borrower)
    assert held == vault.position(borrower)[1]  # enough, in this block
    boa.env.time_travel(seconds=12)  # the next block
    debt = vault.position(borrower)[1]
    short = debt - held
    # 12 s of a 1%/year fee on ~1.02 sTSLA, computed apart from the contract
    assert short > 0 and abs(short - held * 12 // (100 * 365 * 86_400)) <= held // 10**8
    cash, fund_cash = p.collateral.balanceOf(borrower), p.collateral.balanceOf(fund)
    with boa.env.prank(borrower):
        vault.close()
    sold = [e for e in vault.get_logs(strict=False) if type(e).__name__ == "FeeSynthSold"]
    paid = ceil_div(short * 200, p.usd_per_unit)
    assert p.collateral.balanceOf(borrower) - cash == p.units(1_000) - paid
    assert p.collateral.balanceOf(fund) - fund_cash == paid
    assert synth.balanceOf(fund) == 0 and synth.totalSupply() == 0
    assert vault.position(borrower) == (0, 0)
    assert [(e.buyer, e.amount, e.paid) for e in sold] == [(borrower, short, paid)]


def test_finding5_close_buys_only_what_the_fund_holds_and_only_at_a_usable_price(p):
    """A close short of synth by more than the fund holds is refused ("vault: synth short");
    a shortfall needs a usable price; a close the borrower's own synth covers needs none."""
    borrower, other, vault, synth = p.borrower, p.trader, p.vault, p.synth
    p.push(200.0)
    for who in (borrower, other):
        p.fund(who, 10_000)
    with boa.env.prank(borrower):
        vault.open(p.units(1_000), 2 * WAD)
        synth.transfer(other, WAD)  # sold half of it
    with boa.env.prank(other):
        vault.open(p.units(1_000), WAD)
    with boa.env.prank(borrower), boa.reverts("vault: synth short"):
        vault.close()
    p.push(200.0, dt=3_600)
    p.push(200.0, status=1)  # CLOSED: the hour's fee is a shortfall, which needs a price
    with boa.env.prank(other):
        synth.transfer(borrower, WAD)  # back to the 2 it minted: the fee is the shortfall
    with boa.env.prank(borrower), boa.reverts("market closed"):
        vault.close()
    with boa.env.prank(other):
        synth.transfer(borrower, WAD // 1_000)  # more than the hour's fee
    with boa.env.prank(borrower):
        vault.close()  # covered by its own synth: no price needed
    assert vault.position(borrower) == (0, 0)


def test_finding5_a_whole_liquidation_buys_the_fee_it_mints(p):
    """The replay of 2010-2024 (seed 3, 2021-10-26) found it: the last borrower owed 0.5034
    sTSLA, the whole supply (0.4994) sat with the keeper, and the rest of a partial
    liquidation would have been dust, so it had to be whole; the 0.0040 short was the fee
    minted to the fund by the liquidation itself, which no one could buy before. Before the
    fix it reverted ("erc20: burn amount exceeds balance") and the position stayed under
    water. Now the liquidator buys the short from the fund at the oracle price, paid out of
    its proceeds; everything below is computed here from the debt and the price."""
    borrower, keeper, vault, synth, fund = p.borrower, p.keeper, p.vault, p.synth, p.insurance
    p.push(200.0)
    p.fund(borrower, 10_000)
    with boa.env.prank(borrower):
        vault.open(p.units(180), 6 * WAD // 10)  # $120 of debt at $200: 150%
        synth.transfer(keeper, 6 * WAD // 10)  # the keeper holds the whole supply
    p.push(200.0, dt=YEAR)  # a year of the 1% fee, not yet minted (no one touched it)
    climb(p, 200.0, 245.0)  # CR 180 / (0.606 x 245) = 121%: below 125%
    debt = vault.position(borrower)[1]
    short = debt - 6 * WAD // 10
    assert abs(short - 6 * WAD // 1_000) <= 6 * WAD // 10**6  # ~1% of 0.6, the year's fee
    assert synth.balanceOf(fund) == 0 and synth.totalSupply() == 6 * WAD // 10
    # a partial repay restoring 150% would leave (0.606 - 0.436) x $245 = $42 < $100: whole
    price = 245 * WAD
    seized = debt * price * 11_000 // (WAD * 10_000) // p.usd_per_unit  # 10% penalty
    fee = debt * price * 1_000 * 2_000 // (WAD * 10_000 * 10_000) // p.usd_per_unit
    paid = ceil_div(short * price, WAD * p.usd_per_unit)
    cash, fund_cash = p.collateral.balanceOf(keeper), p.collateral.balanceOf(fund)
    with boa.env.prank(keeper):
        assert vault.liquidate(borrower, 2**256 - 1) == debt
    sold = [e for e in vault.get_logs(strict=False) if type(e).__name__ == "FeeSynthSold"]
    assert vault.position(borrower) == (p.units(180) - seized, 0)
    assert p.collateral.balanceOf(keeper) - cash == seized - fee - paid
    assert p.collateral.balanceOf(fund) - fund_cash == fee + paid
    assert synth.totalSupply() == 0 and synth.balanceOf(fund) == 0
    assert [(e.buyer, e.amount, e.paid) for e in sold] == [(keeper, short, paid)]
    # the keeper still earned the penalty: its gain at $245 is about 10% of the debt's value
    gain = (seized - fee - paid) * p.usd_per_unit - (debt - short) * 245
    assert gain > 0


def test_finding5_a_liquidation_buys_only_what_the_fund_holds(p):
    """A liquidator short of more than the fund's synth is refused ("vault: synth short"),
    and nothing moves."""
    borrower, keeper, vault, synth = p.borrower, p.keeper, p.vault, p.synth
    p.push(200.0)
    p.fund(borrower, 10_000)
    with boa.env.prank(borrower):
        vault.open(p.units(180), 6 * WAD // 10)
        synth.transfer(keeper, 5 * WAD // 10)  # a tenth of the debt is missing
    climb(p, 200.0, 245.0)
    before = vault.position(borrower)
    with boa.env.prank(keeper), boa.reverts("vault: synth short"):
        vault.liquidate(borrower, 2**256 - 1)
    assert vault.position(borrower) == before and synth.balanceOf(keeper) == 5 * WAD // 10


def test_finding5_fee_synth_needs_a_usable_price_and_a_bound(p):
    """The sale is at the oracle's price for risk only (no purchase at a stale or closed
    market's price), bounded by the buyer's `max_paid`, and only of what the fund holds."""
    borrower, vault = p.borrower, p.vault
    p.push(200.0)
    p.fund(borrower, 10_000)
    with boa.env.prank(borrower):
        vault.open(p.units(1_000), 2 * WAD)
    p.push(200.0, dt=YEAR)
    with boa.env.prank(borrower):
        vault.burn(WAD)
    fee = p.synth.balanceOf(p.insurance)
    cost = ceil_div(fee * 200, p.usd_per_unit)
    with boa.env.prank(borrower), boa.reverts("vault: max_paid too small"):
        vault.buy_fee_synth(fee, cost - 1)
    with boa.env.prank(borrower), boa.reverts("vault: exceeds fee synth"):
        vault.buy_fee_synth(fee + 1, 2**256 - 1)
    with boa.env.prank(borrower), boa.reverts("vault: zero amount"):
        vault.buy_fee_synth(0, 2**256 - 1)
    p.push(200.0, status=1)  # CLOSED
    with boa.env.prank(borrower), boa.reverts("market closed"):
        vault.buy_fee_synth(fee, 2**256 - 1)
    p.push(200.0)
    with boa.env.prank(p.guardian):
        vault.pause()
    with boa.env.prank(borrower):  # the pause never blocks repaying
        assert vault.buy_fee_synth(fee, cost) == cost
    ext = vault.buy_fee_synth.contract  # the handle that decodes the extension's events
    logs = [e for e in ext.get_logs(strict=False) if type(e).__name__ == "FeeSynthSold"]
    assert [(e.buyer, e.amount, e.paid) for e in logs] == [(borrower, fee, cost)]


def _delisting_book(p):
    """$200; the healthy borrower mints 20 sTSLA against $10,000 and gives 10 each to the
    attacker and the victim; the risky one mints 10 against $3,100 (155%). The price climbs
    to $400 (the risky position is under water: $3,100 < $4,000) and the stock is delisted
    there; the insurance fund is empty."""
    healthy, risky, attacker, victim = p.borrower, p.trader, p.attacker, p.lp
    p.push(200.0)
    for who in (healthy, risky):
        p.fund(who, 20_000)
    with boa.env.prank(healthy):
        p.vault.open(p.units(10_000), 20 * WAD)
        p.synth.transfer(attacker, 10 * WAD)
        p.synth.transfer(victim, 10 * WAD)
    with boa.env.prank(risky):
        p.vault.open(p.units(3_100), 10 * WAD)
    climb(p, 200.0, 400.0)
    with boa.env.prank(p.admin):
        p.vault.settle()
    return healthy, risky, attacker, victim


def test_finding6_early_redeemer_gets_the_same_rate(decimals):
    """The attack: settle the healthy position, redeem at once (before the under-water one is
    settled). It is refused; once everything is settled, the attacker and the victim redeem
    the same holding for the same amount: the system's $8,000 + $3,100 over 30 sTSLA = $370
    a share, $3,700 for 10 (the review's run paid the first redeemer $4,000). No stability
    fee, so that every figure is exact."""
    p = deploy_protocol(decimals=decimals, vault_params=VaultParams(stability_fee_bps=0))
    vault = p.vault
    healthy, risky, attacker, victim = _delisting_book(p)
    with boa.env.prank(attacker):
        vault.settle_position(healthy)  # anyone settles anyone with debt
        try:
            early = vault.redeem(10 * WAD)  # the attack
        except boa.BoaError as exc:
            assert "vault: settle positions first" in str(exc)
            early = None
            vault.settle_position(risky)  # the attacker has to settle the rest first
            attacker_paid = vault.redeem(10 * WAD)
    if early is not None:  # the pre-fix contracts: redeemed before the gap was known
        with boa.env.prank(victim):
            vault.settle_position(risky)
        attacker_paid = early
    with boa.env.prank(victim):
        victim_paid = vault.redeem(10 * WAD)
    # independently: the healthy debt's value at $400 and all the under-water collateral
    # back 30 sTSLA (the fund is empty)
    system_usd = 20 * 400 + 3_100
    expected = p.units(10 * system_usd / 30)  # $3,700
    assert expected == p.units(3_700)
    assert (attacker_paid, victim_paid) == (expected, expected)
    assert vault.redemption_rate_wad() == 370 * WAD


def test_finding6_the_order_of_settling_and_redeeming_changes_nothing(decimals):
    """The same book, the two settlements and the three holders' redemptions (the attacker,
    the victim, the under-water borrower's own 10 sTSLA) in every interleaving: a redemption
    the vault refuses is retried once everything is settled. Every 10 sTSLA redeems for
    $3,700 (before the fix, those who redeemed between the settlements got $4,000)."""
    import itertools

    p = deploy_protocol(decimals=decimals, vault_params=VaultParams(stability_fee_bps=0))
    healthy, risky, attacker, victim = _delisting_book(p)
    results = set()
    for settles in itertools.permutations((healthy, risky)):
        for slots in itertools.combinations(range(5), 2):
            with boa.env.anchor():
                settle_queue, redeem_queue = list(settles), [attacker, victim, risky]
                waiting = []
                for i in range(5):
                    if i in slots:
                        p.vault.settle_position(settle_queue.pop(0), sender=p.keeper)
                        continue
                    who = redeem_queue.pop(0)
                    try:
                        results.add(p.vault.redeem(10 * WAD, sender=who))
                    except boa.BoaError as exc:
                        assert "vault: settle positions first" in str(exc)
                        waiting.append(who)
                for who in waiting:
                    results.add(p.vault.redeem(10 * WAD, sender=who))
    assert results == {p.units(3_700)}
