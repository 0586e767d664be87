"""The oracle through splits and real gaps (docs/spec.md §2 "Escalation", §6, §7.15), deployed
by `synthequity.testing.deploy_protocol` (titanoboa): no staged split makes a push revert
(finding 8), and a suspect price ends by a second reporter (a), by persisting through the
escalation bound (b), by returning to the anchor, or by the risk admin — with one event each."""

from __future__ import annotations

import boa
import pytest

from synthequity.constants import WAD, MarketStatus
from synthequity.testing import deploy_protocol

OPEN, CLOSED, HALTED = MarketStatus.OPEN, MarketStatus.CLOSED, MarketStatus.HALTED
E8 = 10**8


@pytest.fixture
def p():
    proto = deploy_protocol(decimals=6)
    proto.reporter2 = boa.env.generate_address("reporter2")  # a second, independent reporter
    proto.oracle.grantRole(proto.oracle.REPORTER_ROLE(), proto.reporter2, sender=proto.admin)
    return proto


def push(p, price_usd, status=OPEN, dt=60, sender=None):
    """Moves the clock `dt` seconds and pushes; returns the call's logs."""
    boa.env.time_travel(seconds=dt)
    p.oracle.push_price(
        round(price_usd * E8), boa.env.timestamp, int(status), sender=sender or p.reporter
    )
    return p.oracle.get_logs()


def cleared(p, logs):
    return [e.reason for e in logs if type(e).__name__ == "FeedCleared"]


# ---- finding 8: a staged split can brick the feed -----------------------------------------


@pytest.mark.parametrize("at_activation", ["open", "halted", "suspect"])
def test_finding8_a_staged_split_never_makes_a_push_revert(p, at_activation):
    """Before the fix, once a staged split's activation passed, every push had to apply it and
    asserted that the last round was CLOSED and not suspect: with the market OPEN or HALTED (or
    the feed suspect) at the activation, every push reverted — the session's prints, the CLOSED
    print, a second reporter's — the price went stale and no position could be liquidated.
    Now every push lands; the split applies with the first push after a CLOSED round."""
    push(p, 250)
    # a borrower at 150% ($1,500 against 4 sTSLA at $250) and a liquidator holding synth
    p.fund(p.borrower, 1_500)
    p.fund(p.keeper, 100_000)
    p.vault.open(p.units(1_500), 4 * WAD, sender=p.borrower)
    p.vault.open(p.units(50_000), 20 * WAD, sender=p.keeper)
    activation = boa.env.timestamp + 600
    p.oracle.stage_split(5, activation, sender=p.admin)
    if at_activation == "halted":
        push(p, 250, HALTED)
    elif at_activation == "suspect":
        push(p, 260, CLOSED)
        push(p, 400, CLOSED)  # a broken close print: suspect over the weekend
        assert p.oracle.suspect()
    boa.env.time_travel(seconds=600)  # the activation passes in that state

    landed = 0
    if at_activation != "suspect":
        push(p, 255)  # the session goes on in old shares: not the split's push
        push(p, 256, sender=p.reporter2)  # a second reporter too
        push(p, 260, CLOSED)  # the close
        landed = 3
        assert p.oracle.shares_multiplier_wad() == WAD and p.oracle.staged_split() == (
            5,
            activation,
        )
    # the next session's first print is per new share: $62 x 5 = $310 per base share
    push(p, 62, dt=17 * 3_600)
    landed += 1
    assert p.oracle.shares_multiplier_wad() == 5 * WAD and p.oracle.staged_split() == (0, 0)
    assert p.oracle.market_status() == OPEN and not p.oracle.suspect()
    assert p.oracle.latestRoundData()[3] == boa.env.timestamp  # fresh, not stale
    assert landed == (1 if at_activation == "suspect" else 4)
    # the borrower's CR at $310 a base share, by hand: 1,500 / (4 x 310) = 121% < 125%
    assert 1_500 * 10_000 // (4 * 310) < 12_500
    assert p.vault.is_liquidatable(p.borrower)
    p.vault.liquidate(p.borrower, 4 * WAD, sender=p.keeper)
    assert p.vault.position(p.borrower)[1] < 4 * WAD


def test_split_due_waits_for_the_close_and_holds_automatic_confirmation(p):
    """While a due split waits for a CLOSED round, a print that looks like the split (a new-share
    quote) is a jump that neither a second reporter nor persistence may confirm: at multiplier
    1 it would price a base share at a fifth. The close lets the split apply, and the next
    print returns to the (rescaled) anchor."""
    push(p, 250)
    p.oracle.set_escalation(2, 300, sender=p.risk_admin)
    p.oracle.stage_split(5, boa.env.timestamp + 30, sender=p.admin)
    push(p, 50)  # the source already quotes new shares; the chain's last round is OPEN
    assert p.oracle.suspect() and p.oracle.shares_multiplier_wad() == WAD
    assert cleared(p, push(p, 50.1, sender=p.reporter2)) == []  # (a) held
    for _ in range(10):
        assert cleared(p, push(p, 50.2)) == []  # (b) held
    assert p.oracle.market_status() == HALTED
    push(p, 50.3, CLOSED)
    logs = push(p, 50.4, dt=17 * 3_600)  # applies the split; 50.4 x 5 is near the 250 anchor
    assert cleared(p, logs) == ["reverted"]
    assert p.oracle.market_state() == (OPEN, 5 * WAD)


def test_split_during_a_suspect_episode_rescales_its_references(p):
    push(p, 200, CLOSED)
    p.oracle.stage_split(4, boa.env.timestamp + 120, sender=p.admin)
    push(p, 300, CLOSED)  # before the activation, +50%: suspect, anchor $200
    assert p.oracle.escalation()[:2] == (200 * E8, 300 * E8)
    boa.env.time_travel(seconds=60)
    logs = push(p, 75.5)  # applies the 4:1; compared with $300 / 4 the print is no jump
    assert [type(e).__name__ for e in logs][:1] == ["SplitApplied"]
    assert p.oracle.suspect() and p.oracle.escalation()[:2] == (50 * E8, 75 * E8)
    assert cleared(p, push(p, 75.4, sender=p.reporter2)) == ["confirmed"]
    assert p.oracle.market_state() == (OPEN, 4 * WAD)


# ---- escalation -----------------------------------------------------------------------


def test_escalation_defaults_bounds_roles_and_event(p):
    o = p.oracle
    assert (o.escalation_prints(), o.escalation_seconds()) == (10, 3_600)
    assert o.escalation() == (0, 0, 0, 0)
    for who in (p.reporter, p.admin, p.attacker):
        with boa.reverts("access_control: account is missing role"):
            o.set_escalation(5, 600, sender=who)
    for prints, seconds in ((1, 600), (121, 600), (5, 299), (5, 14_401), (2**256 - 1, 600)):
        with boa.reverts("oracle: escalation bounds"):
            o.set_escalation(prints, seconds, sender=p.risk_admin)
    for prints, seconds in ((2, 300), (120, 14_400), (5, 600)):
        o.set_escalation(prints, seconds, sender=p.risk_admin)
    (ev,) = [e for e in o.get_logs() if type(e).__name__ == "EscalationSet"]
    assert (ev.old_prints, ev.new_prints, ev.old_seconds, ev.new_seconds) == (120, 5, 14_400, 600)
    assert (o.escalation_prints(), o.escalation_seconds()) == (5, 600)


def test_a_real_gap_with_one_source_is_usable_after_the_escalation_bound(p):
    """+57% overnight with one reporter: HALTED from the open, usable once 10 OPEN prints
    spanning an hour kept within 25% of the gap's first print — no admin, no second source."""
    push(p, 100, CLOSED)
    logs = push(p, 157, dt=17 * 3_600)  # the open
    (ev,) = [e for e in logs if type(e).__name__ == "FeedSuspect"]
    assert (ev.answer, ev.anchor) == (157 * E8, 100 * E8)
    opened = boa.env.timestamp
    assert p.oracle.round_state(p.oracle.latestRound()) == (HALTED, WAD)
    prices = [160, 150, 170, 165, 158, 175, 180, 172, 168, 171, 169, 173]
    usable_at = None
    for price in prices:
        logs = push(p, price, dt=360)
        if cleared(p, logs):
            assert cleared(p, logs) == ["persisted"]
            usable_at = boa.env.timestamp
            break
        assert p.oracle.market_status() == HALTED
    # 10 prints (the gap's first + 9) and >= 3,600 s: the 10th print at 9 x 360 = 3,240 s is
    # too early, the 11th at 3,600 s completes it
    assert usable_at == opened + 3_600
    assert p.oracle.market_state() == (OPEN, WAD) and not p.oracle.suspect()
    assert p.oracle.latestRoundData()[1] == 171 * E8


def test_persistence_counts_open_prints_within_the_band_and_restarts_on_a_new_level(p):
    o = p.oracle
    o.set_escalation(3, 300, sender=p.risk_admin)
    push(p, 100)
    push(p, 150)  # candidate 150, 1 print
    push(p, 151, CLOSED)  # not OPEN: no count
    assert o.escalation()[3] == 1
    logs = push(p, 200)  # beyond 25% of 150: restart from 200
    assert [e.answer for e in logs if type(e).__name__ == "EscalationRestarted"] == [200 * E8]
    since = boa.env.timestamp
    assert o.escalation() == (100 * E8, 200 * E8, since, 1)
    push(p, 210, dt=100)
    assert cleared(p, push(p, 190, dt=100)) == []  # 3 prints but 200 s
    assert cleared(p, push(p, 205, dt=100)) == ["persisted"]  # 4 prints, 300 s


def test_a_one_print_spike_and_a_1000x_value_are_never_used(p):
    o = p.oracle
    o.set_escalation(2, 300, sender=p.risk_admin)
    push(p, 100)
    push(p, 100_000)  # sKRW: 1000x
    for _ in range(130):  # a stuck source: 1000x for more than 2 h
        assert cleared(p, push(p, 100_000)) == []
    assert o.market_status() == HALTED
    assert cleared(p, push(p, 101)) == ["reverted"]  # one honest print ends it
    # the hard factor: 4x the anchor persists, 4.01x never does
    push(p, 100)
    push(p, 401)
    for _ in range(10):
        assert cleared(p, push(p, 401)) == []
    assert cleared(p, push(p, 100)) == ["reverted"]
    push(p, 400)
    push(p, 400)
    assert cleared(p, push(p, 400, dt=300)) == ["persisted"]


def test_a_second_reporter_confirms_within_minutes(p):
    push(p, 100, CLOSED)
    push(p, 240, dt=17 * 3_600)  # +140%
    opened = boa.env.timestamp
    assert cleared(p, push(p, 238, dt=30, sender=p.reporter2)) == ["confirmed"]
    assert boa.env.timestamp - opened == 30 and p.oracle.market_status() == OPEN
    rid = p.oracle.latestRound()
    assert p.oracle.round_state(rid - 1) == (HALTED, WAD) and p.oracle.round_state(rid) == (
        OPEN,
        WAD,
    )


def test_common_push_path_gas(p):
    """docs/spec.md §10: <= 45k receipt gas; boa's execution gas + 21k base + calldata."""
    push(p, 250)
    for i in range(3):
        boa.env.time_travel(seconds=60)
        p.oracle.push_price(251 * E8 + i, boa.env.timestamp, int(OPEN), sender=p.reporter)
        assert p.oracle._computation.get_gas_used() + 21_000 + 16 * 3 * 32 <= 45_000
