"""What the dapp takes from the Python side at build time, written into dapp/src/generated/:

- `sessions.json`: NYSE sessions ([open, close) in unix seconds, from `market_hours.nyse`)
  around today, so that the page tells the next open and close with the same holidays and
  early closes as the keepers and the CLI;
- `vectors.json`: test vectors from `synthequity.model` (collateral ratio, the vault's
  liquidation price, the stability fee's accrual, the fee synth's cost, fill price, fees,
  equity, withdrawable, the perp liquidation price, funding accrual, the redemption plan
  with its hints over random sorted lists, the redemption fee, a vault call's relist hints),
  which the dapp's unit tests check its TypeScript formulas against.

    python -m synthequity.dev.dapp_data [--out dapp/src/generated]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from synthequity.market_hours import nyse
from synthequity.model import oracle as orc
from synthequity.model import orders as om
from synthequity.model import perp as pm
from synthequity.model import vault as vm

WAD = 10**18
USD6 = 10**12  # usd_per_unit of a 6-decimal stablecoin


def sessions(now: int, back_days: int = 400, ahead_days: int = 700) -> list[list[int]]:
    cal = nyse()
    lo, hi = now - back_days * 86_400, now + ahead_days * 86_400
    return [[o, c] for o, c in zip(cal.opens, cal.closes, strict=True) if lo <= o <= hi]


def collateral_ratio_bps(collateral: int, debt: int, price_wad: int, usd_per_unit: int) -> int:
    """The CLI's collateral ratio (scripts/vault.py), in bps, rounded down."""
    return collateral * usd_per_unit * 10_000 // (debt * price_wad // WAD)


def s(x: int | None) -> str | None:
    return None if x is None else str(x)


def vault_vectors(rng: random.Random, n: int) -> list[dict[str, Any]]:
    p = vm.VaultParams()
    out = []
    for _ in range(n):
        collateral = rng.randint(100, 10**7) * 10**6 + rng.randint(0, 10**6)
        debt = rng.randint(1, 10**5) * WAD // rng.randint(1, 1000) + rng.randint(0, 10**9)
        price = rng.randint(1, 2_000) * WAD + rng.randint(0, WAD)
        rate = WAD + rng.randint(0, WAD // 2)  # the vault's fee index
        dt = rng.choice([1, 60, 86_400, rng.randint(0, 2 * vm.YEAR)])
        rate_after = vm.rate_at(rate, 0, dt, p.fee_per_second)
        out.append(
            {
                "collateral": str(collateral),
                "debt": str(debt),
                "price": str(price),
                "cr_bps": str(collateral_ratio_bps(collateral, debt, price, USD6)),
                "below_mcr": vm.is_below(collateral * USD6, debt, price, p.mcr_bps),
                "liquidation_price": s(vm.liquidation_price(collateral, debt, p, USD6)),
                "rate": str(rate),
                "dt": dt,
                "rate_after": str(rate_after),
                "debt_after": str(vm.debt_at(debt, rate, rate_after)),
                "fee_synth_cost": str(vm.VaultModel(USD6, p).fee_synth_cost(debt, price)),
                "max_mintable": str(vm.max_mintable(collateral, debt, price, p.mcr_bps, USD6)),
            }
        )
    return out


def perp_vectors(rng: random.Random, n: int) -> list[dict[str, Any]]:
    p = pm.PerpParams()
    out = []
    for _ in range(n):
        price = rng.randint(5, 2_000) * WAD + rng.randint(0, WAD)
        skew = rng.randint(-50_000, 50_000) * WAD // rng.randint(1, 100)
        delta = rng.choice([-1, 1]) * (rng.randint(1, 20_000) * WAD // rng.randint(1, 100) + 1)
        size = rng.choice([-1, 1]) * rng.randint(1, 5_000) * WAD // rng.randint(1, 100)
        entry = price * rng.randint(80, 120) // 100
        margin = abs(size) * entry // WAD * rng.randint(15, 100) // 100 + 20 * WAD
        index = rng.randint(-(10**18), 10**18)
        entry_index = index - rng.randint(-(10**17), 10**17)
        pos = pm.Position(size, entry, margin, entry_index)
        fill = pm.fill_price(price, skew, delta, p)
        funding = pm.FundingState(rng.randint(-(10**17), 10**17), index, 1_000_000)
        dt = rng.randint(0, 30 * 86_400)
        accrued = pm.accrue_funding(funding, skew, price, funding.updated_at + dt, p)
        out.append(
            {
                "price": str(price),
                "skew": str(skew),
                "delta": str(delta),
                "fill": str(fill),
                "fee": str(pm.order_fee(skew, delta, fill, p)),
                "bound": str(pm.slippage_bound(price, delta, 100)),
                "position": [str(size), str(entry), str(margin), str(entry_index)],
                "index": str(index),
                "pnl": str(pm.pnl(pos, price)),
                "equity": str(pm.equity(pos, price, index)),
                "liquidatable": pm.is_liquidatable(pos, price, index, p),
                "withdrawable": str(pm.withdrawable(pos, price, index, p)),
                "min_equity_imr": str(pm.min_equity(size, price, p.initial_margin_bps, p)),
                "liquidation_price": s(pm.liquidation_price(pos, index, p)),
                "funding_in": [str(funding.rate), str(funding.index), str(funding.updated_at)],
                "funding_now": str(funding.updated_at + dt),
                "funding_out": [str(accrued.rate), str(accrued.index)],
            }
        )
    return out


def redemption_vectors(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Random sorted lists (some nodes below the liquidation ratio, some at the minimum debt)
    and amounts: `plan_redemption`'s hints and takings, and the fee."""
    p = vm.VaultParams()
    out = []
    for _ in range(n):
        price = rng.randint(20, 2_000) * WAD + rng.randint(0, WAD)
        rate = WAD + rng.randint(0, WAD // 5)
        rows = []
        for i in range(rng.randint(0, 12)):
            debt = rng.choice(
                [
                    vm.ceil_div(p.min_debt_usd * WAD, price),  # at the minimum
                    rng.randint(1, 10**4) * WAD // rng.randint(1, 100) + rng.randint(0, 10**9),
                ]
            )
            cr_bps = rng.choice([rng.randint(11_000, 12_499), rng.randint(12_500, 40_000)])
            coll = debt * price * cr_bps // (WAD * USD6 * 10_000) + 1
            rows.append((f"0x{i + 1:040x}", coll, debt))
        entries = [
            vm.ListEntry(a, vm.sort_key(c, d * WAD // rate, rate, USD6), c, d) for a, c, d in rows
        ]
        entries.sort(key=lambda e: e.key)
        total = sum(e.debt for e in entries)
        amount = rng.choice([rng.randint(1, max(total, 1)), total + WAD, WAD // 3])
        plan = vm.plan_redemption(entries, amount, price, p, USD6, rate)
        supply = total + rng.randint(0, 10**4) * WAD
        base = rng.choice([0, rng.randint(0, WAD // 10), WAD])
        fee = vm.redemption_fee_wad(base, 0, 0, plan.redeemed, max(supply, 1))
        who = rng.choice([e.account for e in entries] + ["0x" + "ff" * 20])  # or a new one
        like = rng.choice(entries) if entries else vm.ListEntry(who, 0, 10**9, WAD)
        after = (like.collateral * rng.randint(50, 200) // 100, rng.choice([0, like.debt, WAD]))
        hints = vm.relist_hints(entries, who, *after, rate, USD6)
        out.append(
            {
                "price": str(price),
                "rate": str(rate),
                "entries": [
                    [e.account, str(e.key), str(e.collateral), str(e.debt)] for e in entries
                ],
                "amount": str(amount),
                "first_hint": plan.first_hint,
                "partial_hint": plan.partial_hint,
                "taken": [[a, str(d), str(c)] for a, d, c in plan.taken],
                "redeemed": str(plan.redeemed),
                "collateral": str(plan.collateral),
                "base_rate": str(base),
                "supply": str(max(supply, 1)),
                "fee_wad": str(fee),
                "relist": [who, str(after[0]), str(after[1]), *hints],
            }
        )
    return out


def order_vectors(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Conditional orders (`synthequity.model.orders`): acceptable prices, reduce-only
    sizes and trigger crossings over random sides, prices and sizes."""
    out = []
    for _ in range(n):
        size = rng.choice([-1, 1]) * rng.randint(1, 10**6) * 10**15
        trigger = rng.randint(1, 5_000) * WAD + rng.randint(0, WAD)
        price = trigger + rng.choice([0, rng.randint(-WAD * 10, WAD * 10)])
        slip = rng.choice([None, 0, 50, 100, 5_000])
        held = rng.choice([-1, 1]) * rng.randint(1, 10**6) * 10**15
        part = rng.choice([None, abs(held) // 3, abs(held) * 2])
        out.append(
            {
                "size": str(size),
                "trigger": str(trigger),
                "price": str(max(price, 1)),
                "slippage_bps": slip,
                "acceptable": str(om.acceptable_price(size, trigger, slip)),
                "held": str(held),
                "part": s(part),
                "reduce_delta": str(om.reduce_delta(held, part)),
                "crosses": [
                    om.crosses(kind, size, trigger, max(price, 1))
                    for kind in (om.LIMIT, om.STOP, om.TAKE_PROFIT, om.STOP_LOSS)
                ],
            }
        )
    return out


def dividend_vectors(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Dividends (`synthequity.model.oracle`): what one base share was paid at an ex-date
    (its amount x the multiplier before), and an account's received and paid over ex-dates
    from its synth, debt and perp size at each."""
    out = []
    for _ in range(n):
        k = rng.randint(1, 4)
        amounts = [rng.randint(1, 5 * 10**8) for _ in range(k)]  # up to $5, 8 decimals
        mults = [rng.choice([WAD, rng.randint(WAD, 30 * WAD)]) for _ in range(k)]
        per = [
            orc.dividend_per_base_share_wad(a, 8, m) for a, m in zip(amounts, mults, strict=True)
        ]
        held = [
            (
                rng.choice([0, rng.randint(0, 10**6) * 10**15]),
                rng.choice([0, rng.randint(0, 10**6) * 10**15]),
                rng.choice([0, rng.choice([-1, 1]) * rng.randint(1, 10**6) * 10**15]),
            )
            for _ in range(k)
        ]
        received, paid = orc.dividends_received_wad(held, per)
        out.append(
            {
                "amounts": [str(a) for a in amounts],
                "multipliers": [str(m) for m in mults],
                "per_share": [str(x) for x in per],
                "held": [[str(x) for x in h] for h in held],
                "received": str(received),
                "paid": str(paid),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("dapp/src/generated"))
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sessions.json").write_text(json.dumps(sessions(int(time.time()))))
    rng = random.Random(args.seed)
    vectors = {
        "vault_params": [str(x) for x in vm.VaultParams().as_tuple()],
        "perp_params": [str(x) for x in pm.MarketParams().as_tuple()[0]],
        "usd_per_unit": str(USD6),
        "vault": vault_vectors(rng, args.n),
        "perp": perp_vectors(rng, args.n),
        "redemption": redemption_vectors(rng, args.n),
        "orders": order_vectors(rng, args.n),
        "dividends": dividend_vectors(rng, args.n),
    }
    (args.out / "vectors.json").write_text(json.dumps(vectors, indent=1))
    print(f"wrote {args.out}/sessions.json and vectors.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
