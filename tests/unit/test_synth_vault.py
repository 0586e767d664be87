"""SynthVault (docs/spec.md §3, §5): every user action's success path, revert reasons and events,
for 6- and 18-decimal collateral; numbers checked by hand and against the reference model."""

import ape
import pytest

from synthequity.constants import MarketStatus
from synthequity.model.vault import WAD, VaultParams, liquidation, rate_at

TSLA = 200  # USD


@pytest.fixture(autouse=True)
def _setup(funded, push, vault, risk_admin):
    """TSLA at $200, and no stability fee so that hand-checked numbers stay exact (the fee has
    its own tests)."""
    vault.set_risk_params(VaultParams(stability_fee_bps=0).as_tuple(), sender=risk_admin)
    push(TSLA)


def shares(n):
    return int(n * WAD)


# ---- deployment ---------------------------------------------------------------------------


def test_deployed_through_the_factory(vault, synth, core, stablecoin, oracle, admin):
    assert core.factory.vaults("sTSLA") == vault.address
    assert core.factory.is_market(vault) and core.factory.market_count() == 1
    assert (synth.name(), synth.symbol(), synth.decimals()) == ("Synthetic Tesla", "sTSLA", 18)
    assert synth.vault() == vault.address
    assert vault.COLLATERAL() == stablecoin.address and vault.oracle() == oracle.address
    assert vault.risk_params() == VaultParams(stability_fee_bps=0).as_tuple()
    assert vault.rate_index() >= WAD
    assert vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), admin)


def test_factory_refuses_a_taken_symbol_and_non_admins(core, stablecoin, oracle, admin, outsider):
    args = ("X", "sTSLA", stablecoin, core.insurance, oracle, 120, VaultParams().as_tuple(), admin)
    with ape.reverts("factory: symbol taken"):
        core.factory.deploy_vault(*args, sender=admin)
    with ape.reverts("access_control: account is missing role"):
        core.factory.deploy_vault(*args, sender=outsider)


@pytest.mark.parametrize(
    "change, reason",
    [
        (dict(liquidation_penalty_bps=99), "vault: penalty bounds"),
        (dict(liquidation_penalty_bps=2_001), "vault: penalty bounds"),
        (dict(liquidation_ratio_bps=11_000), "vault: ratio bounds"),
        (dict(mcr_bps=12_500), "vault: mcr bounds"),
        (dict(mcr_bps=30_001), "vault: mcr bounds"),
        (dict(protocol_share_bps=10_001), "vault: share bounds"),
        (dict(min_debt_usd=WAD - 1), "vault: min debt bounds"),
        (dict(stability_fee_bps=2_001), "vault: fee bounds"),
    ],
)
def test_risk_params_have_hard_bounds(vault, risk_admin, change, reason):
    bad = VaultParams(**{**VaultParams().__dict__, **change})
    with ape.reverts(reason):
        vault.set_risk_params(bad.as_tuple(), sender=risk_admin)


def test_set_risk_params_emits_each_change(vault, risk_admin, outsider, guardian):
    new = VaultParams(mcr_bps=16_000, stability_fee_bps=200)
    with ape.reverts("access_control: account is missing role"):
        vault.set_risk_params(new.as_tuple(), sender=guardian)
    tx = vault.set_risk_params(new.as_tuple(), sender=risk_admin)
    assert [(e.name, e.old_value, e.new_value) for e in tx.events.filter(vault.ParameterSet)] == [
        ("mcr_bps", 15_000, 16_000),
        ("stability_fee_bps", 0, 200),
    ]
    assert vault.risk_params() == new.as_tuple()


# ---- deposit / mint / burn / withdraw --------------------------------------------------------


def test_deposit_moves_collateral_and_emits(vault, stablecoin, borrower, usd):
    before = stablecoin.balanceOf(borrower)
    tx = vault.deposit(usd(1_500), sender=borrower)
    assert tx.events == [
        stablecoin.Transfer(borrower, vault, usd(1_500)),
        vault.Deposit(account=borrower, amount=usd(1_500)),
    ]
    assert vault.position(borrower) == (usd(1_500), 0)
    assert stablecoin.balanceOf(borrower) == before - usd(1_500)
    assert stablecoin.balanceOf(vault) == usd(1_500)
    assert vault.collateral_ratio(borrower) == 2**256 - 1


def test_deposit_zero_reverts(vault, borrower):
    with ape.reverts("vault: zero amount"):
        vault.deposit(0, sender=borrower)


def test_mint_at_exactly_mcr_and_one_wei_over(vault, synth, borrower, usd):
    vault.deposit(usd(1_500), sender=borrower)  # $1,500 at $200: 5 shares at 150%
    with ape.reverts("vault: below MCR"):
        vault.mint(shares(5) + 1, sender=borrower)
    tx = vault.mint(shares(5), sender=borrower)
    assert vault.Mint(account=borrower, amount=shares(5), debt=shares(5)) in tx.events
    assert synth.balanceOf(borrower) == shares(5) == synth.totalSupply()
    assert vault.position(borrower) == (usd(1_500), shares(5))
    assert vault.collateral_ratio(borrower) == 15 * 10**17
    assert vault.max_mintable(borrower) == 0


def test_mint_below_minimum_debt_reverts(vault, borrower, usd):
    vault.deposit(usd(1_500), sender=borrower)
    with ape.reverts("vault: debt below minimum"):
        vault.mint(shares(0.4999), sender=borrower)  # $99.98 < $100
    vault.mint(shares(0.5), sender=borrower)


def test_mint_respects_the_debt_ceiling(vault, risk_admin, borrower, usd, guardian):
    vault.deposit(usd(30_000), sender=borrower)
    vault.set_risk_params(VaultParams(debt_ceiling=shares(10)).as_tuple(), sender=risk_admin)
    with ape.reverts("vault: debt ceiling"):
        vault.mint(shares(10) + 1, sender=borrower)
    vault.mint(shares(10), sender=borrower)
    with ape.reverts("vault: not lower"):
        vault.lower_debt_ceiling(shares(10), sender=guardian)
    vault.lower_debt_ceiling(shares(1), sender=guardian)
    assert vault.debt_ceiling() == shares(1)


@pytest.mark.parametrize(
    "status, reason",
    [(MarketStatus.CLOSED, "market closed"), (MarketStatus.HALTED, "market halted")],
)
def test_mint_needs_an_open_market(vault, borrower, usd, push, status, reason):
    vault.deposit(usd(1_500), sender=borrower)
    push(TSLA, status=status)
    with ape.reverts(reason):
        vault.mint(shares(1), sender=borrower)


def test_mint_needs_a_fresh_price(vault, borrower, usd, chain):
    vault.deposit(usd(1_500), sender=borrower)
    chain.mine(1, timestamp=chain.pending_timestamp + 121)
    with ape.reverts("stale price"):
        vault.mint(shares(1), sender=borrower)


def test_pause_blocks_mint_and_debt_withdrawals_but_never_repaying(
    vault, synth, guardian, risk_admin, borrower, usd
):
    vault.open(usd(3_000), shares(5), sender=borrower)
    with ape.reverts("access_control: account is missing role"):
        vault.pause(sender=borrower)
    vault.pause(sender=guardian)
    with ape.reverts("pausable: contract is paused"):
        vault.mint(shares(1), sender=borrower)
    with ape.reverts("pausable: contract is paused"):
        vault.withdraw(usd(1), sender=borrower)
    vault.deposit(usd(10), sender=borrower)
    vault.burn(shares(1), sender=borrower)
    with ape.reverts("access_control: account is missing role"):
        vault.unpause(sender=guardian)
    vault.unpause(sender=risk_admin)
    vault.mint(shares(1), sender=borrower)


def test_withdraw_keeps_mcr(vault, stablecoin, borrower, usd):
    vault.open(usd(3_000), shares(5), sender=borrower)  # 300%
    with ape.reverts("vault: below MCR"):
        vault.withdraw(usd(1_500) + 1, sender=borrower)
    tx = vault.withdraw(usd(1_500), sender=borrower)
    assert vault.Withdraw(account=borrower, amount=usd(1_500)) in tx.events
    assert vault.position(borrower)[0] == usd(1_500)
    with ape.reverts("vault: exceeds collateral"):
        vault.withdraw(usd(1_500) + 1, sender=borrower)
    with ape.reverts("vault: zero amount"):
        vault.withdraw(0, sender=borrower)


def test_withdraw_without_debt_needs_no_price(vault, borrower, usd, push):
    vault.deposit(usd(100), sender=borrower)
    push(TSLA, status=MarketStatus.CLOSED)
    vault.withdraw(usd(100), sender=borrower)
    assert vault.position(borrower) == (0, 0)


def test_withdraw_against_debt_needs_an_open_market(vault, borrower, usd, push):
    vault.open(usd(3_000), shares(5), sender=borrower)
    push(TSLA, status=MarketStatus.CLOSED)
    with ape.reverts("market closed"):
        vault.withdraw(usd(1), sender=borrower)


def test_burn_repays_and_may_not_leave_dust(vault, synth, borrower, usd, push):
    vault.open(usd(3_000), shares(5), sender=borrower)
    push(TSLA, status=MarketStatus.CLOSED)  # burning works while closed, valued at the mark
    with ape.reverts("vault: exceeds debt"):
        vault.burn(shares(5) + 1, sender=borrower)
    with ape.reverts("vault: debt below minimum"):
        vault.burn(shares(4.6), sender=borrower)  # leaves 0.4 share = $80
    tx = vault.burn(shares(2), sender=borrower)
    assert vault.Burn(account=borrower, amount=shares(2), debt=shares(3)) in tx.events
    assert synth.balanceOf(borrower) == shares(3) == synth.totalSupply()
    vault.burn(shares(3), sender=borrower)
    assert vault.position(borrower) == (usd(3_000), 0)


def test_burn_more_than_held_reverts(vault, synth, borrower, outsider, usd):
    vault.open(usd(3_000), shares(5), sender=borrower)
    synth.transfer(outsider, shares(4), sender=borrower)
    with ape.reverts("erc20: burn amount exceeds balance"):
        vault.burn(shares(2), sender=borrower)


def test_open_and_close_round_trip_returns_what_was_put_in(
    vault, stablecoin, synth, borrower, usd, push
):
    before = stablecoin.balanceOf(borrower)
    vault.open(usd(2_000), shares(6), sender=borrower)
    push(TSLA, status=MarketStatus.HALTED)  # closing works whatever the market does
    tx = vault.close(sender=borrower)
    assert vault.Burn(account=borrower, amount=shares(6), debt=0) in tx.events
    assert stablecoin.balanceOf(borrower) == before
    assert vault.position(borrower) == (0, 0) and synth.totalSupply() == 0
    with ape.reverts("vault: no position"):
        vault.close(sender=borrower)
    with ape.reverts("vault: zero amount"):
        vault.open(0, 0, sender=borrower)


# ---- stability fee ---------------------------------------------------------------------------


def test_stability_fee_accrues_and_is_minted_to_the_insurance_fund(
    vault, synth, core, stablecoin, borrower, usd, chain, push, risk_admin
):
    vault.set_risk_params(VaultParams().as_tuple(), sender=risk_admin)  # 1% a year
    opened = vault.open(usd(4_000), shares(10), sender=borrower)
    r0 = vault.rate_index()  # the index the debt was recorded at
    chain.mine(1, timestamp=chain.pending_timestamp + 365 * 86_400)
    _, debt = vault.position(borrower)
    assert abs(debt - shares(10.1)) <= shares(10.1) // 10**8  # 1% a year (one accrual)
    r1 = rate_at(r0, opened.timestamp, chain.blocks.head.timestamp, VaultParams().fee_per_second)
    assert vault.rate_index() == r1
    assert debt == -(-shares(10) * r1 // r0)  # the model, rounded up
    push(TSLA)
    vault.deposit(usd(1), sender=borrower)  # deposit does not touch debt
    assert synth.balanceOf(core.insurance) == 0
    tx = vault.mint(shares(0.01), sender=borrower)  # touching the position mints the fee
    r2 = rate_at(r0, opened.timestamp, tx.timestamp, VaultParams().fee_per_second)
    assert synth.balanceOf(core.insurance) == -(-shares(10) * r2 // r0) - shares(10)
    assert synth.totalSupply() == vault.position(borrower)[1]
    # the close lacks the fees' synth (some minted to the fund by the close itself): it buys
    # them from the fund at the oracle price out of the collateral it returns (finding 5)
    held = synth.balanceOf(borrower)
    cash = stablecoin.balanceOf(borrower)
    tx = vault.close(sender=borrower)
    sold = [e for e in tx.events if e.event_name == "FeeSynthSold"]
    assert len(sold) == 1 and sold[0].buyer == borrower
    short = sold[0].amount
    assert short > 0 and synth.balanceOf(core.insurance) == 0  # the fund sold every fee
    paid = -(-short * TSLA * usd(1) // 10**18)  # rounded up, owed to the fund
    assert sold[0].paid == paid
    assert stablecoin.balanceOf(borrower) - cash == usd(4_001) - paid
    assert held + short > shares(10.01) and synth.totalSupply() == 0


# ---- liquidation -----------------------------------------------------------------------------


def test_partial_liquidation_back_to_mcr_worked_example(
    vault, synth, stablecoin, core, borrower, liquidator, usd, push, move_to
):
    """$1,600 against 5 TSLA minted at $200 (160%); TSLA to $250: CR = 1600/1250 = 128% ...
    to $260: 1600/1300 = 123% < 125%. Repay R so that (1600 - 1.1*260 R) / ((5 - R) 260) = 1.5:
    R = (1.5*1300 - 1600) / (260 * 0.4) = 350 / 104 = 3.3653846... shares."""
    vault.open(usd(1_600), shares(5), sender=borrower)
    vault.open(usd(100_000), shares(10), sender=liquidator)
    move_to(260)
    assert vault.is_liquidatable(borrower)
    assert vault.liquidatable([borrower, liquidator]) == [True, False]
    expected_repay = -(-350 * WAD // 104)  # rounded up
    seized_usd = expected_repay * 260 * 11_000 // (10_000)  # USD wad: R x P x 1.1
    fee_usd = expected_repay * 260 * 1_000 * 2_000 // (10_000 * 10_000)
    to_unit = WAD // (10 ** stablecoin.decimals())
    before = stablecoin.balanceOf(liquidator)
    tx = vault.liquidate(borrower, shares(100), sender=liquidator)
    ev = tx.events.filter(vault.Liquidate)[0]
    assert ev.repaid == expected_repay == tx.return_value
    assert ev.protocol_fee == fee_usd // to_unit
    assert ev.seized == seized_usd // to_unit - fee_usd // to_unit
    assert stablecoin.balanceOf(liquidator) - before == ev.seized
    assert stablecoin.balanceOf(core.insurance) == ev.protocol_fee
    coll, debt = vault.position(borrower)
    assert (coll, debt) == (usd(1_600) - seized_usd // to_unit, shares(5) - expected_repay)
    assert 15 * 10**17 <= vault.collateral_ratio(borrower) < 15 * 10**17 + 10**12
    assert not vault.is_liquidatable(borrower)
    model = liquidation(usd(1_600), shares(5), 260 * WAD, VaultParams(), to_unit, shares(100))
    assert (model.repay, model.seized, model.fee) == (
        ev.repaid,
        ev.seized + ev.protocol_fee,
        ev.protocol_fee,
    )


def test_liquidation_is_full_when_the_rest_would_be_dust(
    vault, synth, borrower, liquidator, usd, push, move_to
):
    vault.open(usd(200), shares(0.6), sender=borrower)  # $120 debt, 166%
    vault.open(usd(100_000), shares(10), sender=liquidator)
    move_to(270)  # 200 / 162 = 123%
    repaid = vault.liquidate(borrower, shares(100), sender=liquidator).return_value
    assert repaid == shares(0.6)
    assert vault.position(borrower)[1] == 0
    assert vault.position(borrower)[0] > 0  # what is left stays the borrower's


def test_liquidation_under_water_reports_bad_debt(
    vault, synth, stablecoin, core, borrower, liquidator, usd, push, reporter2
):
    vault.open(usd(1_500), shares(5), sender=borrower)
    vault.open(usd(100_000), shares(10), sender=liquidator)
    stablecoin.faucet(core.insurance, usd(50), sender=liquidator)  # a small fund
    push(249, age=1)
    push(310, sender=reporter2)  # +24.5%: coll $1,500 vs debt $1,550 -> under water
    tx = vault.liquidate(borrower, shares(100), sender=liquidator)
    repaid = tx.return_value
    assert repaid == usd(1_500) * (WAD // 10 ** stablecoin.decimals()) * WAD * 10_000 // (
        310 * WAD * 11_000
    )
    bad = shares(5) - repaid
    ev = tx.events.filter(vault.BadDebt)[0]
    gap_usd = -(-bad * 310 // 1)  # bad x price, USD wad
    assert (ev.account, ev.bad_debt, ev.covered) == (borrower, bad, usd(50))
    assert ev.uncovered_usd == gap_usd - usd(50) * (WAD // 10 ** stablecoin.decimals())
    assert vault.position(borrower) == (0, 0)
    assert vault.system_debt() == bad and vault.system_collateral() == usd(50)
    assert synth.totalSupply() == vault.position(liquidator)[1] + vault.system_debt()


@pytest.mark.parametrize(
    "status, reason",
    [(MarketStatus.CLOSED, "market closed"), (MarketStatus.HALTED, "market halted")],
)
def test_no_liquidation_while_closed_or_halted(
    vault, borrower, liquidator, usd, push, status, reason, move_to
):
    vault.open(usd(1_600), shares(5), sender=borrower)
    vault.open(usd(100_000), shares(10), sender=liquidator)
    move_to(260)
    assert vault.is_liquidatable(borrower)
    push(260, status=status)
    assert not vault.is_liquidatable(borrower)
    with ape.reverts(reason):
        vault.liquidate(borrower, shares(10), sender=liquidator)


def test_healthy_position_is_not_liquidatable(vault, borrower, liquidator, usd):
    vault.open(usd(1_600), shares(5), sender=borrower)
    assert not vault.is_liquidatable(borrower)
    with ape.reverts("vault: not liquidatable"):
        vault.liquidate(borrower, shares(10), sender=liquidator)
    with ape.reverts("vault: not liquidatable"):
        vault.liquidate(liquidator, shares(10), sender=liquidator)  # no position at all


def test_max_repay_limits_a_liquidation_but_may_not_leave_dust(
    vault, borrower, liquidator, usd, move_to
):
    vault.open(usd(1_600), shares(5), sender=borrower)
    vault.open(usd(100_000), shares(10), sender=liquidator)
    move_to(260)
    with ape.reverts("vault: nothing to repay"):
        vault.liquidate(borrower, 0, sender=liquidator)
    assert vault.liquidate(borrower, shares(0.5), sender=liquidator).return_value == shares(0.5)
    assert vault.position(borrower)[1] == shares(4.5)
    assert vault.is_liquidatable(borrower)  # only partly repaired: another round is allowed


def test_max_repay_below_a_full_liquidation_may_not_leave_dust(
    vault, borrower, liquidator, usd, move_to
):
    vault.open(usd(200), shares(0.6), sender=borrower)  # full liquidation: the rest is dust
    vault.open(usd(100_000), shares(10), sender=liquidator)
    move_to(270)
    with ape.reverts("vault: leaves dust"):
        vault.liquidate(borrower, shares(0.55), sender=liquidator)  # would leave $13.50
    assert vault.liquidate(borrower, shares(0.1), sender=liquidator).return_value == shares(0.1)
    assert vault.position(borrower)[1] == shares(0.5)  # $135 left: not dust


def test_liquidator_without_synth_cannot_liquidate(vault, borrower, outsider, usd, push, move_to):
    vault.open(usd(1_600), shares(5), sender=borrower)
    move_to(260)
    with ape.reverts("vault: synth short"):  # more than the fund's fee synth is missing
        vault.liquidate(borrower, shares(10), sender=outsider)


def test_set_max_age_open(vault, risk_admin, guardian):
    with ape.reverts("access_control: account is missing role"):
        vault.set_max_age_open(60, sender=guardian)
    with ape.reverts("guard: max age bounds"):
        vault.set_max_age_open(5, sender=risk_admin)
    vault.set_max_age_open(60, sender=risk_admin)
    assert vault.max_age_open() == 60


# ---- the synth token ---------------------------------------------------------------------------


def test_only_the_vault_mints_and_burns(synth, borrower):
    with ape.reverts("synth: only vault"):
        synth.mint(borrower, 1, sender=borrower)
    with ape.reverts("synth: only vault"):
        synth.burn(borrower, 1, sender=borrower)


def test_permit_sets_an_allowance_by_signature(synth, vault, borrower, outsider, usd, chain):
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    vault.open(usd(3_000), shares(5), sender=borrower)
    deadline = chain.pending_timestamp + 3_600
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "Synthetic Tesla",
            "version": "1",
            "chainId": chain.chain_id,
            "verifyingContract": synth.address,
        },
        "message": {
            "owner": borrower.address,
            "spender": outsider.address,
            "value": shares(1),
            "nonce": 0,
            "deadline": deadline,
        },
    }
    sig = Account.sign_message(encode_typed_data(full_message=typed), borrower.private_key)
    synth.permit(
        borrower,
        outsider,
        shares(1),
        deadline,
        sig.v,
        sig.r.to_bytes(32, "big"),
        sig.s.to_bytes(32, "big"),
        sender=outsider,
    )
    assert synth.allowance(borrower, outsider) == shares(1)
    synth.transferFrom(borrower, outsider, shares(1), sender=outsider)
    assert synth.balanceOf(outsider) == shares(1)


# ---- events of the admin paths and the insurance fund -------------------------------------------


def test_admin_paths_emit_events(vault, guardian, risk_admin, core, stablecoin, oracle, admin):
    assert vault.pause(sender=guardian).events == [vault.Paused(account=guardian)]
    assert vault.unpause(sender=risk_admin).events == [vault.Unpaused(account=risk_admin)]
    tx = vault.set_max_age_open(60, sender=risk_admin)
    assert tx.events == [vault.MaxAgeOpenSet(old_seconds=120, new_seconds=60)]
    tx = vault.lower_debt_ceiling(5, sender=guardian)
    assert [(e.name, e.new_value) for e in tx.events] == [("debt_ceiling", 5)]
    tx = core.factory.deploy_vault(
        "Synthetic Apple",
        "sAAPL",
        stablecoin,
        core.insurance,
        oracle,
        120,
        VaultParams().as_tuple(),
        admin,
        sender=admin,
    )
    ev = tx.events.filter(core.factory.VaultDeployed)[0]
    assert (ev.symbol, ev.vault, ev.oracle) == ("sAAPL", core.factory.vaults("sAAPL"), oracle)
    assert core.factory.market_count() == 2 and core.factory.symbols(1) == "sAAPL"


def test_insurance_fund_pays_only_registered_markets(core, stablecoin, outsider, usd, admin):
    import ape

    with ape.reverts("insurance: not a market"):
        core.insurance.cover(1, sender=outsider)
    stablecoin.faucet(core.insurance, usd(10), sender=outsider)
    core.insurance.grantRole(core.insurance.MARKET_ROLE(), outsider, sender=admin)
    tx = core.insurance.cover(usd(25), sender=outsider)
    assert tx.return_value == usd(10)
    assert tx.events.filter(core.insurance.Covered) == [
        core.insurance.Covered(market=outsider, requested=usd(25), paid=usd(10))
    ]
    assert stablecoin.balanceOf(core.insurance) == 0


def test_pause_never_blocks_closing_or_liquidating(
    vault, guardian, borrower, liquidator, trader, usd, move_to
):
    vault.open(usd(1_600), shares(5), sender=borrower)
    vault.open(usd(100_000), shares(10), sender=liquidator)
    vault.open(usd(1_000), shares(2), sender=trader)
    vault.pause(sender=guardian)
    vault.close(sender=trader)  # a borrower can always get out
    assert vault.position(trader) == (0, 0)
    move_to(260)
    assert vault.liquidate(borrower, shares(100), sender=liquidator).return_value > 0
