"""Issue 20: limit, stop, take-profit and stop-loss orders (`PerpOrders`,
docs/design/conditional-orders.md), in titanoboa on the protocol as `deploy_protocol` deploys
it. Each mechanism on its success path, its reverts and its events; the numbers a trader must
trust (which price fills, what the executor gets, what the escrow holds) against plain
arithmetic, not the contract's own views."""

from __future__ import annotations

import boa
import pytest

from synthequity.constants import ORDERS_ROLE
from synthequity.model.orders import LIMIT, PRICE_MAX, SIZE_ALL, STOP, STOP_LOSS, TAKE_PROFIT
from synthequity.testing import deploy_protocol
from synthequity.testing.protocol import CLOSED

WAD = 10**18
FEE = WAD  # the market's order keeper fee: the book's least fee
WINDOW = 120  # order_max_age
DAY = 86_400
SCALE = 1_000_000 * WAD  # skew scale, shares (wad)


@pytest.fixture(scope="module", params=[6, 18], ids=["usdc6", "usd18"])
def deployed(request):
    """$200 OPEN; the pool holds $1M; the trader $10,000 of margin."""
    proto = deploy_protocol(decimals=request.param)
    proto.open_for_trading()
    return proto


@pytest.fixture
def p(deployed):
    """Each test from the same deployed state (rolled back after it)."""
    with boa.env.anchor():
        yield deployed


def _fill(price_usd: float, skew: int, delta: int) -> int:
    """Synthetix v2's fill: P x (1 + (skew + delta / 2) / scale), in shares (whole dollars
    and even share counts here: exact)."""
    price = round(price_usd * 100) * WAD // 100
    return price * (2 * SCALE + 2 * skew + delta) // (2 * SCALE)


def _place(p, kind, size, trigger_usd, oid=0, acceptable=2**256 - 1, fee=FEE, who=None):
    if acceptable == 2**256 - 1 and size < 0:
        acceptable = 0
    p.orders.place(
        oid,
        kind,
        size,
        int(trigger_usd * WAD),
        acceptable,
        boa.env.timestamp + DAY,
        fee,
        sender=who or p.trader,
    )


def _logs(contract, name):
    """Events of `contract`'s last call, the market's among them when the book called it."""
    return [e for e in contract.get_logs(strict=False) if type(e).__name__ == name]


def _latest_round(p) -> int:
    return p.oracle.latestRound()


def _margin(p) -> int:
    return p.market.position(p.trader)[2]


def _open_long(p, shares):
    p.market.commit_order(shares * WAD, 2**256 - 1, sender=p.trader)
    p.push(200.0, dt=10)
    p.market.execute_order(p.trader, sender=p.keeper)


# ---- placement -------------------------------------------------------------------------


def test_place_escrows_the_fee_from_margin_and_logs(p):
    before = _margin(p)
    _place(p, LIMIT, 10 * WAD, 195)
    (log,) = _logs(p.orders, "OrderPlaced")
    assert (log.account, log.id, log.kind, log.size_delta) == (p.trader, 0, LIMIT, 10 * WAD)
    assert (log.trigger_price, log.acceptable_price, log.keeper_fee) == (195 * WAD, PRICE_MAX, FEE)
    assert _margin(p) == before - FEE
    o = p.orders.order(p.trader, 0)
    assert (o.kind, o.placed_round, o.placed_at) == (LIMIT, _latest_round(p), boa.env.timestamp)
    assert p.collateral.balanceOf(p.orders.address) == 0  # the fee stays in the market


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"oid": 8}, "orders: bad id"),
        ({"kind": 0}, "orders: bad kind"),
        ({"kind": 5}, "orders: bad kind"),
        ({"size": 0}, "orders: bad size"),
        ({"size": SIZE_ALL + 1}, "orders: bad size"),
        ({"trigger": 0}, "orders: bad trigger"),
        ({"trigger": PRICE_MAX}, "orders: bad trigger"),
        ({"expiry": 0}, "orders: bad expiry"),
        ({"expiry": 2**40}, "orders: bad expiry"),
        ({"fee": FEE - 1}, "orders: bad fee"),
        ({"fee": FEE + 1}, "orders: bad fee"),  # not whole micro-USD
        ({"fee": 2**24 * 10**12}, "orders: bad fee"),
    ],
)
def test_place_refuses_bad_inputs_and_keeps_the_margin(p, args, reason):
    a = {"oid": 0, "kind": LIMIT, "size": WAD, "trigger": 195 * WAD, "fee": FEE}
    a["expiry"] = boa.env.timestamp + DAY
    a.update(args)
    before = _margin(p)
    with boa.reverts(reason):
        p.orders.place(
            a["oid"], a["kind"], a["size"], a["trigger"], 0, a["expiry"], a["fee"], sender=p.trader
        )
    assert _margin(p) == before


def test_place_refuses_a_taken_slot_and_a_margin_below_the_fee(p):
    _place(p, LIMIT, WAD, 195)
    with boa.reverts("orders: slot taken"):
        _place(p, STOP, WAD, 205)
    _place(p, STOP, WAD, 205, oid=7)  # another slot is fine
    with boa.reverts("orders: margin below fee"):
        _place(p, LIMIT, WAD, 195, who=p.attacker)  # no margin at all


def test_only_the_book_moves_escrow_or_arms_orders(p):
    with boa.reverts("access_control: account is missing role"):
        p.market.hold_order(p.trader, -FEE, p.attacker, 0, 0, sender=p.attacker)
    assert p.market.hasRole(ORDERS_ROLE, p.orders.address)
    with boa.reverts("perp: delegate only"):
        p.market_ext.hold_order(p.trader, -FEE, p.attacker, 0, 0, sender=p.orders.address)


# ---- which price fills -----------------------------------------------------------------


def test_limit_buy_fills_at_the_first_crossing_after_placement(p):
    """$194 was printed before the placement: it does not count. After it, $196 (no cross),
    then $194.50 (the first crossing), then $190 within the window: the fill is $194.50's,
    whoever executes with whichever round, and the executor gets the $1 fee."""
    p.push(194.0, dt=10)
    early = _latest_round(p)
    _place(p, LIMIT, 10 * WAD, 195)
    with boa.reverts("orders: not triggered"):
        p.orders.execute(p.trader, 0, early, sender=p.keeper)
    p.push(196.0, dt=10)
    assert p.orders.fill_round(p.trader, 0) == 0
    assert list(p.orders.triggered([p.trader])) == [0]
    p.push(194.5, dt=10)
    first = _latest_round(p)
    assert list(p.orders.triggered([p.trader])) == [1]
    p.push(190.0, dt=10)
    assert p.orders.fill_round(p.trader, 0) == first
    with boa.reverts("orders: not triggered"):  # the attacker cannot pick the lower round
        p.orders.execute(p.trader, 0, first + 1, sender=p.attacker)
    with boa.reverts("orders: not triggered"):
        p.orders.execute(p.trader, 0, first - 1, sender=p.attacker)
    before = p.collateral.balanceOf(p.attacker)
    p.orders.execute(p.trader, 0, first, sender=p.attacker)
    size, entry, _, _ = p.market.position(p.trader)
    assert size == 10 * WAD and entry == _fill(194.5, 0, 10 * WAD)
    assert p.collateral.balanceOf(p.attacker) == before + p.units(1)
    (log,) = _logs(p.orders, "OrderExecuted")
    assert (log.account, log.id, log.executor, log.round_id) == (p.trader, 0, p.attacker, first)
    assert log.size_delta == 10 * WAD
    assert p.orders.order(p.trader, 0).kind == 0
    assert p.collateral.balanceOf(p.orders.address) == 0
    with boa.reverts("orders: no order"):
        p.orders.execute(p.trader, 0, first, sender=p.keeper)


@pytest.mark.parametrize(
    ("kind", "size", "trigger", "path", "fills_at"),
    [
        (STOP, 10, 205, [204.0, 206.0], 206.0),  # a breakout buy
        (STOP, -10, 195, [196.0, 194.0], 194.0),  # a breakdown sell
        (LIMIT, -10, 205, [204.0, 205.0], 205.0),  # a sell at or above
        (LIMIT, 10, 195, [195.5, 195.0], 195.0),  # a buy at or below (equal crosses)
    ],
)
def test_each_kind_triggers_on_its_side(p, kind, size, trigger, path, fills_at):
    _place(p, kind, size * WAD, trigger)
    for price in path[:-1]:
        p.push(price, dt=10)
        assert p.orders.fill_round(p.trader, 0) == 0
    p.push(path[-1], dt=10)
    p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    size_now, entry, _, _ = p.market.position(p.trader)
    assert size_now == size * WAD and entry == _fill(fills_at, 0, size * WAD)


def test_a_stop_loss_through_an_overnight_gap_fills_at_the_open(p):
    """Long 10 at $200 with a stop-loss at $190. The market closes; closed-hours prints at
    $185 do not trigger it (nor does anything executed on them); the open prints $180: the
    stop fills at $180, the open's price, not at its trigger."""
    _open_long(p, 10)
    _place(p, STOP_LOSS, -SIZE_ALL, 190)
    p.push(185.0, status=CLOSED, dt=3_600)
    closed = _latest_round(p)
    p.push(184.0, status=CLOSED, dt=50_000)
    assert p.orders.fill_round(p.trader, 0) == 0
    with boa.reverts("orders: not triggered"):
        p.orders.execute(p.trader, 0, closed, sender=p.keeper)
    p.push(180.0, dt=3_600)  # the open
    opened = _latest_round(p)
    assert p.orders.fill_round(p.trader, 0) == opened
    p.orders.execute(p.trader, 0, opened, sender=p.keeper)
    assert p.market.position(p.trader)[0] == 0
    (filled,) = _logs(p.orders, "OrderFilled")
    skew = 10 * WAD  # the trader's long is the whole skew
    assert filled.fill_price == _fill(180.0, skew, -10 * WAD)
    assert filled.size_delta == -10 * WAD


def test_an_overnight_gap_through_three_stop_losses_fills_all_at_the_open(p):
    """Three longs with stop-losses at $190, $185 and $182. Closed-hours prints at $186 and
    $181 trigger none of them; the open prints $175 and, 30 s later, $178: every stop fills
    on the open's round (its fill price is $175 with the skew premium of its moment), none on
    a closed round nor on the later one, whoever executes in whichever order."""
    traders = [p.trader, p.lp, p.attacker]
    for who, trigger in zip(traders, (190, 185, 182), strict=True):
        if who != p.trader:
            p.fund(who, 10_000)
            p.market.deposit_margin(p.units(5_000), sender=who)
        p.market.commit_order(10 * WAD, 2**256 - 1, sender=who)
        p.push(200.0, dt=5)
        p.market.execute_order(who, sender=p.keeper)
        _place(p, STOP_LOSS, -SIZE_ALL, trigger, who=who)
    p.push(186.0, status=CLOSED, dt=3_600)
    p.push(181.0, status=CLOSED, dt=50_000)
    closed = _latest_round(p)
    for who in traders:
        assert p.orders.fill_round(who, 0) == 0
        with boa.reverts("orders: not triggered"):
            p.orders.execute(who, 0, closed, sender=p.keeper)
    p.push(175.0, dt=3_600)
    opened = _latest_round(p)
    p.push(178.0, dt=30)
    skew = 30 * WAD
    for who in reversed(traders):  # any order of execution
        assert p.orders.fill_round(who, 0) == opened
        with boa.reverts("orders: not triggered"):
            p.orders.execute(who, 0, opened + 1, sender=p.attacker)
        p.orders.execute(who, 0, opened, sender=p.keeper)
        (filled,) = _logs(p.orders, "OrderFilled")
        assert filled.fill_price == _fill(175.0, skew, -10 * WAD)
        skew -= 10 * WAD
        assert p.market.position(who)[0] == 0


def test_an_acceptable_price_the_gap_misses_cancels_and_pays_the_executor(p):
    _open_long(p, 10)
    _place(p, STOP_LOSS, -SIZE_ALL, 190, acceptable=185 * WAD)
    p.push(180.0, status=CLOSED, dt=60)
    p.push(180.0, dt=60)
    margin = _margin(p)
    before = p.collateral.balanceOf(p.keeper)
    p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[0] == 10 * WAD  # not filled
    (cancelled,) = _logs(p.orders, "OrderCancelled")
    assert cancelled.reason == "price"
    assert p.collateral.balanceOf(p.keeper) == before + p.units(1)
    assert _margin(p) == margin  # the fee was escrowed at placement, not taken again
    assert p.orders.order(p.trader, 0).kind == 0


def test_margin_is_checked_at_execution(p):
    """A limit buy of 1,000 shares (~$195,000 of notional on $10,000 margin) places fine and
    is cancelled by the market when it triggers ("margin"); the executor is paid."""
    _place(p, LIMIT, 1_000 * WAD, 195)
    p.push(194.0, dt=10)
    p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[0] == 0
    assert _logs(p.orders, "OrderCancelled")[0].reason == "margin"


# ---- reduce-only -----------------------------------------------------------------------


def test_take_profit_and_stop_loss_never_grow_or_flip(p):
    """Long 10: a take-profit of 4 at $210 and a stop-loss of 20 (more than held) at $190.
    $211 takes 4 off; $189 closes the remaining 6 (clipped: never short). A second
    take-profit with nothing left is cancelled ("reduce only"), its executor paid."""
    _open_long(p, 10)
    _place(p, TAKE_PROFIT, -4 * WAD, 210, oid=0)
    _place(p, STOP_LOSS, -20 * WAD, 190, oid=1)
    _place(p, TAKE_PROFIT, -SIZE_ALL, 230, oid=2)
    p.push(211.0, dt=10)
    p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[0] == 6 * WAD
    p.push(189.0, dt=10)
    p.orders.execute(p.trader, 1, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[0] == 0
    assert _logs(p.orders, "OrderExecuted")[0].size_delta == -6 * WAD
    p.push(231.0, dt=10)
    before = p.collateral.balanceOf(p.keeper)
    p.orders.execute(p.trader, 2, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[0] == 0  # nothing opened
    (log,) = _logs(p.orders, "OrderCancelled")
    assert (log.account, log.id, log.by, log.reason) == (p.trader, 2, p.keeper, "reduce only")
    assert p.collateral.balanceOf(p.keeper) == before + p.units(1)


def test_a_take_profit_on_the_wrong_side_is_cancelled_not_filled(p):
    """A short's take-profit (a buy) attached while the trader is long: it would grow the
    long. Reduce-only: cancelled, the fee to its executor, not back to the trader."""
    _open_long(p, 10)
    _place(p, TAKE_PROFIT, 5 * WAD, 195)
    margin = _margin(p)
    p.push(194.0, dt=10)
    p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[0] == 10 * WAD
    assert _margin(p) == margin
    assert _logs(p.orders, "OrderCancelled")[0].reason == "reduce only"


# ---- windows, cancels, updates, expiry -------------------------------------------------


def test_a_missed_window_rearms_the_order(p):
    """The stop crosses at $194 and nobody executes it for longer than its window: executing
    on that round re-arms it (no fee, no fill); the next crossing round fills it."""
    _place(p, STOP, -10 * WAD, 195)
    p.push(194.0, dt=10)
    missed = _latest_round(p)
    boa.env.time_travel(seconds=WINDOW + 1)
    assert p.orders.fill_round(p.trader, 0) == 0
    before = p.collateral.balanceOf(p.keeper)
    p.orders.execute(p.trader, 0, missed, sender=p.keeper)
    (log,) = _logs(p.orders, "OrderRearmed")
    assert (log.account, log.id, log.by, log.round_id) == (p.trader, 0, p.keeper, missed)
    assert p.collateral.balanceOf(p.keeper) == before
    o = p.orders.order(p.trader, 0)
    assert (o.placed_round, o.placed_at) == (missed, boa.env.timestamp)
    p.push(193.0, dt=10)
    p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[1] == _fill(193.0, 0, -10 * WAD)


def test_a_missed_window_cannot_be_used_to_skip_a_later_fill_round(p):
    """The stop crossed at $194 and nobody executed it; two minutes later $196, then $193: a
    new fill round, in its window. Re-arming on the missed $194 round now would push the
    order past $193 (a griefer's way to make it miss): refused; $193 fills it."""
    _place(p, STOP, -10 * WAD, 195)
    p.push(194.0, dt=10)
    missed = _latest_round(p)
    p.push(196.0, dt=WINDOW + 1)
    p.push(193.0, dt=WINDOW + 1)
    later = _latest_round(p)
    assert p.orders.fill_round(p.trader, 0) == later
    with boa.reverts("orders: triggered"):
        p.orders.execute(p.trader, 0, missed, sender=p.attacker)
    p.orders.execute(p.trader, 0, later, sender=p.keeper)
    assert p.market.position(p.trader)[1] == _fill(193.0, 0, -10 * WAD)


def test_the_owner_cannot_cancel_or_move_a_triggered_order_in_its_window(p):
    _place(p, LIMIT, 10 * WAD, 195)
    p.push(194.0, dt=10)
    with boa.reverts("orders: triggered"):
        p.orders.cancel(p.trader, 0, sender=p.trader)
    with boa.reverts("orders: triggered"):
        p.orders.update(0, 180 * WAD, 0, boa.env.timestamp + DAY, sender=p.trader)
    boa.env.time_travel(seconds=WINDOW)
    margin = _margin(p)
    p.orders.cancel(p.trader, 0, sender=p.trader)  # the window passed
    assert _margin(p) == margin + FEE
    (log,) = _logs(p.orders, "OrderCancelled")
    assert (log.account, log.id, log.by, log.reason) == (p.trader, 0, p.trader, "cancelled")


def test_cancel_by_owner_refunds_and_others_only_after_expiry(p):
    margin = _margin(p)
    _place(p, STOP, WAD, 250)
    with boa.reverts("orders: not owner"):
        p.orders.cancel(p.trader, 0, sender=p.attacker)
    boa.env.time_travel(seconds=DAY + 1)
    before = p.collateral.balanceOf(p.attacker)
    p.orders.cancel(p.trader, 0, sender=p.attacker)
    assert _margin(p) == margin  # the fee went back to the trader
    assert p.collateral.balanceOf(p.attacker) == before
    assert _logs(p.orders, "OrderCancelled")[0].reason == "expired"
    with boa.reverts("orders: no order"):
        p.orders.cancel(p.trader, 0, sender=p.trader)


def test_an_expired_order_never_fills(p):
    p.orders.place(0, LIMIT, WAD, 195 * WAD, 2**96, boa.env.timestamp + 30, FEE, sender=p.trader)
    p.push(194.0, dt=40)  # after the expiry
    margin = _margin(p)
    p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[0] == 0
    assert _margin(p) == margin + FEE
    assert _logs(p.orders, "OrderCancelled")[0].reason == "expired"


def test_update_moves_the_trigger_and_waits_for_a_new_price(p):
    _place(p, LIMIT, 10 * WAD, 190)
    p.push(194.0, dt=10)  # does not cross $190
    p.orders.update(0, 195 * WAD, 2**256 - 1, boa.env.timestamp + DAY, sender=p.trader)
    (log,) = _logs(p.orders, "OrderUpdated")
    assert (log.trigger_price, log.acceptable_price) == (195 * WAD, PRICE_MAX)
    assert p.orders.fill_round(p.trader, 0) == 0  # $194 was printed before the update
    with boa.reverts("orders: not triggered"):
        p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    p.push(194.5, dt=10)
    p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[1] == _fill(194.5, 0, 10 * WAD)


def test_a_pending_market_order_blocks_execution_until_it_is_filled(p):
    _place(p, LIMIT, 10 * WAD, 195)
    p.market.commit_order(WAD, 2**256 - 1, sender=p.trader)
    p.push(194.0, dt=10)
    with boa.reverts("perp: order pending"):
        p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    assert p.orders.order(p.trader, 0).kind == LIMIT  # nothing moved
    p.market.execute_order(p.trader, sender=p.keeper)
    p.orders.execute(p.trader, 0, _latest_round(p), sender=p.keeper)
    assert p.market.position(p.trader)[0] == 11 * WAD


def test_escrow_is_accounted_to_the_wei(p):
    """Three orders placed, one cancelled, one executed, one left: the market holds the
    margins plus the live order's fee, to the unit; the book holds nothing."""
    start = _margin(p)
    for oid, kind, trigger in ((0, LIMIT, 150), (1, STOP, 250), (2, LIMIT, 199)):
        _place(p, kind, WAD, trigger, oid=oid)
    p.orders.cancel(p.trader, 0, sender=p.trader)
    p.push(198.0, dt=10)
    held_before = _margin(p)
    p.orders.execute(p.trader, 2, _latest_round(p), sender=p.keeper)
    (filled,) = _logs(p.orders, "OrderFilled")
    assert filled.fee == -(-_fill(198.0, 0, WAD) * 10 // 10_000)  # 10 bps, rounded up
    paid = held_before - _margin(p)  # the fee, and the dust below one collateral unit
    assert filled.fee <= paid < filled.fee + p.usd_per_unit
    assert held_before == start - 3 * FEE + FEE  # three escrowed, one refunded
    live = sum(o.keeper_fee for o in p.orders.orders(p.trader))
    assert live == FEE
    held = p.collateral.balanceOf(p.market.address) * p.usd_per_unit
    assert held >= _margin(p) + live
    assert p.collateral.balanceOf(p.orders.address) == 0
