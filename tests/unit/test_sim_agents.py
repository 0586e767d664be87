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
    opt_in = {ag.Kind.SAVER, ag.Kind.REDEEMER}
    assert {x.kind for x in a} == set(ag.Kind) - opt_in and len(a) == 20
    assert all(16_000 <= x.target_cr_bps <= 20_000 for x in a if x.kind is ag.Kind.BORROWER)
    assert all(100 <= x.leverage_x100 <= 500 for x in a if x.kind is ag.Kind.TRADER)
    with pytest.raises(ValueError):
        ag.make_agents(2, seed=1)


class _Draw(random.Random):
    """A generator whose normal draws are `value` (the redeemer's discount, in bps)."""

    def __init__(self, value: float):
        super().__init__(0)
        self.value = value

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        return self.value


def test_redeemers_come_after_everyone_else():
    plain = ag.make_agents(12, seed=3)
    more = ag.make_agents(12, seed=3, savers=2, redeemers=2)
    assert more[: len(plain)] == plain
    redeemers = [x for x in more if x.kind is ag.Kind.REDEEMER]
    assert [x.name for x in redeemers] == ["redeemer0", "redeemer1"]
    assert all(28_000 <= x.target_cr_bps <= 32_000 and x.careful for x in redeemers)


def test_a_redeemer_redeems_only_past_the_fee_and_no_more_than_keeps_it_under_the_discount():
    a = ag.Agent("r", ag.Kind.REDEEMER, 50_000, target_cr_bps=30_000, careful=True)
    price, supply, held = 200 * WAD, 10_000 * WAD, 100 * WAD
    fee = 5 * 10**15  # the 0.5% floor, no base rate
    view = ag.BorrowerView(price, 0, UPU, 60_000 * 10**6, held, held, fee, supply)
    # a discount at or under the fee: nothing (its top-up rule has nothing to do at 300%)
    assert ag.redeemer_step(a, view, _Draw(50)) is None
    assert ag.redeemer_step(a, view, _Draw(-30)) is None  # |N|: 0.30% under the oracle
    # 0.80% under: a quarter of its synth, the fee bounded by the discount
    act = ag.redeemer_step(a, view, _Draw(80))
    assert act is not None and (act.target, act.fn) == ("vault", "redeem")
    amount, max_fee_bps = act.args
    assert max_fee_bps == 80 and amount == held // 4
    # a small supply: the fee's rise (half its share) caps it; independent arithmetic
    small = ag.BorrowerView(price, 0, UPU, 60_000 * 10**6, held, held, fee, 1_000 * WAD)
    amount, _ = ag.redeemer_step(a, small, _Draw(60)).args  # type: ignore[union-attr]
    # (0.60% - 0.50%) x 2 x 1,000 sTSLA of supply, 1% short of the bound: 1.98 sTSLA
    assert amount == 198 * WAD // 100
    assert 0.0050 + amount / 1e18 / 1_000 / 2 <= 0.0060  # the fee after it stays under
    # under a dollar's worth: not worth a transaction
    dust = ag.BorrowerView(price, 0, UPU, 60_000 * 10**6, held, WAD // 1_000, fee, supply)
    assert ag.redeemer_step(a, dust, _Draw(80)) is None
    # no position yet: it opens like a borrower at its target ratio, and never closes
    fresh = ag.BorrowerView(price, 50_000 * 10**6, UPU, 0, 0, 0, fee, supply)
    act = ag.redeemer_step(a, fresh, _Draw(80))
    assert act is not None and act.fn == "open"


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


# ---- wallet-like behaviour: the preflight before sending, top up or leave when broke ------


def _trader(**kw):
    return ag.Agent("t", ag.Kind.TRADER, 0, side=1, leverage_x100=300, hold_ticks=5, **kw)


def test_a_flat_trader_below_the_floor_tops_up_from_cash():
    a, price = _trader(eager=True), 100 * WAD
    view = ag.TraderView(price, 1_000 * 10**6, UPU, 10 * WAD, 0, False)  # $10 of margin
    assert ag.trading_floor_wad(view) == 2 * 20 * WAD + WAD  # 2 x min margin + keeper fee
    act = ag.trader_step(a, view, random.Random(0))
    assert act is not None and act.fn == "deposit_margin" and act.args == (900 * 10**6,)


def test_a_broke_trader_takes_what_is_left_and_leaves():
    a, price, rng = _trader(eager=True), 100 * WAD, random.Random(0)
    view = ag.TraderView(price, 5 * 10**6, UPU, 12 * WAD + 345, 0, False)  # $12 margin, $5 cash
    act = ag.trader_step(a, view, rng)
    assert act is not None and act.fn == "withdraw_margin" and act.args == (12 * 10**6,)
    gone = ag.TraderView(price, 17 * 10**6, UPU, 345, 0, False)  # dust under one unit left
    assert all(ag.trader_step(a, gone, rng) is None for _ in range(500))  # never again


def test_no_order_the_contract_would_refuse_at_commit_or_cancel_at_the_fill():
    price = 100 * WAD
    # margin below the keeper fee: "perp: margin below keeper fee" at commit
    poor = ag.TraderView(price, 0, UPU, WAD // 2, 3 * WAD, False, entry_price_wad=price)
    assert ag.order_problem(poor, -3 * WAD) == "margin below keeper fee"
    a, rng = _trader(), random.Random(1)
    assert all(ag.trader_step(a, poor, rng) is None for _ in range(500))  # never tries to close
    # growing past 5x after the fees: the fill would cancel it (keeper fee lost)
    view = ag.TraderView(price, 0, UPU, 100 * WAD, 0, False)
    fee = 5 * 100 * WAD * 10 // 10_000 + 1  # taker 10 bp, rounded up (fill ~ price)
    equity = 100 * WAD - fee - WAD
    need = 5 * 100 * WAD * 2_000 // 10_000  # 20% IMR of the notional
    assert (ag.order_problem(view, 5 * WAD) is None) == (equity >= need)
    assert ag.order_problem(view, 4 * WAD) is None  # 4x: room for the fees
    assert ag.order_problem(view, 6 * WAD) == "not enough margin"


def test_agents_on_a_rally_send_nothing_that_reverts():
    """A 2020-like run-up (x8 in 200 prints) against 5x shorts: every action an agent returns
    passes the preflight the contract applies (the 2020 replay's 1,013 reverts)."""
    rng = random.Random(7)
    short = ag.Agent("s", ag.Kind.TRADER, 2_000, side=-1, leverage_x100=500, hold_ticks=30)
    margin, size, cash, price = 0, 0, 2_000 * 10**6, 30 * WAD
    for _ in range(200):
        price = price * 101 // 100
        view = ag.TraderView(price, cash, UPU, margin, size, False, entry_price_wad=30 * WAD)
        act = ag.trader_step(short, view, rng)
        if act is None:
            continue
        if act.fn == "deposit_margin":
            (units,) = act.args
            assert 0 < units <= cash
            cash, margin = cash - units, margin + units * UPU
        elif act.fn == "withdraw_margin":
            (units,) = act.args
            assert units > 0 and units * UPU <= margin
            cash, margin = cash + units, margin - units * UPU
        else:
            delta, _ = act.args
            assert margin >= WAD and ag.order_problem(view, delta) is None
            # the position is liquidated at once in this toy market: margin lost
            margin, size = 0, 0


def test_savers_borrow_carefully_and_keep_their_synth_in_the_stability_pool():
    base = ag.make_agents(9, seed=2)
    more = ag.make_agents(9, seed=2, savers=2)
    assert more[:9] == base  # drawn after the others
    saver = more[9]
    assert saver.kind is ag.Kind.SAVER and saver.careful
    assert 25_000 <= saver.target_cr_bps <= 30_000
    rng, price = random.Random(0), 100 * WAD
    opened = ag.saver_step(saver, ag.BorrowerView(price, 10_000 * 10**6, UPU, 0, 0, 0), rng)
    assert opened is not None and opened.fn == "open"
    held = ag.BorrowerView(price, 2_000 * 10**6, UPU, 8_000 * 10**6, 30 * WAD, 30 * WAD)
    into = ag.saver_step(saver, held, rng)
    assert into == ag.Action("sp", "deposit", (30 * WAD,), "keep the synth in the stability pool")
    low = ag.BorrowerView(price, 2_000 * 10**6, UPU, 4_500 * 10**6, 30 * WAD, 0)  # 150%
    topped = ag.saver_step(saver, low, rng)
    assert topped is not None and topped.fn == "deposit" and topped.target == "vault"
    for _ in range(2_000):  # never closes: its synth is in the pool
        act = ag.saver_step(saver, ag.BorrowerView(price, 0, UPU, 9_000 * 10**6, 30 * WAD, 0), rng)
        assert act is None


# ---- the stress lab's agent mixes (sim.agents.Mix) ------------------------------------------


def test_a_mix_adds_its_styles_after_the_others_and_parses_its_text():
    base = ag.make_agents(9, seed=2, savers=1)
    mix = ag.Mix.parse("whales=1,overnight=2,contrarians=1,fleeing=2")
    more = ag.make_agents(9, seed=2, savers=1, mix=mix)
    assert more[:10] == base and len(more) == 10 + mix.total == 16
    assert [x.style for x in more[10:]] == [
        ag.Style.WHALE,
        *[ag.Style.OVERNIGHT] * 2,
        ag.Style.CONTRARIAN,
        *[ag.Style.FLEEING] * 2,
    ]
    assert mix.label() == "whales=1,overnight=2,contrarians=1,fleeing=2"
    assert ag.Mix.parse("") == ag.Mix() and ag.Mix().total == 0
    for bad in ("sharks=1", "whales=x", "whales"):
        with pytest.raises(ValueError, match="agent mix"):
            ag.Mix.parse(bad)


def _styled(style, side=1, leverage_x100=300):
    return ag.Agent("x", ag.Kind.TRADER, 0, side=side, leverage_x100=leverage_x100,
                    hold_ticks=10**9, eager=True, style=style)  # fmt: skip


def test_a_whale_takes_90_percent_of_the_room_left_under_the_cap_on_its_side():
    price, rng = 100 * WAD, random.Random(0)
    whale = _styled(ag.Style.WHALE, side=-1)
    view = ag.TraderView(price, 0, UPU, 1_000_000 * WAD, 0, False,
                         room_long_wad=10**9 * WAD, room_short_wad=2_000 * WAD)  # fmt: skip
    act = ag.trader_step(whale, view, rng)
    assert act is not None and act.args[0] == -1_800 * WAD  # not 3x of $1M: the cap binds
    assert act.why == "short 3.00x (whale)"
    full = ag.TraderView(price, 0, UPU, 1_000_000 * WAD, 0, False, room_short_wad=0)
    assert ag.trader_step(whale, full, rng) is None  # no room: nothing that would cancel


def test_overnight_traders_open_only_before_a_close_and_leave_at_the_next_session():
    price, rng = 100 * WAD, random.Random(0)
    a = _styled(ag.Style.OVERNIGHT)
    flat_mid = ag.TraderView(price, 0, UPU, 1_000 * WAD, 0, False)
    assert all(ag.trader_step(a, flat_mid, rng) is None for _ in range(200))
    flat_last = ag.TraderView(price, 0, UPU, 1_000 * WAD, 0, False, last_open=True)
    act = ag.trader_step(a, flat_last, rng)
    assert act is not None and act.args[0] > 0 and act.why.endswith("(overnight)")
    held_last = ag.TraderView(price, 0, UPU, 1_000 * WAD, 2 * WAD, False, price, last_open=True)
    assert all(ag.trader_step(a, held_last, rng) is None for _ in range(200))  # holds the close
    held_next = ag.TraderView(price, 0, UPU, 1_000 * WAD, 2 * WAD, False, price)
    close = ag.trader_step(a, held_next, rng)
    assert close is not None and close.args[0] == -2 * WAD and close.why == "close"


def test_a_contrarian_takes_the_side_against_the_skew():
    price, rng = 100 * WAD, random.Random(0)
    a = _styled(ag.Style.CONTRARIAN, side=1, leverage_x100=200)
    for skew, sign in ((500 * WAD, -1), (-500 * WAD, 1), (0, 1)):
        view = ag.TraderView(price, 0, UPU, 1_000 * WAD, 0, False, skew_wad=skew)
        act = ag.trader_step(a, view, rng)
        assert act is not None and (act.args[0] > 0) == (sign > 0), skew


def test_a_fleeing_lp_redeems_on_a_5_percent_drawdown_and_returns_at_its_peak():
    a = ag.Agent("f", ag.Kind.LP, 1, style=ag.Style.FLEEING)
    peak = WAD * 101 // 100
    calm = ag.LpView(0, 10**21, peak * 96 // 100, peak, 10**21)
    assert ag.lp_step(a, calm) is None  # 4% under the peak: stays
    drop = ag.LpView(0, 10**21, peak * 94 // 100, peak, 4 * 10**20)
    act = ag.lp_step(a, drop)
    assert act is not None and act.fn == "redeem" and act.args == (4 * 10**20,)  # what it may
    locked = ag.LpView(0, 10**21, peak * 94 // 100, peak, 0)
    assert ag.lp_step(a, locked) is None  # the lock or what OI needs holds it in
    out_low = ag.LpView(5 * 10**6, 0, peak * 99 // 100, peak, 0, fled=True)
    assert ag.lp_step(a, out_low) is None
    back = ag.lp_step(a, ag.LpView(5 * 10**6, 0, peak, peak, 0, fled=True))
    assert back is not None and back.fn == "deposit" and back.args == (5 * 10**6,)
    plain = ag.Agent("l", ag.Kind.LP, 1)
    assert ag.lp_step(plain, drop) is None  # a plain LP stays through it


def test_no_order_whose_skew_premium_alone_passes_the_slippage_bound():
    """The 2020 whale sweep: 407 of 424 cancels were "price" (an order of ~20,000 shares at a
    $1M skew scale fills ~1% over the oracle). The preflight now refuses them, and a whale
    sizes down to keep its premium under 0.8%."""
    price, scale = 100 * WAD, 1_000_000 * WAD
    view = ag.TraderView(price, 0, UPU, 10**9 * WAD, 0, False, skew_wad=5_000 * WAD)
    assert ag.order_problem(view, 20_000 * WAD) == "price"  # avg premium 1.5%
    assert ag.order_problem(view, -20_000 * WAD) is None  # against the skew: a discount
    whale = _styled(ag.Style.WHALE)
    act = ag.trader_step(whale, view, random.Random(0))
    assert act is not None and act.args[0] == 2 * (scale * 8 // 1_000 - 5_000 * WAD)  # 6,000
    assert ag.order_problem(view, act.args[0]) is None
