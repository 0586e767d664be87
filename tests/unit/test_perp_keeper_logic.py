"""Perp keeper decisions (pure): order jobs, liquidation ranking vs the model, profitability,
account discovery paging and ordering."""

import dataclasses

from synthequity.keepers.jobs import AccountIndex, GasQuote, LogRef, chunks, worth_it
from synthequity.keepers.perp.logic import (
    BookedOrder,
    PendingOrder,
    conditional_jobs,
    conditional_rounds_wanted,
    liquidation_jobs,
    order_jobs,
    rounds_wanted,
)
from synthequity.model import orders as om
from synthequity.model import perp as m

WAD = m.WAD
P = m.PerpParams()
FEE = WAD


def _round(i: int, t: int, status: int = m.OPEN) -> m.OracleReading:
    return m.OracleReading(200 * WAD, t, status, i)


def test_orders_execute_once_their_fill_round_exists_and_cancel_after_the_window():
    orders = [
        PendingOrder("0xb", 1, committed_at=1_000, keeper_fee=FEE, round_id=5),
        PendingOrder("0xa", -1, committed_at=900, keeper_fee=FEE, round_id=3),
        PendingOrder("0xc", 1, committed_at=0, keeper_fee=0),  # none
    ]
    rounds = {4: _round(4, 950), 5: _round(5, 990), 6: _round(6, 1_001)}
    # round 6 is newer than both commits (0xa's fill round is 4); oldest first
    jobs = order_jobs(orders, rounds, latest_round=6, now=1_002, max_age=120)
    assert [(j.account, j.action) for j in jobs] == [("0xa", "execute"), ("0xb", "execute")]
    # no round after 0xb's commit yet
    jobs = order_jobs(orders, rounds, latest_round=5, now=1_000, max_age=120)
    assert [(j.account, j.action) for j in jobs] == [("0xa", "execute")]
    # the first round after 0xb's commit is HALTED: it waits for a usable one
    halted = rounds | {6: _round(6, 1_001, m.HALTED)}
    jobs = order_jobs(orders[:1], halted, latest_round=6, now=1_002, max_age=120)
    assert jobs == []
    halted[7] = _round(7, 1_010)
    jobs = order_jobs(orders[:1], halted, latest_round=7, now=1_011, max_age=120)
    assert [(j.account, j.action) for j in jobs] == [("0xb", "execute")]
    # the window is over (its last second is the head's: the transaction lands after it):
    # cancel, even with a fill round — execute_order would revert "perp: order expired"
    jobs = order_jobs(orders, rounds, latest_round=6, now=1_020, max_age=120)
    assert [(j.account, j.action) for j in jobs] == [("0xa", "cancel"), ("0xb", "execute")]
    jobs = order_jobs(orders, {}, latest_round=3, now=1_120, max_age=120)
    assert [(j.account, j.action) for j in jobs] == [("0xa", "cancel"), ("0xb", "cancel")]
    # the rounds the runner reads for them: after the oldest commit round, within the scan
    assert rounds_wanted(orders, latest_round=6) == range(4, 7)
    assert rounds_wanted(orders, latest_round=100) == range(4, 5 + m.FILL_SCAN_ROUNDS + 1)
    assert not rounds_wanted(orders, latest_round=500)  # evicted: they wait to be cancelled
    assert rounds_wanted(orders[2:], latest_round=6) == range(0)


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


# ---- conditional orders (issue 20) -----------------------------------------------------


def _at(i: int, t: int, usd: float, status: int = m.OPEN) -> m.OracleReading:
    return m.OracleReading(int(usd * 100) * WAD // 100, t, status, i)


def _stop_loss(placed_round: int, placed_at: int, expiry: int = 10**9) -> om.ConditionalOrder:
    """A long's stop-loss at $190 (sell the whole position)."""
    return om.ConditionalOrder(
        om.STOP_LOSS, -om.SIZE_ALL, 190 * WAD, 0, expiry, FEE, placed_round, placed_at
    )


def test_conditional_orders_execute_on_their_first_crossing_within_its_window():
    """Placed at round 2; $195 (3) does not cross; $189 (4) does, closed-hours $180 (5) does
    not count, the open's $185 (6) crosses again within 120 s of round 4: the job names
    round 4 (the first), not the latest; an expired order and an account with a market order
    pending wait; a round 4 that passed its window re-arms instead (unpaid)."""
    rounds = {
        3: _at(3, 1_010, 195),
        4: _at(4, 1_020, 189),
        5: _at(5, 1_030, 180, m.CLOSED),
        6: _at(6, 1_040, 185),
    }
    booked = [
        BookedOrder("0xa", 0, _stop_loss(2, 1_000)),
        BookedOrder("0xb", 3, _stop_loss(2, 1_000, expiry=1_041)),  # expired at the next block
        BookedOrder("0xc", 1, _stop_loss(2, 1_000)),
        BookedOrder("0xd", 0, _stop_loss(5, 1_035)),  # placed after round 4: 6 is its first
    ]
    assert conditional_rounds_wanted(booked, 6) == range(3, 7)
    jobs = conditional_jobs(booked, rounds, 6, now=1_041, window=120, pending={"0xc"})
    assert [(j.account, j.oid, j.round_id, j.action, j.keeper_fee) for j in jobs] == [
        ("0xa", 0, 4, "execute", FEE),
        ("0xd", 0, 6, "execute", FEE),
    ]
    # round 4's window ends at 1,020 - 1 + 120 = 1,139: at the next block (1,140) it passed
    jobs = conditional_jobs(booked[:1], rounds, 6, now=1_139, window=120)
    assert [(j.round_id, j.action, j.keeper_fee) for j in jobs] == [(4, "rearm", 0)]
    # nothing crosses: no job
    assert conditional_jobs(booked[:1], {3: rounds[3]}, 3, now=1_011, window=120) == []
