"""Vault keeper decisions (pure): riskiest first, the model's repay, refused beyond the
keeper's sTSLA inventory."""

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from synthequity.keepers.vault.logic import inventory_shortfall, vault_jobs
from synthequity.model import vault as v

WAD = v.WAD
P = v.VaultParams()
UPU = 10**12  # 6-decimal collateral


def test_jobs_riskiest_first_with_the_models_repay_within_inventory():
    price = 260 * WAD
    positions = {
        "healthy": (3_000 * 10**6, 5 * WAD),  # 3000 / 1300 = 231%
        "low": (1_600 * 10**6, 5 * WAD),  # 123% < 125%
        "lower": (1_550 * 10**6, 5 * WAD),  # 119%
    }
    jobs, refused = vault_jobs(positions, price, P, UPU, inventory=100 * WAD)
    assert [j.account for j in jobs] == ["lower", "low"] and refused == []
    for job in jobs:
        collateral, debt = positions[job.account]
        assert job.repay == v.liquidation(collateral, debt, price, P, UPU, debt).repay
        assert job.profit_usd > 0  # the penalty is the keeper's margin
    # inventory for the riskiest only: the other is refused, not sent to revert
    jobs, refused = vault_jobs(positions, price, P, UPU, inventory=jobs[0].repay)
    assert [j.account for j in jobs] == ["lower"] and refused == ["low"]
    assert vault_jobs(positions, price, P, UPU, inventory=0) == ([], ["lower", "low"])


def test_max_repay_leaves_slack_for_fees_accrued_before_the_job_lands_within_the_inventory():
    price = 260 * WAD
    positions = {"low": (1_600 * 10**6, 5 * WAD), "lower": (1_550 * 10**6, 5 * WAD)}
    jobs, _ = vault_jobs(positions, price, P, UPU, inventory=100 * WAD)
    for job in jobs:
        assert job.repay < job.max_repay <= job.repay + job.repay // 1_000 + 1
    # the debt a block later (1%/year for 12 s) still fits the budget
    collateral, debt = positions["lower"]
    later = v.debt_at(debt, v.WAD, v.rate_at(v.WAD, 0, 12, P.fee_per_second))
    assert v.liquidation(collateral, later, price, P, UPU, later).repay <= jobs[0].max_repay
    # a budget never exceeds what is left of the inventory
    exact = jobs[0].repay
    jobs, refused = vault_jobs(positions, price, P, UPU, inventory=exact)
    assert jobs[0].max_repay == exact and refused == ["low"]


def test_the_vault_buys_what_the_inventory_lacks_from_the_funds_fee_synth():
    """What the inventory lacks the liquidation buys from the insurance fund's synth in the
    same call (`fee_synth_available`: the fund's balance plus the fee the call mints), so a
    keeper holding all but that is not refused; the fund's synth is counted once across jobs,
    riskiest first, and a job it cannot cover is refused."""
    price = 260 * WAD
    positions = {"low": (1_600 * 10**6, 5 * WAD), "lower": (1_550 * 10**6, 5 * WAD)}
    plain, _ = vault_jobs(positions, price, P, UPU, inventory=100 * WAD)
    repay = {j.account: j.repay for j in plain}
    short = WAD // 100
    held = repay["lower"] - short
    # without the fund's synth: the riskiest is refused, as before (the other fits)
    jobs, refused = vault_jobs(positions, price, P, UPU, held)
    assert [j.account for j in jobs] == ["low"] and refused == ["lower"]
    available = {"lower": short, "low": short}  # the fund's balance: 0.01 sTSLA each sees
    jobs, refused = vault_jobs(positions, price, P, UPU, held, fee_synth=available)
    assert [j.account for j in jobs] == ["lower"] and refused == ["low"]
    assert jobs[0].max_repay == repay["lower"] + repay["lower"] * 10 // 10_000 + 1  # whole
    assert jobs[0].profit_usd == plain[0].profit_usd  # bought at the oracle price: same value
    # one unit less than the short in the fund: refused
    less = {"lower": short - 1, "low": short - 1}
    assert vault_jobs(positions, price, P, UPU, held, fee_synth=less)[1] == ["lower"]
    # enough for both: the second job draws on what the first left of the fund's synth
    both = {"lower": repay["lower"] + repay["low"], "low": repay["lower"] + repay["low"]}
    jobs, refused = vault_jobs(positions, price, P, UPU, 0, fee_synth=both)
    assert [j.account for j in jobs] == ["lower", "low"] and refused == []
    tight = {"lower": repay["lower"] + repay["low"] - 1, "low": repay["lower"] + repay["low"] - 1}
    jobs, refused = vault_jobs(positions, price, P, UPU, 0, fee_synth=tight)
    assert [j.account for j in jobs] == ["lower"] and refused == ["low"]


def test_jobs_go_through_the_pool_while_its_deposits_cover_them():
    """The stability pool repays what its deposits cover (the keeper needs no synth and is
    paid KEEPER_SHARE_BPS of the penalty); the rest falls back to the inventory, riskiest
    first; a job neither covers is refused."""
    price = 260 * WAD
    positions = {"low": (1_600 * 10**6, 5 * WAD), "lower": (1_550 * 10**6, 5 * WAD)}
    plain, _ = vault_jobs(positions, price, P, UPU, inventory=100 * WAD)
    repay = {j.account: j.repay for j in plain}
    budget = {a: r + r * 10 // 10_000 + 1 for a, r in repay.items()}
    # the pool covers both: no inventory needed
    jobs, refused = vault_jobs(positions, price, P, UPU, inventory=0, pool_deposits=100 * WAD)
    assert [(j.account, j.via_pool) for j in jobs] == [("lower", True), ("low", True)]
    assert refused == []
    for job in jobs:
        collateral, debt = positions[job.account]
        liq = v.liquidation(collateral, debt, price, P, UPU, debt)
        # the keeper's pay: 10% of the penalty on the repayment, in collateral (rounded down)
        reward_units = liq.repay * price * 1_000 * 1_000 // (WAD * 10_000 * 10_000) // UPU
        assert job.profit_usd == reward_units * UPU > 0
        assert job.repay == liq.repay and job.max_repay == budget[job.account]
    # the pool covers the riskiest only: the next goes to the inventory, or is refused
    pool = budget["lower"] + budget["low"] - 1
    jobs, refused = vault_jobs(positions, price, P, UPU, inventory=100 * WAD, pool_deposits=pool)
    assert [(j.account, j.via_pool) for j in jobs] == [("lower", True), ("low", False)]
    assert jobs[1].profit_usd == plain[1].profit_usd  # the liquidator's own margin
    jobs, refused = vault_jobs(positions, price, P, UPU, inventory=0, pool_deposits=pool)
    assert [j.account for j in jobs] == ["lower"] and refused == ["low"]
    # a pool short of the riskiest job's repayment is not used for it (the vault would leave
    # it half done); the smaller job behind it still fits
    small = {"lower": (1_550 * 10**6, 50 * WAD), "low": positions["low"]}
    jobs, refused = vault_jobs(small, price, P, UPU, inventory=0, pool_deposits=budget["low"])
    assert [(j.account, j.via_pool) for j in jobs] == [("low", True)] and refused == ["lower"]


def test_the_shortfall_is_what_the_inventory_lacks_for_the_jobs_the_pool_does_not_cover():
    """A keeper that buys its sTSLA just in time buys `inventory_shortfall`: each job the pool
    cannot cover, with its fee slack, less what it holds; nothing when nothing is refused."""
    price = 260 * WAD
    positions = {"low": (1_600 * 10**6, 5 * WAD), "lower": (1_550 * 10**6, 5 * WAD)}
    plain, _ = vault_jobs(positions, price, P, UPU, inventory=100 * WAD)
    budget = {j.account: j.repay + j.repay * 10 // 10_000 + 1 for j in plain}
    total = sum(budget.values())
    assert inventory_shortfall(positions, price, P, UPU, inventory=0) == total
    assert inventory_shortfall(positions, price, P, UPU, inventory=total - 5) == 5
    assert inventory_shortfall(positions, price, P, UPU, inventory=total) == 0
    # the pool covers the riskiest: only the other one's budget is needed
    pool = budget["lower"]
    assert inventory_shortfall(positions, price, P, UPU, 0, pool_deposits=pool) == budget["low"]
    # nothing liquidatable: nothing to buy
    healthy = {"healthy": (3_000 * 10**6, 5 * WAD)}
    assert inventory_shortfall(healthy, price, P, UPU, inventory=0) == 0


@given(
    st.lists(st.tuples(st.integers(1_000, 5_000), st.integers(1, 20)), min_size=1, max_size=8),
    st.integers(0, 60 * WAD),
    st.integers(0, 60 * WAD),
)
def test_buying_the_shortfall_leaves_no_job_refused(rows, inventory, pool):
    """Property: with `inventory + inventory_shortfall(...)` of sTSLA, `vault_jobs` refuses
    no account; and the shortfall buys no more than the jobs' fee slack beyond the least
    that does (without the slack, one wei short of the repayments, one is refused)."""
    price = 260 * WAD
    positions = {f"a{i}": (usd * 10**6, shares * WAD) for i, (usd, shares) in enumerate(rows)}
    need = inventory_shortfall(positions, price, P, UPU, inventory, pool)
    jobs, refused = vault_jobs(positions, price, P, UPU, inventory + need, pool)
    assert refused == []
    if need:
        own = [j for j in jobs if not j.via_pool]
        slack = sum(j.repay * 10 // 10_000 + 1 for j in own)
        _, refused = vault_jobs(positions, price, P, UPU, inventory + need - slack - 1, pool)
        assert refused


@given(st.integers(0, 10**24), st.integers(1, 10**24), st.integers(0, 500))
def test_the_synths_cost_rounds_up_against_an_exact_fraction(amount, price, spread):
    """`synth_cost_units`: amount x price x (1 + spread) in 6-decimal units, never less than
    the exact value and never a whole unit more (the buyer pays the last unit)."""
    exact = Fraction(amount * price * (10_000 + spread), WAD * 10_000 * UPU)
    cost = v.synth_cost_units(amount, price, UPU, spread)
    assert exact <= cost < exact + 1
