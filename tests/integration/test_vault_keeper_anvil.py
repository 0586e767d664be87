"""The vault liquidation keeper against anvil (docs/spec.md §9): positions a price rise pushed below
the liquidation ratio are liquidated riskiest first in the blocks right after the price, with
the model's repay, back to the MCR; a keeper whose sTSLA inventory cannot fund a job refuses
it (logged and counted) and sends nothing."""

import logging

import pytest

from synthequity.keepers.jobs import AccountIndex
from synthequity.keepers.shell import KeeperConfig
from synthequity.keepers.vault.runner import ApeVaultIO, VaultKeeper
from synthequity.model import vault as v

WAD = v.WAD


def make_keeper(vault, account, start):
    return VaultKeeper(
        io=ApeVaultIO(vault, account, native_usd=1),  # gas priced ~0: every job pays
        index=AccountIndex(start_block=start),
        config=KeeperConfig(page_size=50),
    )


@pytest.fixture
def book(vault, funded, stablecoin, usd, borrower, trader, outsider, keeper, liquidator, push):
    """Three borrowers at 155%, 160% and 300% at $200; the keeper holds 50 sTSLA, the
    liquidator 1 sTSLA (minted in the vault against their own collateral)."""
    push(200)
    start = vault.chain_manager.blocks.head.number
    stablecoin.faucet(keeper, usd(1_000_000), sender=keeper)
    stablecoin.approve(vault, 2**256 - 1, sender=keeper)
    vault.open(usd(100_000), 50 * WAD, sender=keeper)
    vault.open(usd(5_000), WAD, sender=liquidator)
    for who, dollars in ((borrower, 3_100), (trader, 3_200), (outsider, 6_000)):
        vault.open(usd(dollars), 10 * WAD, sender=who)
    return start


def test_rise_liquidated_riskiest_first_in_the_next_blocks(
    vault, book, borrower, trader, outsider, keeper, synth, move_to, chain
):
    bot = make_keeper(vault, keeper, book)
    bot.tick()
    assert bot.metrics["accounts tracked"] == 5 and bot.metrics["jobs sent"] == 0
    rise = move_to(260)  # via 240 (jump guard); borrower 119%, trader 123% < 125%; outsider 231%
    assert [w for w in (borrower, trader, outsider) if vault.is_liquidatable(w)] == [
        borrower,
        trader,
    ]
    held = synth.balanceOf(keeper)
    bot.tick()
    liqs = list(vault.Liquidate.range(rise.block_number, chain.blocks.head.number + 1))
    assert [lg.account for lg in liqs] == [borrower, trader]  # riskiest first
    assert liqs[0].block_number == rise.block_number + 1
    assert all(lg.liquidator == keeper.address for lg in liqs)
    assert synth.balanceOf(keeper) == held - sum(lg.repaid for lg in liqs)
    for who in (borrower, trader):
        assert not vault.is_liquidatable(who)
        # back to the MCR (less the fee accrued since, a few seconds at 1%/year), no further
        assert 14_999 * WAD // 10_000 <= vault.collateral_ratio(who) < 151 * WAD // 100
    assert bot.metrics["jobs succeeded"] == 2 and bot.metrics["raced"] == 0
    bot.tick()  # the same block: nothing more to do, nothing resent
    assert bot.metrics["jobs sent"] == 2


def test_jobs_beyond_the_inventory_are_refused_not_sent(
    vault, book, borrower, trader, liquidator, synth, move_to, chain, caplog
):
    caplog.set_level(logging.INFO, logger="synthequity")
    small = make_keeper(vault, liquidator, book)  # holds 1 sTSLA; each job needs ~7-8
    move_to(260)
    head = chain.blocks.head.number
    small.tick()
    assert small.metrics["refused: no inventory"] == 2
    assert small.metrics["jobs sent"] == 0
    assert chain.blocks.head.number == head  # not a single transaction
    assert vault.is_liquidatable(borrower) and vault.is_liquidatable(trader)
    assert synth.balanceOf(liquidator) == WAD
    # each refusal says what the keeper lacks: both jobs' repayments with their fee slack
    refused = [
        r.fields
        for r in caplog.records
        if r.getMessage() == "refused: sTSLA inventory and stability pool too small"
    ]
    assert [f["account"] for f in refused] == [borrower.address, trader.address]
    params = v.VaultParams(*vault.risk_params())
    need, upu = 0, small.io.usd_per_unit
    for who in (borrower, trader):
        collateral, debt = vault.position(who)[:2]
        repay = v.liquidation(collateral, debt, 260 * WAD, params, upu, debt).repay
        need += repay + repay // 1_000 + 1
    assert {f["missing"] for f in refused} == {need - WAD}
