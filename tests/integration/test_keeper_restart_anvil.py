"""anvil killed mid-run and restarted from its dumped state (docs/spec.md §9): the keeper's RPC
calls fail, it backs off and retries, the node comes back on the same address, and the keeper
finishes the block's work — the orders a newer price made due are executed and the positions a
fall made liquidatable are liquidated — without losing a job or sending one twice.

This runs on its own anvil (not the suite's): killing the suite's node would take every
snapshot the other tests restore with it."""

from __future__ import annotations

import threading
import time

import pytest
from ape_cli import own_chain

from synthequity.dev.devchain import rpc
from synthequity.keepers.jobs import AccountIndex
from synthequity.keepers.perp.runner import ApeMarketIO, PerpKeeper
from synthequity.keepers.shell import KeeperConfig
from synthequity.model import perp as m

WAD = m.WAD


@pytest.fixture
def side_chain(networks):
    with own_chain(networks, chain_id=31338) as node:
        yield node


def test_keeper_survives_anvil_kill_and_restart(side_chain, project, accounts, chain):
    deployer, reporter, lp, keeper = accounts[11], accounts[1], accounts[9], accounts[5]
    traders = [accounts[i] for i in (6, 7, 8)]
    from synthequity.deploy import deploy_perp
    from synthequity.dev.bench import Actors, fresh_market

    usdc, oracle, core, _ = fresh_market(Actors(deployer, reporter), project, chain)
    pool, market = deploy_perp(deployer, core, usdc, oracle, "TSLA")
    start = market.creation_metadata.block if market.creation_metadata else 0

    def push(price):
        t = chain.blocks.head.timestamp + 1
        chain.pending_timestamp = t
        return oracle.push_price(round(price * 10**8), t, 2, sender=reporter)

    for who in (lp, *traders):
        usdc.faucet(who, 10_000_000 * 10**6, sender=who)
        usdc.approve(pool, 2**256 - 1, sender=who)
        usdc.approve(market, 2**256 - 1, sender=who)
    push(200)
    pool.deposit(5_000_000 * 10**6, lp, sender=lp)
    bot = PerpKeeper(
        io=ApeMarketIO(market, keeper, native_usd=1),
        index=AccountIndex(start_block=start),
        config=KeeperConfig(page_size=100, rpc_attempts=8),
    )
    # round 1: three leveraged longs committed; the keeper indexes them; a newer price lands
    for who in traders:
        market.deposit_margin(200 * 10**6, sender=who)
        market.commit_order(45 * WAD // 10, 2**255, sender=who)
    bot.tick()
    push(200)
    state = side_chain.dump_state()
    head = chain.blocks.head.number

    # the node dies before the keeper acts; an operator brings it back ~1 s after the
    # keeper's first failed call
    side_chain.kill()
    with pytest.raises(OSError):
        rpc(side_chain.url, "eth_blockNumber")

    def restart():
        # an operator notices only once the keeper has: wait for its first failed call (a
        # loaded CI machine may take seconds to get there), then ~1 s more
        deadline = time.monotonic() + 60
        while bot.metrics.get("rpc retries", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)
        side_chain.start()
        side_chain.load_state(state)

    t = threading.Thread(target=restart)
    t.start()
    t0 = time.monotonic()
    bot.tick()  # retries with backoff until the node answers, then does the block's work
    t.join()
    assert time.monotonic() - t0 >= 1
    assert chain.blocks.head.number > head  # the restored chain, moving on
    for who in traders:
        assert market.position(who).size == 45 * WAD // 10  # every order executed once
        assert market.pending_order(who).committed_at == 0
    assert bot.metrics["jobs succeeded"] == 3 and bot.metrics["errors"] == 0
    assert bot.metrics["rpc retries"] >= 1  # it did see the node down

    # round 2, on the restarted node: a fall, and the keeper liquidates all three
    push(172)
    bot.tick()
    assert not any(market.is_liquidatable(w) for w in traders)
    liqs = list(market.PositionLiquidated.range(head, chain.blocks.head.number + 1))
    assert sorted(lg.account for lg in liqs) == sorted(w.address for w in traders)
    assert bot.metrics["jobs succeeded"] == 6 and bot.metrics["raced"] == 0
