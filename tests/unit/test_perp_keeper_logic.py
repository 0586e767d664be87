"""Perp keeper decisions (pure): order jobs, liquidation ranking vs the model, profitability,
account discovery paging and ordering."""

import dataclasses

from synthequity.keepers.jobs import AccountIndex, GasQuote, LogRef, chunks, worth_it
from synthequity.keepers.perp.logic import PendingOrder, liquidation_jobs, order_jobs
from synthequity.model import perp as m

WAD = m.WAD
P = m.PerpParams()
FEE = WAD


def test_orders_execute_after_a_newer_usable_price_and_cancel_once_expired():
    orders = [
        PendingOrder("0xb", 1, committed_at=1_000, keeper_fee=FEE),
        PendingOrder("0xa", -1, committed_at=900, keeper_fee=FEE),
        PendingOrder("0xc", 1, committed_at=0, keeper_fee=0),  # none
    ]
    # a price at 1,001: both newer than their commits; oldest first
    jobs = order_jobs(orders, price_updated_at=1_001, price_usable=True, now=1_002, max_age=120)
    assert [(j.account, j.action) for j in jobs] == [("0xa", "execute"), ("0xb", "execute")]
    # no newer price yet for 0xb; 0xa's price is newer
    jobs = order_jobs(orders, price_updated_at=950, price_usable=True, now=960, max_age=120)
    assert [(j.account, j.action) for j in jobs] == [("0xa", "execute")]
    # market closed (price not usable) and 0xa expired: cancel it, 0xb waits
    jobs = order_jobs(orders, price_updated_at=950, price_usable=False, now=1_100, max_age=120)
    assert [(j.account, j.action) for j in jobs] == [("0xa", "cancel")]
    # a price that lands after max age: executing it cancels (same call, same fee)
    jobs = order_jobs(
        orders[1:2], price_updated_at=1_100, price_usable=True, now=1_100, max_age=120
    )
    assert [(j.account, j.action) for j in jobs] == [("0xa", "cancel")]


def test_liquidation_jobs_are_the_models_riskiest_first():
    price, index = 170 * WAD, 0
    healthy = m.Position(10 * WAD, 200 * WAD, 1_000 * WAD, 0)  # -300 PnL, 700 equity
    thin = m.Position(10 * WAD, 200 * WAD, 450 * WAD, 0)  # 150 equity < 170 + 3.4
    thinner = m.Position(10 * WAD, 200 * WAD, 400 * WAD, 0)
    jobs = liquidation_jobs({"h": healthy, "t": thin, "u": thinner}, price, index, P)
    assert [j.account for j in jobs] == ["u", "t"]
    for j, pos in zip(jobs, (thinner, thin), strict=True):
        assert j.size == m.liquidation_size(pos, price, index, P)
        assert j.reward == m.keeper_reward(pos.size, price, P)
        assert j.health < WAD


def test_profitability_counts_gas_at_the_current_fee():
    quote = GasQuote(gas_units=120_000, fee_per_gas_wei=10 * 10**9, native_usd=3_000 * WAD)
    assert quote.cost_usd() == 36 * WAD // 10  # 120k x 10 gwei x $3,000 = $3.60
    assert worth_it(4 * WAD, quote)
    assert not worth_it(3 * WAD, quote)
    assert not worth_it(4 * WAD, quote, min_profit_usd=WAD)
    assert worth_it(2 * WAD, dataclasses.replace(quote, fee_per_gas_wei=10**9))


def test_account_index_pages_orders_and_deduplicates():
    idx = AccountIndex(start_block=100)
    assert idx.pages(head=104, page_size=2) == [(100, 101), (102, 103), (104, 104)]
    new = idx.apply(
        [(LogRef(101, 0, 3), "0xb"), (LogRef(100, 2, 0), "0xa"), (LogRef(101, 0, 1), "0xb")],
        through_block=101,
    )
    assert new == 2 and idx.next_block == 102
    assert idx.accounts["0xb"] == LogRef(101, 0, 1)  # first seen, by (block, tx, log)
    assert idx.apply([(LogRef(102, 0, 0), "0xa"), (LogRef(102, 1, 0), "0xc")], 103) == 1
    assert idx.ordered() == ["0xa", "0xb", "0xc"]
    assert idx.pages(head=103, page_size=10) == []  # nothing new until the head moves
    assert chunks(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
