"""Stock splits (docs/spec.md §6): staged by the admin as (ratio, activation), applied by the first
push after a CLOSED round, in O(1) — the oracle's shares multiplier — with every position,
order, debt and pool value unchanged in USD. TSLA's real 5:1 (2020-08-31) and 3:1 (2022-08-25)
are replayed with the unadjusted quotes derived from data/tsla_daily.csv (split-adjusted)."""

import datetime as dt
from decimal import Decimal

import ape
import pytest

from synthequity.constants import WAD, MarketStatus
from synthequity.corporate_actions import TSLA_SPLITS, parse_splits, unadjust_factor, unadjusted
from synthequity.keepers.oracle.sources import load_daily_bars
from synthequity.testing.views import close_enough
from synthequity.testing.views import user_views as views

BARS = load_daily_bars("data/tsla_daily.csv")


def test_stage_split_roles_bounds_and_events(oracle, admin, outsider, chain):
    soon = chain.pending_timestamp + 3_600
    with ape.reverts():  # DEFAULT_ADMIN only
        oracle.stage_split(5, soon, sender=outsider)
    with ape.reverts("oracle: split ratio bounds"):
        oracle.stage_split(1, soon, sender=admin)
    with ape.reverts("oracle: split ratio bounds"):
        oracle.stage_split(101, soon, sender=admin)
    with ape.reverts("oracle: activation bounds"):
        oracle.stage_split(5, chain.blocks.head.timestamp, sender=admin)
    tx = oracle.stage_split(5, soon, sender=admin)
    assert oracle.SplitStaged(ratio=5, activation=soon) in tx.events
    assert oracle.staged_split() == (5, soon)
    with ape.reverts("oracle: split already staged"):
        oracle.stage_split(3, soon, sender=admin)
    tx = oracle.cancel_split(sender=admin)
    assert oracle.SplitCancelled(ratio=5, activation=soon) in tx.events
    assert oracle.staged_split() == (0, 0) and oracle.shares_multiplier_wad() == WAD
    with ape.reverts("oracle: no split staged"):
        oracle.cancel_split(sender=admin)


def test_split_applies_after_a_close_only_and_is_no_jump(oracle, admin, push, move_to, chain):
    move_to(1_000)
    # activation passed while the market is still OPEN: the push lands, in old shares (finding
    # 8: it used to revert, and so did every later push); the split waits for a close
    activation = chain.blocks.head.timestamp + 10
    oracle.stage_split(5, activation, sender=admin)
    chain.pending_timestamp = activation + 1
    tx = push(1_001)
    assert tx.events.filter(oracle.SplitApplied) == [] and oracle.shares_multiplier_wad() == WAD
    assert oracle.staged_split() == (5, activation)
    oracle.cancel_split(sender=admin)
    # the real order of events: staged, the session closes, the next print is in new shares
    activation = chain.blocks.head.timestamp + 100
    oracle.stage_split(5, activation, sender=admin)
    push(1_000, MarketStatus.CLOSED)
    before = oracle.latestRound()
    chain.pending_timestamp = activation
    tx = push(200)  # -80% in the quote, nothing in value: not a jump
    assert oracle.SplitApplied(round_id=before + 1, ratio=5, multiplier_wad=5 * WAD) in tx.events
    assert not oracle.suspect() and oracle.market_status() == MarketStatus.OPEN
    assert oracle.shares_multiplier_wad() == 5 * WAD and oracle.market_state() == (
        MarketStatus.OPEN,
        5 * WAD,
    )
    assert (
        oracle.round_multiplier_wad(before) == WAD
        and oracle.round_multiplier_wad(before + 1) == 5 * WAD
    )
    assert oracle.latestRoundData()[1] == 200 * 10**8  # Chainlink readers see the new quote
    assert oracle.staged_split() == (0, 0)
    push(140)  # a real -30% move after the split is still a jump
    assert oracle.suspect()


def test_schedule_unadjusts_the_csv():
    assert parse_splits("2022-08-25:3, 2020-08-31:5") == TSLA_SPLITS
    with pytest.raises(ValueError):
        parse_splits("2020-08-31")
    assert unadjust_factor(dt.date(2020, 8, 28), TSLA_SPLITS) == 15
    assert unadjust_factor(dt.date(2020, 8, 31), TSLA_SPLITS) == 3
    assert unadjust_factor(dt.date(2022, 8, 25), TSLA_SPLITS) == 1
    # the real quotes: TSLA closed at $2,213.40 before the 5:1 and opened at ~$444.61 after
    fri = unadjusted(BARS[dt.date(2020, 8, 28)].close, dt.date(2020, 8, 28), TSLA_SPLITS)
    mon = unadjusted(BARS[dt.date(2020, 8, 31)].open, dt.date(2020, 8, 31), TSLA_SPLITS)
    assert abs(fri - Decimal("2213.40")) < 1 and abs(mon - Decimal("444.61")) < 1


@pytest.mark.parametrize("split", TSLA_SPLITS, ids=["5:1 2020-08-31", "3:1 2022-08-25"])
def test_real_tsla_split_moves_nothing_in_usd(
    split, oracle, vault, synth, perp, stablecoin, usd, admin, push, move_to, chain, funded,
    borrower, trader, outsider, lp, keeper,
):  # fmt: skip
    pool, market = perp
    day_before = max(d for d in BARS if d < split.effective)
    quote_before = float(unadjusted(BARS[day_before].close, day_before, TSLA_SPLITS))
    quote_after = float(unadjusted(BARS[split.effective].open, split.effective, TSLA_SPLITS))
    # a book at the old-share quote: a borrower at ~200% CR, a 3x long, a 2x short, an LP
    for who in (trader, outsider, lp):
        stablecoin.faucet(who, usd(5_000_000), sender=who)
        stablecoin.approve(market, 2**256 - 1, sender=who)
        stablecoin.approve(pool, 2**256 - 1, sender=who)
    move_to(quote_before)
    pool.deposit(usd(4_000_000), lp, sender=lp)
    debt = int(50_000 / quote_before / 2 * WAD)
    vault.open(usd(50_000), debt, sender=borrower)
    base = int(quote_before * 10**8) * 10**10  # per base share before the split (x1)
    for who, notional in ((trader, 30_000), (outsider, -20_000)):
        market.deposit_margin(usd(10_000), sender=who)
        size = notional * WAD * WAD // base
        market.commit_order(size, 2**255 if size > 0 else 0, sender=who)
        chain.pending_timestamp = chain.blocks.head.timestamp + 1
        push(quote_before)
        market.execute_order(who, sender=keeper)
    # the day's last print, an order left pending across the split, then the close
    push(quote_before)
    chain.pending_timestamp = chain.blocks.head.timestamp + 1
    market.commit_order(WAD // 10, 2**255, sender=trader)  # +0.1 base share
    before, flags_before = views(vault, market, pool, (borrower, trader, outsider, lp))
    activation = chain.blocks.head.timestamp + 3
    oracle.stage_split(split.ratio, activation, sender=admin)
    push(quote_before, MarketStatus.CLOSED)
    chain.pending_timestamp = activation
    # the first print in new shares at the same value: nothing may move
    push(quote_before / split.ratio)
    assert oracle.shares_multiplier_wad() == split.ratio * WAD and not oracle.suspect()
    after, flags_after = views(vault, market, pool, (borrower, trader, outsider, lp))
    for key in before:
        assert close_enough(before[key], after[key]), (key, before[key], after[key])
    assert flags_before == flags_after == [False, False, False]  # no split-made liquidation
    assert synth.balanceOf(borrower) == debt  # sTSLA: a plain ERC-20, balances untouched
    # the pending order fills at the base-share price, in base shares
    size_before = market.position(trader).size
    market.execute_order(trader, sender=keeper)
    assert market.position(trader).size == size_before + WAD // 10
    assert abs(market.position(trader).entry_price - base) < base // 100
    # the real next session's open, in new shares: an ordinary print, not a jump
    push(quote_after)
    assert not oracle.suspect() and oracle.market_status() == MarketStatus.OPEN
    moved = quote_after * split.ratio / quote_before - 1  # the real overnight move, in value
    long_pnl = (market.equity(trader) - after["long equity"]) / WAD
    expected = moved * (30_000 + 0.1 * base / WAD)  # the long's notional, +0.1 share filled
    assert abs(long_pnl - expected) < abs(expected) * 0.05 + 50
