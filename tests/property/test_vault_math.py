"""SynthVault math against the reference model and against first principles (exact
fractions), over random positions, prices, fees and times — in a direct titanoboa harness."""

from __future__ import annotations

from fractions import Fraction

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthequity.model.vault import WAD, VaultParams, debt_at, liquidation, rate_at
from synthequity.testing.boa_stack import deploy_vault_stack

OPEN = 2


@pytest.fixture(scope="module", params=[6, 18], ids=["usdc6", "usd18"])
def stack(request):
    s = deploy_vault_stack(request.param, VaultParams(stability_fee_bps=0))
    with boa.env.prank(s.admin):
        s.oracle.set_max_jump_bps(10_000)  # these tests move prices freely
    return s


def push(s, price_cents: int) -> int:
    boa.env.time_travel(seconds=1)
    with boa.env.prank(s.reporter):
        s.oracle.push_price(price_cents * 10**6, boa.env.evm.patch.timestamp, OPEN)
    return price_cents * 10**16  # wad


def fund(s, who, units: int) -> None:
    with boa.env.prank(who):
        s.collateral.faucet(who, units)
        s.collateral.approve(s.vault, 2**256 - 1)


def cr(coll_usd: int, debt: int, price: int) -> Fraction:
    return Fraction(coll_usd * WAD, debt * price)


@given(
    cr_bps=st.integers(15_000, 40_000),
    debt_cents=st.integers(10_001, 100_000_000),  # $100.01 to $1M of debt
    entry_cents=st.integers(1_000, 100_000),  # $10 to $1,000
    move_bps=st.integers(1, 9_000),  # price rise, bps
    cap_bps=st.sampled_from([None, 10, 5_000]),  # liquidator's max_repay as bps of the debt
)
def test_liquidation_matches_model_and_restores_the_mcr(
    stack, cr_bps, debt_cents, entry_cents, move_bps, cap_bps
):
    s, p = stack, VaultParams(stability_fee_bps=0)
    borrower, liquidator = boa.env.generate_address(), boa.env.generate_address()
    upu = s.usd_per_unit
    entry = push(s, entry_cents)
    debt = debt_cents * 10**16 * WAD // entry + 1
    coll = -(-debt * entry * cr_bps // (WAD * 10_000)) // upu + 1
    fund(s, borrower, coll)
    fund(s, liquidator, 10**28 // upu)
    with boa.env.prank(borrower):
        s.vault.open(coll, debt)
    with boa.env.prank(liquidator):
        s.vault.open(10**28 // upu, debt * 2)  # $10B of collateral: synth to repay with
    price = push(s, entry_cents * (10_000 + move_bps) // 10_000)
    max_repay = 2**256 - 1 if cap_bps is None else debt * cap_bps // 10_000

    coll_usd = coll * upu
    liquidatable = coll_usd * 10_000 * WAD < debt * price * p.liquidation_ratio_bps
    assert s.vault.is_liquidatable(borrower) == liquidatable
    try:
        expected = liquidation(coll, debt, price, p, upu, max_repay)
    except Exception as exc:
        with boa.reverts(exc.reason), boa.env.prank(liquidator):
            s.vault.liquidate(borrower, max_repay)
        return
    with boa.env.prank(liquidator):
        repaid = s.vault.liquidate(borrower, max_repay)
    assert repaid == expected.repay
    left_coll, left_debt = s.vault.position(borrower)
    assert left_coll == coll - expected.seized
    assert left_debt == debt - expected.repay - expected.bad_debt

    # first principles, independent of the model's formula
    if expected.bad_debt:  # under water: everything seized, the gap is the system's
        assert coll_usd * 10_000 * WAD < debt * price * (10_000 + p.liquidation_penalty_bps)
        assert (left_coll, left_debt) == (0, 0) and s.vault.system_debt() >= expected.bad_debt
    elif left_debt == 0:  # full: only because the rest would have been dust
        assert (debt - expected.repay + 1) * price >= 0
    elif expected.repay == max_repay:  # capped by the liquidator: the debt only shrank
        assert left_debt >= p.min_debt_usd * WAD // price
    else:  # partial: back to the MCR, and one wei less would not have been enough
        mcr = Fraction(p.mcr_bps, 10_000)
        assert cr(left_coll * upu, left_debt, price) >= mcr - Fraction(1, 10**12)
        r = expected.repay - 1
        seized_less = r * price * (10_000 + p.liquidation_penalty_bps) // (WAD * 10_000)
        assert cr(coll_usd - seized_less, debt - r, price) < mcr + Fraction(1, 10**12)
        assert not s.vault.is_liquidatable(borrower)
    # the liquidator got repaid value x (1 + penalty) minus the protocol's share, never more
    # (within the value of one wei of synth and one unit of collateral)
    assert expected.to_liquidator * upu <= (expected.repay + 1) * price * 11 // (10 * WAD) + upu


@given(
    fee_bps=st.integers(0, 2_000),
    waits=st.lists(st.integers(1, 90 * 86_400), min_size=1, max_size=6),
)
def test_stability_fee_matches_the_model_and_never_shrinks_debt(stack, fee_bps, waits):
    s = stack
    with boa.env.prank(s.admin):
        s.vault.set_risk_params(VaultParams(stability_fee_bps=fee_bps).as_tuple())
    borrower = boa.env.generate_address()
    upu = s.usd_per_unit
    push(s, 20_000)
    fund(s, borrower, 10**27 // upu)
    with boa.env.prank(borrower):
        s.vault.open(10**25 // upu, 10 * WAD)
    rate, last = s.vault.rate_index(), boa.env.evm.patch.timestamp
    snapshot, recorded = rate, 10 * WAD
    fps = VaultParams(stability_fee_bps=fee_bps).fee_per_second
    previous = recorded
    for wait in waits:
        boa.env.time_travel(seconds=wait)
        now = boa.env.evm.patch.timestamp
        expected = debt_at(recorded, snapshot, rate_at(rate, last, now, fps))
        debt = s.vault.position(borrower)[1]
        assert debt == expected >= previous
        previous = debt
        push(s, 20_000)
        with boa.env.prank(borrower):  # touch: the fee is minted to the insurance fund
            s.vault.deposit(1)
            s.vault.mint(WAD // 100)
        rate, last = (
            rate_at(rate, last, boa.env.evm.patch.timestamp, fps),
            boa.env.evm.patch.timestamp,
        )
        snapshot, recorded = rate, s.vault.position(borrower)[1]
        previous = recorded
    supply = s.synth.totalSupply()
    assert supply == recorded  # every fee was minted to the insurance fund: invariant 2
    assert s.synth.balanceOf(borrower) + s.synth.balanceOf(s.insurance) == supply


@given(
    coll_units=st.integers(10**3, 10**9),
    mint_bps=st.integers(1, 10_000),
    wait=st.integers(0, 365 * 86_400),
    fee_bps=st.integers(0, 2_000),
)
def test_a_round_trip_creates_no_value(stack, coll_units, mint_bps, wait, fee_bps):
    """deposit -> mint -> burn -> withdraw returns at most what was put in (invariant 9)."""
    s = stack
    with boa.env.prank(s.admin):
        s.vault.set_risk_params(VaultParams(stability_fee_bps=fee_bps).as_tuple())
    borrower, helper = boa.env.generate_address(), boa.env.generate_address()
    upu = s.usd_per_unit
    coll = coll_units * 10**18 // upu // 10**6 + 1  # $0.001 .. $1,000 worth
    fund(s, borrower, coll)
    fund(s, helper, 10**28 // upu)
    price = push(s, 20_000)
    with boa.env.prank(helper):
        s.vault.open(10**27 // upu, 100 * WAD)  # a holder to buy fee synth from
    with boa.env.prank(borrower):
        s.vault.deposit(coll)
    mint = s.vault.max_mintable(borrower) * mint_bps // 10_000
    if mint * price < 100 * WAD * WAD:
        with boa.reverts("vault: debt below minimum"), boa.env.prank(borrower):
            s.vault.mint(mint if mint else 1)
    else:
        with boa.env.prank(borrower):
            s.vault.mint(mint)
        boa.env.time_travel(seconds=wait)
        owed = s.vault.position(borrower)[1]
        with boa.env.prank(helper):  # the borrower buys what the fee added
            s.synth.transfer(borrower, owed - mint)
        with boa.env.prank(borrower):
            s.vault.close()
    if s.vault.position(borrower)[0]:
        with boa.env.prank(borrower):
            s.vault.withdraw(s.vault.position(borrower)[0])
    assert s.collateral.balanceOf(borrower) <= coll
    assert s.vault.position(borrower) == (0, 0)
