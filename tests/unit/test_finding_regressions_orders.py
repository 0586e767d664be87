"""Issue 15, finding 7: two-step orders filled at the latest price in their window, not the
first after the commit (docs/spec.md §4). Whoever executed picked the price by picking the
moment, and between the end of the window and the next push both `execute_order` and
`cancel_order` went through: a free look. Each test replays the attack through
`synthequity.testing.deploy_protocol` (titanoboa) and checks the attacker's result against
plain arithmetic, not the contract's views (docs/design/perp-orders.md)."""

from __future__ import annotations

import boa
import pytest

from synthequity.testing import deploy_protocol

WAD = 10**18
SHARES = 10  # the order: long 10 shares
WINDOW = 120  # order_max_age (docs/spec.md §4 default)


@pytest.fixture(params=[6, 18], ids=["usdc6", "usd18"])
def p(request):
    """$200 OPEN; the pool holds $1M; the trader (who is also the attacker's keeper) $10,000
    of margin."""
    proto = deploy_protocol(decimals=request.param)
    proto.open_for_trading()
    return proto


def _long_fill_wad(price_usd: int) -> int:
    """Synthetix v2's fill of 10 shares into an empty book with skew scale 1,000,000 shares:
    P x (1 + (0 + 10 / 1,000,000) / 2) = P x 1.000005 (exact for whole dollars)."""
    return price_usd * WAD * 1_000_005 // 1_000_000


def test_finding7_fill_price_is_first_round_after_commit(p):
    """The trader commits a long at $200; the first price after the commit is $200.00, the
    next (within the window) $194.00. A keeper executing at once and the trader executing
    himself after the dip (the review's "$59.99 saved on 10 shares") get the same fill:
    the first round's, $200 x 1.000005 = $200.001."""
    market = p.market
    market.commit_order(SHARES * WAD, 2**256 - 1, sender=p.trader)  # any bound is valid
    p.push(200.0, dt=10)  # the first round after the commit
    with boa.env.anchor():
        market.execute_order(p.trader, sender=p.keeper)
        prompt = market.position(p.trader)[1]  # entry price: the fill
    p.push(194.0, dt=10)  # a dip, still within the window
    market.execute_order(p.trader, sender=p.trader)  # the trader as his own keeper, after it
    size, late, _, _ = market.position(p.trader)
    assert size == SHARES * WAD
    assert prompt == late == _long_fill_wad(200) == 200_001 * 10**15
    saved_usd = SHARES * (prompt - late) // WAD  # was ~$60 when the latest price filled
    assert saved_usd == 0


def test_finding7_no_free_look_after_the_window(p):
    """The first price after the commit lands 30 s in ($200); nothing more is pushed. Past
    the 120 s window the trader looks at the market: before the fix he could still fill at
    $200 (`execute_order`) or walk away for free (`cancel_order`, the fee to himself). Now
    only the cancellation works; its caller gets the $1 keeper fee."""
    market, fee_units = p.market, p.units(1)
    t0 = boa.env.timestamp
    market.commit_order(SHARES * WAD, 2**256 - 1, sender=p.trader)
    p.push(200.0, dt=30)
    boa.env.time_travel(seconds=t0 + WINDOW + 1 - boa.env.timestamp)  # the window is over
    with boa.reverts("perp: order expired"):
        market.execute_order(p.trader, sender=p.trader)
    with boa.reverts("perp: order expired"):
        market.execute_order(p.trader, sender=p.keeper)
    before = p.collateral.balanceOf(p.keeper)
    market.cancel_order(p.trader, sender=p.keeper)
    assert p.collateral.balanceOf(p.keeper) == before + fee_units
    assert market.position(p.trader)[0] == 0  # never filled
    assert market.pending_order(p.trader)[2] == 0  # committed_at: no order left
    # and within the window only execution works
    market.commit_order(SHARES * WAD, 2**256 - 1, sender=p.trader)
    p.push(200.0, dt=5)
    with boa.reverts("perp: order live"):
        market.cancel_order(p.trader, sender=p.keeper)
    market.execute_order(p.trader, sender=p.keeper)
    assert market.position(p.trader)[:2] == (SHARES * WAD, _long_fill_wad(200))
