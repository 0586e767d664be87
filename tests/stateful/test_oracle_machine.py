"""EquityOracle against its reference model (synthequity.model.oracle), in a direct titanoboa
harness: random reporters, prices with jumps and broken prints, gaps that persist, bad inputs,
statuses, time, splits staged at arbitrary times, admin actions. After every step the contract
and the model must agree on everything a consumer can read, and a valid push always lands
(finding 8: no staged split may make every push revert)."""

from __future__ import annotations

import boa
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from machine_base import note, pin_clock, run_machine

from synthequity.constants import ORACLE_HISTORY, MarketStatus
from synthequity.model.oracle import FeedModel, PushRejected

ORACLE = boa.load_partial("contracts/oracle/EquityOracle.vy")  # compiled once per session


@pytest.fixture(scope="module")
def deployment():
    """Deployed once per module; every hypothesis example runs inside a boa anchor."""
    pin_clock("oracle")
    admin = boa.env.generate_address("admin")
    reporters = [boa.env.generate_address(f"reporter{i}") for i in range(3)]
    with boa.env.prank(admin):
        oracle = ORACLE.deploy(admin, 8, "TSLA / USD", 2_500)
        for r in reporters:
            oracle.grantRole(oracle.REPORTER_ROLE(), r)
        oracle.grantRole(oracle.RISK_ADMIN_ROLE(), admin)
    return oracle, admin, reporters, boa.env.generate_address("outsider")


class OracleMachine(RuleBasedStateMachine):
    stack: tuple = ()  # (oracle, admin, reporters, outsider)
    steps = 0

    @initialize()
    def deploy(self):
        self.oracle, self.admin, self.reporters, self.outsider = self.stack
        # Every example starts from the deployed state and leaves nothing behind.
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.model = FeedModel(max_jump_bps=2_500)

    def teardown(self):
        if hasattr(self, "_anchor"):
            self._anchor.__exit__(None, None, None)

    # ---- helpers --------------------------------------------------------------------
    def _now(self) -> int:
        return boa.env.evm.patch.timestamp

    def _last_answer(self) -> int:
        return self.model.latest.answer if self.model.latest else 250 * 10**8

    def _push(self, who, answer, observed_at, status, is_reporter=True):
        try:
            probe = self.model.copy()
            probe.push(who, answer, observed_at, status, self._now(), is_reporter)
        except PushRejected as rejected:
            with boa.reverts(rejected.reason), boa.env.prank(who):
                self.oracle.push_price(answer, observed_at, status)
            note(self, f"push: rejected:{rejected.reason}")
            return
        with boa.env.prank(who):
            self.oracle.push_price(answer, observed_at, status)
        actions = len(self.model.actions_log)
        event = self.model.push(who, answer, observed_at, status, self._now(), is_reporter)
        note(self, f"push: {event or ('suspect' if self.model.suspect else 'ok')}")
        for action in self.model.actions_log[actions:]:
            note(self, f"push: {action[0]} applied" if action[0] != "dropped" else "push: dropped")

    def _admin(self, call, model_call, what):
        """`call` on the chain as the admin; it reverts exactly when `model_call` raises."""
        try:
            model_call()
        except PushRejected as rejected:
            with boa.reverts(rejected.reason), boa.env.prank(self.admin):
                call()
            note(self, f"{what}: rejected:{rejected.reason}")
            return
        with boa.env.prank(self.admin):
            call()
        note(self, f"{what}: ok")

    # ---- rules ----------------------------------------------------------------------
    @rule(seconds=st.integers(1, 4 * 86_400))
    def time_passes(self, seconds):
        boa.env.time_travel(seconds=seconds)

    @rule(
        reporter=st.integers(0, 2),
        move_bps=st.integers(-3_000, 3_000),
        age=st.integers(0, 50),
        status=st.sampled_from(list(MarketStatus)),
    )
    def push_move(self, reporter, move_bps, age, status):
        answer = max(1, self._last_answer() * (10_000 + move_bps) // 10_000)
        boa.env.time_travel(seconds=1)
        self._push(self.reporters[reporter], answer, self._now() - age, int(status))

    @rule(reporter=st.integers(0, 2), up=st.booleans(), nudge=st.integers(-1, 1))
    def push_at_threshold(self, reporter, up, nudge):
        """Exactly at the jump threshold, and one unit either side of it."""
        last = self._last_answer()
        edge = last * self.model.max_jump_bps // 10_000
        answer = last + edge + nudge if up else last - edge - nudge
        boa.env.time_travel(seconds=1)
        self._push(self.reporters[reporter], max(answer, 1), self._now(), int(MarketStatus.OPEN))

    @rule(reporter=st.integers(0, 2), factor=st.sampled_from([1_000, 10, 3, 1]))
    def push_broken_print(self, reporter, factor):
        """sKRW-like: a source prints a multiple of the price (or the price itself)."""
        boa.env.time_travel(seconds=1)
        answer = self._last_answer() * factor
        self._push(self.reporters[reporter], answer, self._now(), int(MarketStatus.OPEN))

    @rule(
        answer=st.one_of(
            st.integers(-(2**255), 0), st.integers(2**96 - 2, 2**255 - 1), st.integers(1, 10**12)
        ),
        ahead=st.integers(-2, 2),
        status=st.integers(0, 255),
        who=st.sampled_from(["reporter", "outsider"]),
    )
    def push_anything(self, answer, ahead, status, who):
        """Any input at all: the contract reverts exactly when the model says so."""
        latest_t = self.model.latest.observed_at if self.model.latest else 0
        observed = (
            max(0, min(self._now() + ahead, latest_t + ahead))
            if ahead < 1
            else (self._now() + ahead)
        )
        sender = self.reporters[0] if who == "reporter" else self.outsider
        self._push(sender, answer, observed, status, is_reporter=who == "reporter")

    @rule(
        reporter=st.integers(0, 3),
        prints=st.integers(1, 12),
        dt=st.sampled_from([60, 600, 1_800]),
        wiggle_bps=st.sampled_from([0, 100, 1_000, 3_000]),
        status=st.sampled_from([MarketStatus.OPEN] * 3 + [MarketStatus.CLOSED]),
    )
    def push_persisting(self, reporter, prints, dt, wiggle_bps, status):
        """One source keeps printing around its last price (a real gap, or a stuck source):
        path (b) gets to count, restart, and complete. Reporter 0..2, or (3) the one whose
        print is suspect, so that no second reporter confirms it."""
        base = self._last_answer()
        who = self.reporters[reporter] if reporter < 3 else self.model.suspect_reporter
        for i in range(prints):
            boa.env.time_travel(seconds=dt)
            sign = 1 if i % 2 else -1
            answer = max(1, base + sign * base * wiggle_bps // 10_000 // (i + 1))
            self._push(who or self.reporters[0], answer, self._now(), int(status))

    @rule(
        reporter=st.integers(0, 2),
        gap_bps=st.sampled_from([-6_000, -2_100, 0, 5_000, 14_000]),
    )
    def session_closes_and_reopens(self, reporter, gap_bps):
        """The close print, a night, and the open with an overnight gap (quoted per new share
        once a staged split's activation has passed)."""
        who = self.reporters[reporter]
        boa.env.time_travel(seconds=60)
        self._push(who, self._last_answer(), self._now(), int(MarketStatus.CLOSED))
        boa.env.time_travel(seconds=17 * 3_600)
        answer = self._last_answer() * (10_000 + gap_bps) // 10_000
        if self.model.split is not None and self._now() >= self.model.split[1]:
            answer //= self.model.split[0]
        if self.model.dividend is not None and self._now() >= self.model.dividend[1]:
            answer -= min(answer // 2, self.model.dividend[0])  # the ex-date's reference
        self._push(who, max(1, answer), self._now(), int(MarketStatus.OPEN))

    @rule(ratio=st.sampled_from([1, 2, 3, 5, 101]), delay=st.integers(-5, 3 * 86_400))
    def admin_stages_split(self, ratio, delay):
        """At any time: mid-session, halted, suspect, or before a close."""
        activation = max(0, self._now() + delay)
        self._admin(
            lambda: self.oracle.stage_split(ratio, activation),
            lambda: self.model.stage_split(ratio, activation, self._now()),
            "stage split",
        )

    @rule()
    def admin_cancels_split(self):
        self._admin(self.oracle.cancel_split, self.model.cancel_split, "cancel split")

    @rule(
        who=st.sampled_from(["admin", "reporter", "outsider"]),
        bps=st.sampled_from([0, 1, 50, 1_000, 1_001, 4_000, 5_000, 5_001]),
        delay=st.sampled_from([-5, 0, 60, 86_399, 86_400, 2 * 86_400, 2**40]),
    )
    def stages_dividend(self, who, bps, delay):
        """A reporter (a day ahead), the admin (any time ahead, confirmed) or an outsider
        stages a dividend of `bps` of the last price: ordinary, special, at the caps."""
        sender = {"admin": self.admin, "reporter": self.reporters[0], "outsider": self.outsider}
        amount = self._last_answer() * bps // 10_000 if self.model.latest else 10**8
        activation = max(0, self._now() + delay)
        try:
            self.model.copy().stage_dividend(
                amount, activation, self._now(), admin=who == "admin", reporter=who == "reporter"
            )
        except PushRejected as rejected:
            with boa.reverts(rejected.reason), boa.env.prank(sender[who]):
                self.oracle.stage_dividend(amount, activation)
            note(self, f"stage dividend: rejected:{rejected.reason}")
            return
        with boa.env.prank(sender[who]):
            self.oracle.stage_dividend(amount, activation)
        special = self.model.stage_dividend(
            amount, activation, self._now(), admin=who == "admin", reporter=who == "reporter"
        )
        note(self, f"stage dividend: ok{' special' if special else ''}")

    @rule()
    def admin_confirms_dividend(self):
        self._admin(self.oracle.confirm_dividend, self.model.confirm_dividend, "confirm dividend")

    @rule(chance=st.integers(0, 3))
    def admin_cancels_dividend(self, chance):
        """One time in four (a staged dividend should mostly live to its ex-date)."""
        if chance == 0:
            self._admin(self.oracle.cancel_dividend, self.model.cancel_dividend, "cancel dividend")

    @precondition(lambda self: self.model.dividend is not None and self.model.latest)
    @rule(reporter=st.integers(0, 2), gap_bps=st.sampled_from([-500, 0, 300]))
    def ex_date_arrives(self, reporter, gap_bps):
        """The close, the night to the ex-date, and its first print at the reference price
        (the close minus the dividend) moved by `gap_bps`."""
        assert self.model.dividend is not None
        who = self.reporters[reporter]
        boa.env.time_travel(seconds=60)
        self._push(who, self._last_answer(), self._now(), int(MarketStatus.CLOSED))
        if self.model.dividend is None:  # due after a CLOSED round: applied (or dropped) by
            note(self, "ex-date: due at a closed print")  # this print (the nightly found it)
            return
        boa.env.time_travel(seconds=max(60, self.model.dividend[1] - self._now()))
        reference = self._last_answer() - min(self._last_answer() // 2, self.model.dividend[0])
        answer = max(1, reference * (10_000 + gap_bps) // 10_000)
        self._push(who, answer, self._now(), int(MarketStatus.OPEN))

    @precondition(lambda self: self.model.split is not None)
    @rule(reporter=st.integers(0, 2), status=st.sampled_from(list(MarketStatus)))
    def push_new_share_quote(self, reporter, status):
        """The source quotes per new share, whether or not the chain has applied the split."""
        assert self.model.split is not None
        boa.env.time_travel(seconds=60)
        answer = max(1, self._last_answer() // self.model.split[0])
        self._push(self.reporters[reporter], answer, self._now(), int(status))

    @rule(
        prints=st.sampled_from([0, 1, 2, 3, 5, 10, 120, 121]),
        seconds=st.sampled_from([0, 299, 300, 600, 3_600, 14_400, 14_401]),
    )
    def admin_sets_escalation(self, prints, seconds):
        self._admin(
            lambda: self.oracle.set_escalation(prints, seconds),
            lambda: self.model.set_escalation(prints, seconds),
            "set escalation",
        )

    @rule()
    def admin_clears(self):
        try:
            self.model.clear()
        except PushRejected as rejected:
            with boa.reverts(rejected.reason), boa.env.prank(self.admin):
                self.oracle.clear_suspect()
            note(self, f"clear: rejected:{rejected.reason}")
            return
        with boa.env.prank(self.admin):
            self.oracle.clear_suspect()
        note(self, "clear: ok")

    @rule(bps=st.integers(0, 12_000))
    def admin_sets_jump(self, bps):
        if not 100 <= bps <= 10_000:
            with boa.reverts("oracle: jump bounds"), boa.env.prank(self.admin):
                self.oracle.set_max_jump_bps(bps)
            return
        with boa.env.prank(self.admin):
            self.oracle.set_max_jump_bps(bps)
        self.model.max_jump_bps = bps

    # ---- invariants -----------------------------------------------------------------
    @invariant()
    def counts_the_step(self):
        """Not a property: runs once after every executed rule, the depth reported."""
        type(self).steps += 1

    @invariant()
    def latest_round_matches_model(self):
        latest = self.model.latest
        if latest is None:
            with boa.reverts("oracle: no data"):
                self.oracle.latestRoundData()
        else:
            t = latest.observed_at
            assert self.oracle.latestRoundData() == (
                latest.round_id,
                latest.answer,
                t,
                t,
                latest.round_id,
            )

    @invariant()
    def latest_state_is_the_two_reads_in_one(self):
        """`latest_state()` (the guard's one call on every hot path) = `latestRoundData()`'s
        round, answer and time + `market_state()`, against the model."""
        latest = self.model.latest
        if latest is None:
            with boa.reverts("oracle: no data"):
                self.oracle.latest_state()
            return
        t = latest.observed_at
        assert self.oracle.latest_state() == (
            latest.round_id,
            latest.answer,
            t,
            self.model.market_status(),
            self.model.multiplier_wad,
        )

    @invariant()
    def market_status_matches_model(self):
        assert self.oracle.market_status() == self.model.market_status()

    @invariant()
    def suspect_flag_matches_model(self):
        assert self.oracle.suspect() == self.model.suspect

    @invariant()
    def escalation_matches_model(self):
        assert self.oracle.escalation() == self.model.escalation()
        assert self.oracle.escalation_prints() == self.model.escalation_prints
        assert self.oracle.escalation_seconds() == self.model.escalation_seconds

    @invariant()
    def corporate_actions_match_model(self):
        assert self.oracle.shares_multiplier_wad() == self.model.multiplier_wad
        assert self.oracle.staged_split() == (self.model.split or (0, 0))
        assert self.oracle.staged_dividend() == (self.model.dividend or (0, 0, False))
        if self.model.latest is not None:
            status, mult = self.oracle.market_state()
            assert (status, mult) == (self.model.market_status(), self.model.multiplier_wad)
            assert self.oracle.round_state(self.model.latest.round_id) == (status, mult)

    @invariant()
    def no_staged_split_makes_a_valid_push_revert(self):
        """Finding 8 (docs/spec.md §7.15): whatever is staged and whatever the feed's state, a
        well-formed push — newer, not in the future, positive, in range — lands: one after
        every step, from either reporter and with each status in turn, in a throwaway
        anchor."""
        t0 = self._now()
        who = self.reporters[self.steps % 2]
        try:
            with boa.env.anchor(), boa.env.prank(who):
                boa.env.evm.patch.timestamp = t0 + 1
                self.oracle.push_price(self._last_answer(), t0 + 1, self.steps % 4)
        finally:
            boa.env.evm.patch.timestamp = t0

    @precondition(lambda self: self.model.latest is not None)
    @rule(data=st.data())
    def history_matches(self, data):
        n = len(self.model.rounds)
        edges = [1, max(1, n - ORACLE_HISTORY), max(1, n - ORACLE_HISTORY + 1), n, n + 1]
        for rid in (data.draw(st.sampled_from(edges)), data.draw(st.integers(0, n + 1))):
            try:
                r = self.model.round(rid)
            except PushRejected as rejected:
                with boa.reverts(rejected.reason):
                    self.oracle.getRoundData(rid)
                with boa.reverts(rejected.reason):
                    self.oracle.round_state(rid)
                continue
            assert self.oracle.getRoundData(rid) == (
                r.round_id,
                r.answer,
                r.observed_at,
                r.observed_at,
                r.round_id,
            )
            assert self.oracle.round_status(rid) == r.status
            assert self.oracle.round_state(rid) == self.model.round_state(rid)


def test_oracle_matches_model(deployment, capsys):
    def report(line: str) -> None:
        with capsys.disabled():
            print(line)

    profile = settings()  # the loaded hypothesis profile's depth (tests/conftest.py)
    machine = run_machine(
        OracleMachine,
        None,
        deployment,
        {},
        examples=profile.max_examples,
        steps=profile.stateful_step_count,
        report=report,
    )
    assert machine.steps > 0
    # issue 21: what a run must have exercised of dividends (the perp and vault sides are in
    # their own machines and tests/unit/test_dividends.py)
    for outcome in ("push: dividend applied", "stage dividend: ok special", "push: split applied"):
        assert machine.seen.get(outcome), (outcome, sorted(machine.seen))
