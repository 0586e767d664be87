"""Which vault positions to liquidate, in which order, and which the keeper can fund.

A vault liquidation burns the liquidator's sTSLA (`repay`) and pays it collateral worth
repay x price x (1 + penalty) minus the protocol's share. The keeper must therefore hold an
sTSLA inventory (mint it in the vault against its own collateral, or buy it); a job it cannot
fund in full is refused — never sent to revert. Pure functions over plain data."""

from __future__ import annotations

from dataclasses import dataclass

from synthequity.model import vault as v


@dataclass(frozen=True)
class VaultJob:
    account: str
    cr_bps: int  # collateral ratio now: lowest first
    repay: int  # sTSLA the keeper burns
    profit_usd: int  # collateral received minus the synth's value, USD wad


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
        candidates.append(
            VaultJob(account, cr, liq.repay, received - liq.repay * price_wad // v.WAD)
        )
    jobs, refused, left = [], [], inventory
    for job in sorted(candidates, key=lambda j: (j.cr_bps, j.account)):
        if job.repay <= left:
            jobs.append(job)
            left -= job.repay
        else:
            refused.append(job.account)
    return jobs, refused
