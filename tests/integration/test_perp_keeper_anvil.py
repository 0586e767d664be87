"""The perp keeper against anvil (docs/spec.md §9): orders executed in the block after the price
that made them executable; every position a fall made liquidatable liquidated in the next
block, riskiest first; a second keeper racing on the same account logs a race, no double
liquidation; accounts found from events from the market's deploy block."""

import pytest

from synthequity.keepers.jobs import AccountIndex
from synthequity.keepers.perp.runner import ApeMarketIO, PerpKeeper
from synthequity.keepers.shell import Job, KeeperConfig
from synthequity.model import perp as m

WAD = m.WAD


@pytest.fixture
def setup(fund_perp, trader, borrower, outsider):
    _, market = fund_perp((trader, borrower, outsider), 10_000_000, 5_000_000)
    return market


def make_keeper(market, account, start=0):
    return PerpKeeper(
        io=ApeMarketIO(market, account, native_usd=1),  # gas priced ~0: every job pays
        index=AccountIndex(start_block=start),
        config=KeeperConfig(page_size=50),
    )


def test_orders_then_liquidations_in_the_next_block(
    setup, usd, trader, borrower, outsider, keeper, push, chain
):
    market = setup
    start = chain.blocks.head.number
    bot = make_keeper(market, keeper, start)
    sizes = {trader: 45 * WAD // 10, borrower: 44 * WAD // 10, outsider: WAD}  # ~4.5x, 4.4x, 1x
    for who, shares in sizes.items():
        market.deposit_margin(usd(200), sender=who)
        market.commit_order(shares, 2**255, sender=who)
    bot.tick()
    assert all(market.pending_order(w).committed_at for w in sizes)  # no newer price yet
    price_tx = push(200)
    bot.tick()
    for who, shares in sizes.items():
        assert market.position(who).size == shares
        assert market.pending_order(who).committed_at == 0
    fills = [
        lg for lg in market.OrderFilled.range(price_tx.block_number, chain.blocks.head.number + 1)
    ]
    assert {lg.block_number for lg in fills} <= {price_tx.block_number + i for i in (1, 2, 3)}
    assert fills[0].block_number == price_tx.block_number + 1  # the block after the price
    assert bot.metrics["accounts tracked"] == 3

    fall = push(172)  # -14%: the two leveraged longs fall under maintenance, the 1x does not
    flagged = [w for w in sizes if market.is_liquidatable(w)]
    assert set(flagged) == {trader, borrower}
    bot.tick()
    liqs = list(market.PositionLiquidated.range(fall.block_number, chain.blocks.head.number + 1))
    assert [lg.account for lg in liqs] == [trader, borrower]  # riskiest (highest leverage) first
    assert liqs[0].block_number == fall.block_number + 1
    assert not any(market.is_liquidatable(w) for w in sizes)
    assert bot.metrics["jobs succeeded"] == 5 and bot.metrics["raced"] == 0


def test_two_keepers_race_without_double_liquidation(
    setup, usd, trader, keeper, liquidator, push, chain
):
    market = setup
    start = chain.blocks.head.number
    market.deposit_margin(usd(200), sender=trader)
    market.commit_order(45 * WAD // 10, 2**255, sender=trader)
    push(200)
    market.execute_order(trader, sender=keeper)
    push(172)
    first, second = make_keeper(market, keeper, start), make_keeper(market, liquidator, start)
    second.tick()  # second indexes and sees the account flagged...
    job = market.position(trader)
    first.tick()  # ...first liquidates it (already done by second? then first races)
    done = list(market.PositionLiquidated.range(start, chain.blocks.head.number + 1))
    assert len(done) == 1
    # the loser of a race: a job for an account that is no longer liquidatable
    loser = first if done[0].keeper == second.io.account.address else second
    loser.send_jobs([Job("liquidate", (trader,), 3 * WAD, job)])
    assert loser.metrics["raced"] == 1 and loser.metrics["errors"] == 0
    assert len(list(market.PositionLiquidated.range(start, chain.blocks.head.number + 1))) == 1


def test_conditional_orders_execute_in_the_block_after_their_price(
    setup, usd, stablecoin, oracle, trader, borrower, keeper, admin, push, chain
):
    """Issue 20: the keeper indexes `PerpOrders` placements from events and, in the block
    after the price that triggers them, executes a limit buy and a stop-loss at their first
    crossing price (their fees to the keeper); an order nothing crossed stays."""
    from synthequity.deploy import deploy_perp_orders
    from synthequity.model import orders as om

    market = setup
    book = deploy_perp_orders(admin, market)
    bot = make_keeper(market, keeper, chain.blocks.head.number)
    bot.io.use_book(book)
    fee = market.params()[2]
    expiry = chain.pending_timestamp + 86_400
    for who in (trader, borrower):
        market.deposit_margin(usd(1_000), sender=who)
    market.commit_order(2 * WAD, 2**255, sender=borrower)  # long 2, then a stop-loss
    push(200)
    bot.tick()
    assert market.position(borrower).size == 2 * WAD
    book.place(0, om.LIMIT, WAD, 199 * WAD, 2**255, expiry, fee, sender=trader)
    book.place(1, om.STOP, WAD, 260 * WAD, 2**255, expiry, fee, sender=trader)  # never crossed
    book.place(0, om.STOP_LOSS, -om.SIZE_ALL, 195 * WAD, 0, expiry, fee, sender=borrower)
    bot.tick()
    assert market.position(trader).size == 0  # nothing crossed yet
    earned = stablecoin.balanceOf(keeper)
    price_tx = push(194.5)
    crossing = oracle.latestRound()
    bot.tick()
    assert market.position(trader).size == WAD
    assert market.position(borrower).size == 0
    executed = list(book.OrderExecuted.range(price_tx.block_number, chain.blocks.head.number + 1))
    assert {(lg.account, lg.id) for lg in executed} == {(trader.address, 0), (borrower.address, 0)}
    assert {lg.round_id for lg in executed} == {crossing}
    assert min(lg.block_number for lg in executed) == price_tx.block_number + 1
    assert stablecoin.balanceOf(keeper) == earned + 2 * usd(1)
    assert book.order(trader, 1).kind == om.STOP  # still waiting
