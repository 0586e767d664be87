"""EquityOracle (docs/spec.md §2): Chainlink semantics, push validation, round history, jump guard,
roles and events."""

import ape
import pytest

from synthequity.constants import ORACLE_HISTORY, WAD, MarketStatus

PRICE = 250 * 10**8


def test_deploy_reads_like_a_chainlink_feed(oracle, admin):
    assert oracle.decimals() == 8
    assert oracle.description() == "TSLA / USD"
    assert oracle.version() == 1
    assert oracle.max_jump_bps() == 2_500
    assert oracle.market_status() == MarketStatus.UNKNOWN
    assert oracle.hasRole(oracle.DEFAULT_ADMIN_ROLE(), admin)


def test_deploy_hands_admin_to_the_given_account(project, admin, outsider):
    feed = project.EquityOracle.deploy(outsider, 8, "TSLA / USD", 2_500, sender=admin)
    assert feed.hasRole(feed.DEFAULT_ADMIN_ROLE(), outsider)
    assert not feed.hasRole(feed.DEFAULT_ADMIN_ROLE(), admin)


@pytest.mark.parametrize(
    "decimals, jump, reason",
    [
        (19, 2_500, "oracle: decimals > 18"),
        (8, 99, "oracle: jump bounds"),
        (8, 10_001, "oracle: jump bounds"),
    ],
)
def test_deploy_rejects_bad_parameters(project, admin, decimals, jump, reason):
    with ape.reverts(reason):
        project.EquityOracle.deploy(admin, decimals, "TSLA / USD", jump, sender=admin)


def test_deploy_rejects_zero_admin(project, admin):
    with ape.reverts("roles: zero admin"):
        project.EquityOracle.deploy(ape.utils.ZERO_ADDRESS, 8, "X / USD", 2_500, sender=admin)


def test_no_data_before_first_push(oracle):
    assert oracle.latestRound() == 0
    with ape.reverts("oracle: no data"):
        oracle.latestRoundData()
    with ape.reverts("oracle: no data"):
        oracle.getRoundData(1)


def test_push_stores_a_round_and_emits(oracle, reporter, chain):
    observed = chain.pending_timestamp - 5
    tx = oracle.push_price(PRICE, observed, MarketStatus.OPEN, sender=reporter)
    assert tx.events == [
        oracle.PricePushed(
            reporter=reporter,
            round_id=1,
            answer=PRICE,
            observed_at=observed,
            status=MarketStatus.OPEN,
        )
    ]
    assert oracle.latestRoundData() == (1, PRICE, observed, observed, 1)
    assert oracle.latestRound() == 1
    assert oracle.getRoundData(1) == (1, PRICE, observed, observed, 1)
    assert oracle.round_status(1) == MarketStatus.OPEN
    assert oracle.market_status() == MarketStatus.OPEN
    assert not oracle.suspect()


@pytest.mark.parametrize("status", list(MarketStatus))
def test_every_status_is_accepted_and_reported(oracle, push, status):
    push(250, status=status)
    assert oracle.market_status() == status
    assert oracle.reported_status() == status


def test_push_rejects_non_reporter(oracle, outsider, admin, chain):
    for who in (outsider, admin):  # admin grants REPORTER but is not one
        with ape.reverts("oracle: not reporter"):
            oracle.push_price(PRICE, chain.pending_timestamp, 2, sender=who)


@pytest.mark.parametrize(
    "answer, reason",
    [
        (0, "oracle: answer <= 0"),
        (-1, "oracle: answer <= 0"),
        (-(2**255), "oracle: answer <= 0"),
        (2**96, "oracle: answer too large"),
        (2**255 - 1, "oracle: answer too large"),
    ],
)
def test_push_rejects_bad_answers(oracle, reporter, chain, answer, reason):
    with ape.reverts(reason):
        oracle.push_price(answer, chain.pending_timestamp, 2, sender=reporter)


def test_push_accepts_the_largest_answer(oracle, reporter, chain):
    oracle.push_price(2**96 - 1, chain.pending_timestamp, 2, sender=reporter)
    assert oracle.latestRoundData()[1] == 2**96 - 1


def test_push_rejects_future_timestamp(oracle, reporter, next_block_time):
    now = next_block_time()  # the push lands at `now`: one second later is in its future
    with ape.reverts("oracle: future timestamp"):
        oracle.push_price(PRICE, now + 1, 2, sender=reporter)
    oracle.push_price(PRICE, now, 2, sender=reporter)  # and `now` itself is accepted
    assert oracle.latestRoundData()[3] == now


def test_push_rejects_timestamp_not_newer(oracle, reporter, push, chain):
    with ape.reverts("oracle: not newer"):  # observed_at 0 is never newer
        oracle.push_price(PRICE, 0, 2, sender=reporter)
    push(250, age=10)
    observed = oracle.latestRoundData()[3]
    for t in (observed, observed - 1):
        with ape.reverts("oracle: not newer"):
            oracle.push_price(PRICE, t, 2, sender=reporter)
    oracle.push_price(PRICE, observed + 1, 2, sender=reporter)
    assert oracle.latestRoundData()[0] == 2


@pytest.mark.parametrize("status", [4, 255])
def test_push_rejects_bad_status(oracle, reporter, chain, status):
    with ape.reverts("oracle: bad status"):
        oracle.push_price(PRICE, chain.pending_timestamp, status, sender=reporter)


def test_round_history_keeps_the_last_128_rounds(oracle, reporter, chain):
    start = chain.pending_timestamp - 1_000
    total = ORACLE_HISTORY + 3
    for i in range(total):
        oracle.push_price(PRICE + i, start + i, 2 if i % 2 else 1, sender=reporter)
    assert oracle.latestRoundData() == (
        total,
        PRICE + total - 1,
        start + total - 1,
        start + total - 1,
        total,
    )
    for rid in (1, 2, 3):
        with ape.reverts("oracle: round evicted"):
            oracle.getRoundData(rid)
        with ape.reverts("oracle: round evicted"):
            oracle.round_state(rid)
    oldest = total - ORACLE_HISTORY + 1
    assert oracle.getRoundData(oldest) == (
        oldest,
        PRICE + oldest - 1,
        start + oldest - 1,
        start + oldest - 1,
        oldest,
    )
    assert oracle.round_status(oldest) == (2 if (oldest - 1) % 2 else 1)
    assert oracle.round_state(oldest) == (2 if (oldest - 1) % 2 else 1, WAD)
    for rid in (0, total + 1, 2**80 - 1):
        with ape.reverts("oracle: no data"):
            oracle.getRoundData(rid)


def test_push_gas_is_within_target(oracle, push, chain):
    gas = []
    for i in range(4):
        chain.mine(1, deltatime=30)
        gas.append(push(250 + i).gas_used)
    assert max(gas) <= 45_000, gas


# ---- jump guard -------------------------------------------------------------------------


def test_move_of_exactly_max_jump_is_not_suspect(oracle, push):
    push(200, age=2)
    tx = push(250, age=1)  # +25.0%
    assert not oracle.suspect()
    assert tx.events.filter(oracle.FeedSuspect) == []
    push(187.5)  # -25.0%
    assert oracle.market_status() == MarketStatus.OPEN


def test_jump_makes_feed_suspect_and_halted(oracle, push, reporter):
    push(200, age=1)
    tx = push(250.02)  # +25.01%
    assert oracle.suspect()
    assert oracle.market_status() == MarketStatus.HALTED
    assert oracle.reported_status() == MarketStatus.OPEN
    assert tx.events.filter(oracle.FeedSuspect) == [
        oracle.FeedSuspect(round_id=2, reporter=reporter, answer=25_002 * 10**6, anchor=200 * 10**8)
    ]
    assert oracle.latestRoundData()[1] == 25_002 * 10**6  # stored, not dropped


def test_same_reporter_cannot_confirm_its_own_jump(oracle, push):
    push(200, age=2)
    push(600, age=1)  # 3x
    push(601)
    assert oracle.suspect()


def test_second_reporter_confirms_jump(oracle, push, reporter2):
    push(200, age=2)
    push(600, age=1)
    tx = push(590, sender=reporter2)
    assert not oracle.suspect()
    assert oracle.market_status() == MarketStatus.OPEN
    assert tx.events.filter(oracle.FeedCleared) == [
        oracle.FeedCleared(round_id=3, by=reporter2, reason="confirmed")
    ]


def test_return_to_anchor_clears_a_broken_print(oracle, push, reporter):
    """sKRW 2019: one source prints 1000x; the next honest print ends the episode."""
    push(200, age=2)
    push(200_000, age=1)
    assert oracle.market_status() == MarketStatus.HALTED
    tx = push(201)
    assert not oracle.suspect()
    assert tx.events.filter(oracle.FeedCleared)[0].reason == "reverted"


def test_second_reporter_far_from_both_stays_suspect(oracle, push, reporter2):
    push(200, age=3)
    push(600, age=2)
    push(1_000, age=1, sender=reporter2)  # far from 600 and from the 200 anchor
    assert oracle.suspect()
    push(1_050)  # reporter (the first) now confirms reporter2's print
    assert not oracle.suspect()


def test_risk_admin_clears_suspect(oracle, push, risk_admin, outsider):
    push(200, age=1)
    push(400)
    with ape.reverts("access_control: account is missing role"):
        oracle.clear_suspect(sender=outsider)
    tx = oracle.clear_suspect(sender=risk_admin)
    assert tx.events == [oracle.FeedCleared(round_id=2, by=risk_admin, reason="admin")]
    assert oracle.market_status() == MarketStatus.OPEN
    with ape.reverts("oracle: not suspect"):
        oracle.clear_suspect(sender=risk_admin)


def test_round_state_is_the_status_to_act_on_per_round(oracle, push, reporter2, risk_admin):
    """`round_state`: HALTED for a round pushed while the feed was suspect, else its status;
    with its multiplier; the latest round's state is `market_state()`."""
    push(200, MarketStatus.CLOSED, age=4)
    push(201, age=3)
    push(400, age=2)  # jump: suspect
    push(401, age=1)  # same reporter: still suspect
    push(399, sender=reporter2)  # confirmed
    closed, opened, jumped, still, confirmed = range(1, 6)
    assert oracle.round_state(closed) == (MarketStatus.CLOSED, WAD)
    assert oracle.round_state(opened) == (MarketStatus.OPEN, WAD)
    assert oracle.round_state(jumped) == (MarketStatus.HALTED, WAD)
    assert oracle.round_state(still) == (MarketStatus.HALTED, WAD)
    assert oracle.round_state(confirmed) == (MarketStatus.OPEN, WAD)
    assert oracle.round_status(jumped) == MarketStatus.OPEN  # the reported status, unchanged
    push(100)  # jump again; the admin accepts it: that round (only) is usable
    assert oracle.round_state(confirmed + 1) == oracle.market_state() == (MarketStatus.HALTED, WAD)
    oracle.clear_suspect(sender=risk_admin)
    assert oracle.round_state(confirmed + 1) == oracle.market_state() == (MarketStatus.OPEN, WAD)
    assert oracle.round_state(jumped) == (MarketStatus.HALTED, WAD)
    for rid in (0, confirmed + 2):
        with ape.reverts("oracle: no data"):
            oracle.round_state(rid)


def test_latest_state_is_latest_round_data_and_market_state_in_one_call(oracle, push, risk_admin):
    """`latest_state()` (the risk consumers' one call per price) == `latestRoundData()`'s
    round, answer and time with `market_state()`: before any data, open, closed, suspect."""
    with ape.reverts("oracle: no data"):
        oracle.latest_state()

    def both():
        rid, answer, _, updated, _ = oracle.latestRoundData()
        return (rid, answer, updated, *oracle.market_state())

    push(200, MarketStatus.CLOSED, age=2)
    assert tuple(oracle.latest_state()) == both() and both()[3] == MarketStatus.CLOSED
    push(201, age=1)
    assert tuple(oracle.latest_state()) == both() and both()[3] == MarketStatus.OPEN
    push(400)  # a jump: suspect, so HALTED to act on
    assert tuple(oracle.latest_state()) == both() and both()[3] == MarketStatus.HALTED
    oracle.clear_suspect(sender=risk_admin)
    assert tuple(oracle.latest_state()) == both() and both()[3] == MarketStatus.OPEN


def test_set_max_jump_bps(oracle, risk_admin, outsider, admin):
    for who in (outsider, admin):
        with ape.reverts("access_control: account is missing role"):
            oracle.set_max_jump_bps(1_000, sender=who)
    for bad in (0, 99, 10_001, 2**256 - 1):
        with ape.reverts("oracle: jump bounds"):
            oracle.set_max_jump_bps(bad, sender=risk_admin)
    tx = oracle.set_max_jump_bps(1_000, sender=risk_admin)
    assert tx.events == [oracle.MaxJumpSet(old_bps=2_500, new_bps=1_000)]
    assert oracle.max_jump_bps() == 1_000


def test_reporter_role_is_granted_and_revoked_by_admin(oracle, admin, outsider, chain):
    role = oracle.REPORTER_ROLE()
    with ape.reverts("access_control: account is missing role"):
        oracle.grantRole(role, outsider, sender=outsider)
    oracle.grantRole(role, outsider, sender=admin)
    oracle.push_price(PRICE, chain.pending_timestamp, 2, sender=outsider)
    oracle.revokeRole(role, outsider, sender=admin)
    with ape.reverts("oracle: not reporter"):
        oracle.push_price(PRICE, chain.pending_timestamp, 2, sender=outsider)
