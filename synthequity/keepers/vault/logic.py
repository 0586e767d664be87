"""Which vault positions to liquidate, in which order, and who funds each.

A vault liquidation burns the liquidator's sTSLA (`repay`) and pays it collateral worth
repay x price x (1 + penalty) minus the protocol's share. Through the stability pool
(`StabilityPool.liquidate`) the pool's synth is burned instead and the keeper is paid its
share of the penalty (`KEEPER_SHARE_BPS`) in collateral: it needs no synth. So a job goes
through the pool when the pool's deposits cover its repayment (riskiest first, each taking
its repayment out of what the pool has left), else, as before, out of the keeper's own sTSLA
inventory. What the inventory lacks the vault buys, in the same call, from the insurance
fund's fee synth at the oracle price, out of the keeper's proceeds (the fee the call itself
mints to the fund is part of it: no one could hold that before); the keeper's value is the
same either way. A job none of them can fund in full is refused — never sent to revert.
Pure functions over plain data."""

from __future__ import annotations

from dataclasses import dataclass, replace

from synthequity.model import vault as v


@dataclass(frozen=True)
class VaultJob:
    account: str
    cr_bps: int  # collateral ratio now: lowest first
    repay: int  # sTSLA the keeper expects to burn (the model's amount at the read block)
    max_repay: int  # what it lets the vault burn: `repay` plus slack for fees accrued meanwhile
    profit_usd: int  # collateral received minus the synth's value, USD wad
    via_pool: bool = False  # the stability pool repays; `profit_usd` is the keeper's reward


SLACK_BPS = 10  # debt accrues between the read and the block the job lands in: 0.1% covers
# a 1%/year fee over ~3.6 days, and a repay is never more than the position needs anyway


POOL_LIQUIDATE = "sp_liquidate"  # the job's function: `StabilityPool.liquidate(account)`


def _budget(repay: int) -> int:
    """What a job lets the vault burn: its repay plus the fee slack (`SLACK_BPS`), rounded up."""
    return repay + repay * SLACK_BPS // 10_000 + 1


def vault_jobs(
    positions: dict[str, tuple[int, int]],
    price_wad: int,
    p: v.VaultParams,
    usd_per_unit: int,
    inventory: int,
    pool_deposits: int = 0,
    fee_synth: dict[str, int] | None = None,
) -> tuple[list[VaultJob], list[str]]:
    """(jobs to send, riskiest first: through the pool while its deposits cover the
    repayment with the fee slack, else within the inventory and the fund's fee synth;
    accounts refused for lack of all three). `positions`: account -> (collateral units, debt
    accrued to now); `pool_deposits`: the pool's `total_deposits()` (what it can burn now);
    `fee_synth`: account -> the vault's `fee_synth_available(account)` (the fund's synth a
    liquidation of it could buy: the fund's balance plus the fee it mints)."""
    candidates = []
    for account, (collateral, debt) in positions.items():
        try:
            liq = v.liquidation(collateral, debt, price_wad, p, usd_per_unit, max_repay=debt)
        except v.VaultRevert:
            continue  # healthy, or nothing a liquidation can do
        cr = collateral * usd_per_unit * 10_000 * v.WAD // max(debt * price_wad, 1)
        received = liq.to_liquidator * usd_per_unit
        profit = received - liq.repay * price_wad // v.WAD
        candidates.append(VaultJob(account, cr, liq.repay, liq.repay, profit))
    jobs, refused, left, pool_left = [], [], inventory, pool_deposits
    bought, fee_synth = 0, fee_synth or {}  # of the fund's synth, by the jobs before
    for job in sorted(candidates, key=lambda j: (j.cr_bps, j.account)):
        budget = _budget(job.repay)
        if budget <= pool_left:
            collateral, debt = positions[job.account]
            liq = v.liquidation(collateral, debt, price_wad, p, usd_per_unit, max_repay=debt)
            reward = v.keeper_reward(liq, price_wad, p, usd_per_unit) * usd_per_unit
            jobs.append(replace(job, max_repay=budget, profit_usd=reward, via_pool=True))
            pool_left -= budget
            continue
        if job.repay <= left:
            budget = min(budget, left)
            jobs.append(replace(job, max_repay=budget))
            left -= budget
            continue
        # the fund's synth for what the inventory lacks; the fee slack is minted to the fund
        # by the same call (fees accrued meanwhile), so the budget stays whole
        fund = fee_synth.get(job.account, 0) - bought
        if job.repay - left > fund:
            refused.append(job.account)
            continue
        jobs.append(replace(job, max_repay=budget))
        bought += job.repay - left
        left = 0
    return jobs, refused


def inventory_shortfall(
    positions: dict[str, tuple[int, int]],
    price_wad: int,
    p: v.VaultParams,
    usd_per_unit: int,
    inventory: int,
    pool_deposits: int = 0,
) -> int:
    """The sTSLA a keeper must add to `inventory` for `vault_jobs` to refuse nothing on these
    positions (0: it refuses nothing now): what the jobs the pool cannot cover would burn,
    each with its fee slack, less what is held. A keeper that buys its sTSLA just in time
    (docs/runbooks/keepers.md) buys this much before it liquidates."""
    jobs, _ = vault_jobs(positions, price_wad, p, usd_per_unit, 2**255, pool_deposits)
    need = sum(_budget(j.repay) for j in jobs if not j.via_pool)
    return max(need - inventory, 0)
