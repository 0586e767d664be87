"""The simulation's agents: pure decisions, checked against the numbers they promise (the
collateral ratio a borrower opens at, a trader's leverage and slippage bound)."""

import random

import pytest

from synthequity.sim import agents as ag

WAD = 10**18
UPU = 10**12  # a 6-decimal stablecoin


def test_make_agents_is_seeded_and_has_every_kind():
    a, b = ag.make_agents(20, seed=3), ag.make_agents(20, seed=3)
    assert a == b and a != ag.make_agents(20, seed=4)
    assert {x.kind for x in a} == set(ag.Kind) and len(a) == 20
    assert all(16_000 <= x.target_cr_bps <= 20_000 for x in a if x.kind is ag.Kind.BORROWER)
    assert all(100 <= x.leverage_x100 <= 500 for x in a if x.kind is ag.Kind.TRADER)
    with pytest.raises(ValueError):
        ag.make_agents(2, seed=1)


def test_borrower_opens_at_its_target_ratio():
    a = ag.Agent("b", ag.Kind.BORROWER, 10_000, target_cr_bps=17_500)
    price = 250 * WAD
    view = ag.BorrowerView(price, 10_000 * 10**6, UPU, 0, 0, 0)
    act = ag.borrower_step(a, view, random.Random(1))
    assert act is not None and act.fn == "open"
    put, debt = act.args
    assert put == 8_000 * 10**6
    cr = put * UPU / (debt * price / WAD)  # independent: collateral USD / debt USD
    assert 1.75 <= cr < 1.7501


def test_careful_borrower_tops_up_under_160_and_careless_does_not():
    price = 250 * WAD
    view = ag.BorrowerView(price, 5_000 * 10**6, UPU, 3_000 * 10**6, 8 * WAD, 8 * WAD)  # 150%
    careful = ag.Agent("c", ag.Kind.BORROWER, 0, target_cr_bps=18_000, careful=True)
    act = ag.borrower_step(careful, view, random.Random(1))
    assert act is not None and act.fn == "deposit"
    assert act.args == (600 * 10**6,)  # 3,600 USD backs 8 x 250 at 180%
    careless = ag.Agent("d", ag.Kind.BORROWER, 0, target_cr_bps=18_000, careful=False)
    rng = random.Random(1)
    assert all(ag.borrower_step(careless, view, rng) is None for _ in range(100))


def test_trader_order_respects_leverage_and_slippage():
    a = ag.Agent("t", ag.Kind.TRADER, 0, side=-1, leverage_x100=500, hold_ticks=10)
    price = 200 * WAD
    view = ag.TraderView(price, 0, UPU, 1_000 * WAD, 0, False)
    rng = random.Random(0)
    act = next(x for x in (ag.trader_step(a, view, rng) for _ in range(200)) if x)
    assert act.fn == "commit_order"
    delta, bound = act.args
    assert delta < 0 and abs(delta) * price / WAD <= 5 * 1_000 * WAD  # at most 5x the margin
    assert bound == price * 99 // 100  # a sell accepts 1% below
    assert ag.slippage_bound(price, 1) == price * 101 // 100
    assert ag.trader_step(a, ag.TraderView(price, 0, UPU, WAD, WAD, True), rng) is None


def test_lp_deposits_once():
    a = ag.Agent("l", ag.Kind.LP, 1)
    assert ag.lp_step(a, ag.LpView(5, 0)).args == (5,)
    assert ag.lp_step(a, ag.LpView(5, 1)) is None


def test_exposed_traders_open_at_5x_at_the_first_chance_and_hold():
    base = ag.make_agents(9, seed=2)
    more = ag.make_agents(9, seed=2, exposed=4)
    assert more[:9] == base  # the seeded agents are unchanged
    exposed = more[9:]
    assert [x.side for x in exposed] == [1, -1, 1, -1]
    assert all(x.eager and x.leverage_x100 == 500 for x in exposed)
    a, price, rng = exposed[1], 100 * WAD, random.Random(0)
    fund = ag.trader_step(a, ag.TraderView(price, 5_000 * 10**6, UPU, 0, 0, False), rng)
    assert fund is not None and fund.args == (4_500 * 10**6,)  # 90% of the cash, at once
    view = ag.TraderView(price, 500 * 10**6, UPU, 4_500 * WAD, 0, False)
    act = ag.trader_step(a, view, rng)
    assert act is not None and act.fn == "commit_order"
    delta, _ = act.args
    assert delta == -(4_500 * 5 * 95 // 100) * WAD // 100  # short 4.75x the margin
    held = ag.TraderView(price, 500 * 10**6, UPU, 4_500 * WAD, delta, False)
    assert all(ag.trader_step(a, held, rng) is None for _ in range(1_000))
