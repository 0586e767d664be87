"""Which vault positions to liquidate, in which order, and which the keeper can fund.

A vault liquidation burns the liquidator's sTSLA (`repay`) and pays it collateral worth
repay x price x (1 + penalty) minus the protocol's share. The keeper must therefore hold an
sTSLA inventory (mint it in the vault against its own collateral, or buy it); a job it cannot
fund in full is refused — never sent to revert. Pure functions over plain data."""

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


SLACK_BPS = 10  # debt accrues between the read and the block the job lands in: 0.1% covers
# a 1%/year fee over ~3.6 days, and a repay is never more than the position needs anyway


def vault_jobs(
    positions: dict[str, tuple[int, int]],
    price_wad: int,
    p: v.VaultParams,
    usd_per_unit: int,
    inventory: int,
) -> tuple[list[VaultJob], list[str]]:
    """(jobs to send, riskiest first, within the inventory; accounts refused for lack of it).
    `positions`: account -> (collateral units, debt accrued to now)."""
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
    jobs, refused, left = [], [], inventory
    for job in sorted(candidates, key=lambda j: (j.cr_bps, j.account)):
        if job.repay > left:
            refused.append(job.account)
            continue
        budget = min(job.repay + job.repay * SLACK_BPS // 10_000 + 1, left)
        jobs.append(replace(job, max_repay=budget))
        left -= budget
    return jobs, refused
