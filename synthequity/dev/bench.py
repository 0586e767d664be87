"""Receipt gas of every docs/spec.md §10 operation, measured on a local chain and printed beside
its target. Operations whose contracts are not built yet are listed as such, not guessed."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from synthequity.constants import MarketStatus


@dataclass(frozen=True)
class Actors:
    """Funded accounts the bench acts with (a local node's test accounts)."""

    admin: Any
    reporter: Any
    borrower: Any = None
    liquidator: Any = None
    victim: Any = None


@dataclass(frozen=True)
class Target:
    operation: str
    target: int
    floor: str
    # the steady gas before the vault's sorted list (2699110): issue 19 lets an action on a
    # listed position cost up to 25k more than it did then
    before_list: int = 0
    # above its target by design, with the reason (docs/design/conditional-orders.md): the
    # verdict says so; a steady gas above `ceiling` (the measured cost, +2%) is a regression
    ceiling: int = 0
    why: str = ""


LIST_ALLOWANCE = 25_000


TARGETS = [
    Target("oracle push_price", 45_000, "~30k"),
    # issue 21: a staged dividend, and the push that applies it, within 2k of a push
    Target("oracle push_price (dividend staged)", 47_000, "-"),
    Target("oracle push_price (applies a dividend)", 47_000, "-"),
    Target("vault deposit", 60_000, "44k", 49_536),
    Target("vault mint", 75_000, "47k", 73_432),
    Target("vault burn", 60_000, "42k", 58_132),
    Target("vault withdraw", 70_000, "47k", 60_334),
    Target("vault liquidate", 100_000, "62k", 98_465),
    # issue 19: "+25k over today's" for an action in the sorted list; open (collateral and a
    # mint in one call) cost 91,298 before the list (2699110, the same steady re-open)
    Target("vault open (sorted list, hints)", 116_298, "-"),
    Target("vault redeem (1 position)", 130_000, "-"),
    Target("vault redeem (each further)", 35_000, "-"),
    Target("sp deposit", 90_000, "-"),
    Target("sp withdraw", 90_000, "-"),
    Target("sp claim", 90_000, "-"),
    Target("sp liquidate (through the pool)", 140_000, "-"),
    Target("perp deposit margin", 60_000, "44k"),
    Target("perp commit order", 75_000, "~65k"),
    Target("perp execute (open)", 140_000, "~87k"),
    Target("perp execute (modify)", 140_000, "-"),
    Target("perp execute (close)", 140_000, "-"),
    Target("perp liquidate", 110_000, "58k"),
    Target("order place", 80_000, "-"),
    Target(
        "order execute (limit/stop opens)",
        150_000,
        "-",
        ceiling=156_000,
        why="the market's fill, +1 call and the order's 2 words",
    ),
    Target(
        "order execute (tp/sl closes)",
        140_000,
        "-",
        ceiling=148_000,
        why="the market's fill, +1 call and the order's 2 words",
    ),
    Target(
        "order cancel", 40_000, "-", ceiling=58_200, why="the fee back to margin: a market call"
    ),
]


def bench_oracle(
    actors: Actors, project: Any, chain: Any, samples: int = 20
) -> dict[str, list[int]]:
    """push_price in steady state (every round rewrites a warm ring slot)."""
    admin, reporter = actors.admin, actors.reporter
    oracle = project.EquityOracle.deploy(admin, 8, "TSLA / USD", 2_500, sender=admin)
    oracle.grantRole(oracle.REPORTER_ROLE(), reporter, sender=admin)
    gas = []
    price = 250 * 10**8
    t = chain.pending_timestamp
    for i in range(samples):
        t += 12  # one push per block
        chain.pending_timestamp = t
        price += (-1) ** i * 10**7
        receipt = oracle.push_price(price, t, MarketStatus.OPEN, sender=reporter)
        gas.append(receipt.gas_used)
    staged, applies = [], []
    for _ in range(max(samples // 4, 2)):
        # a quarterly-sized dividend, staged by the admin for a few blocks ahead
        oracle.stage_dividend(price // 200, t + 36, sender=admin)
        for status in (MarketStatus.OPEN, MarketStatus.CLOSED):
            t += 12
            chain.pending_timestamp = t
            staged.append(oracle.push_price(price, t, status, sender=reporter).gas_used)
        t += 12
        chain.pending_timestamp = t
        price -= price // 200
        applies.append(oracle.push_price(price, t, MarketStatus.OPEN, sender=reporter).gas_used)
    return {
        "oracle push_price": gas,
        "oracle push_price (dividend staged)": staged,
        "oracle push_price (applies a dividend)": applies,
    }


def fresh_market(actors: Actors, project: Any, chain: Any) -> tuple[Any, Any, Any, Any]:
    """A 6-decimal mock USD, a TSLA oracle, the insurance fund and factory, and `price(usd)`,
    which pushes an OPEN price in the next block, 12 s after the previous one."""
    from synthequity.deploy import deploy_core

    admin, reporter = actors.admin, actors.reporter
    usdc = project.MockStablecoin.deploy("Mock USD", "mUSD", 6, sender=admin)
    oracle = project.EquityOracle.deploy(admin, 8, "TSLA / USD", 2_500, sender=admin)
    oracle.grantRole(oracle.REPORTER_ROLE(), reporter, sender=admin)
    core = deploy_core(admin, usdc)
    t = chain.pending_timestamp

    def price(p: float) -> None:
        nonlocal t
        t += 12
        chain.pending_timestamp = t
        oracle.push_price(int(p * 10**8), t, MarketStatus.OPEN, sender=reporter)

    return usdc, oracle, core, price


def bench_vault(actors: Actors, project: Any, chain: Any, samples: int = 5) -> dict[str, list[int]]:
    """Vault operations on a warm position (the borrower already has collateral, debt and a
    synth balance; the first-ever deposit or mint of an account also pays for new storage)."""
    from synthequity.deploy import deploy_vault

    admin, borrower, liq = actors.admin, actors.borrower, actors.liquidator
    usdc, oracle, core, price = fresh_market(actors, project, chain)
    vault = deploy_vault(admin, core, usdc, oracle, "sTSLA", "Synthetic Tesla")

    for who in (borrower, liq):
        usdc.faucet(who, 10**14, sender=who)
        usdc.approve(vault, 2**256 - 1, sender=who)
    price(200)
    vault.open(10_000 * 10**6, 10 * 10**18, sender=borrower)
    vault.open(10**13, 4_000 * 10**18, sender=liq)
    out: dict[str, list[int]] = {k: [] for k in ("deposit", "mint", "burn", "withdraw")}
    for _ in range(samples):
        price(200)
        out["deposit"].append(vault.deposit(100 * 10**6, sender=borrower).gas_used)
        out["mint"].append(vault.mint(10**17, sender=borrower).gas_used)
        out["burn"].append(vault.burn(10**17, sender=borrower).gas_used)
        out["withdraw"].append(vault.withdraw(100 * 10**6, sender=borrower).gas_used)
    liquidations = []
    victim = actors.victim
    usdc.faucet(victim, 10**12, sender=victim)
    usdc.approve(vault, 2**256 - 1, sender=victim)
    price(200)
    vault.open(160_000 * 10**6, 500 * 10**18, sender=victim)  # 160%
    for _ in range(samples):
        price(240)
        price(262)  # 122% (then 114%): a partial liquidation back to 150%
        liquidations.append(vault.liquidate(victim, 10**24, sender=liq).gas_used)
        price(240)
        price(200)
        vault.deposit(100_000 * 10**6, sender=victim)
        vault.mint(vault.max_mintable(victim) - 10**12, sender=victim)  # back to ~150% at $200
    return {
        "vault deposit": out["deposit"],
        "vault mint": out["mint"],
        "vault burn": out["burn"],
        "vault withdraw": out["withdraw"],
        "vault liquidate": liquidations,
    }


def bench_perp(actors: Actors, project: Any, chain: Any, samples: int = 5) -> dict[str, list[int]]:
    """Perp operations on warm storage in a market in operation: another trader holds a
    position throughout (so the aggregates are never all zero, as in any live market: an empty
    market's first open pays ~2 x 17k more to create them), orders carry a 1% slippage bound;
    margin deposits, commits, executions that open, modify and close, partial liquidations."""
    from synthequity.deploy import deploy_perp

    admin, trader, keeper = actors.admin, actors.borrower, actors.liquidator
    victim = actors.victim
    usdc, oracle, core, price = fresh_market(actors, project, chain)
    pool, market = deploy_perp(admin, core, usdc, oracle, "TSLA")

    for who in (admin, trader, victim, keeper):
        usdc.faucet(who, 10**14, sender=who)
        usdc.approve(pool, 2**256 - 1, sender=who)
        usdc.approve(market, 2**256 - 1, sender=who)
    price(200)
    pool.deposit(10**13, admin, sender=admin)  # $10M of liquidity
    out: dict[str, list[int]] = {
        k: []
        for k in (
            "perp deposit margin",
            "perp commit order",
            "perp execute (open)",
            "perp execute (modify)",
            "perp execute (close)",
            "perp liquidate",
        )
    }

    def fill(who: Any, size: int, key: str, at: int = 200) -> None:
        bound = at * 101 // 100 if size > 0 else at * 99 // 100
        out["perp commit order"].append(
            market.commit_order(size, bound * 10**18, sender=who).gas_used
        )
        price(at)
        out[key].append(market.execute_order(who, sender=keeper).gas_used)

    market.deposit_margin(10**10, sender=admin)
    fill(admin, -3 * 10**18, "perp execute (open)")  # the background position
    out["perp execute (open)"].clear()
    market.deposit_margin(10**9, sender=trader)
    fill(trader, 10**18, "perp execute (open)")
    fill(trader, -(10**18), "perp execute (close)")  # warm the account's storage once
    for _ in range(samples):
        out["perp deposit margin"].append(market.deposit_margin(10**8, sender=trader).gas_used)
        fill(trader, 10 * 10**18, "perp execute (open)")
        fill(trader, 5 * 10**18, "perp execute (modify)")
        fill(trader, -15 * 10**18, "perp execute (close)")
    market.deposit_margin(42 * 10**8, sender=victim)
    for _ in range(samples):  # ~4.5x long; the price falls 15%: a partial liquidation
        price(200)
        size = (market.equity(victim) * 45 // 2_000) // 10**16 * 10**16
        fill(victim, size, "perp execute (open)")
        price(185)
        price(170)
        if market.is_liquidatable(victim):
            out["perp liquidate"].append(market.liquidate(victim, sender=keeper).gas_used)
        price(185)
        price(200)
        pos = market.position(victim)
        if pos.size:
            fill(victim, -pos.size, "perp execute (close)")
        market.deposit_margin(42 * 10**8, sender=victim)
    return out


def bench_redeem_pool(
    actors: Actors, project: Any, chain: Any, samples: int = 3
) -> dict[str, list[int]]:
    """Redemptions over the sorted list (hints from the model, as the CLI computes them) and
    the stability pool: four positions at 160% .. 190% re-opened each round, redeemed one
    (in part), then three at a time (the third in part); pool deposits, withdrawals, claims
    and liquidations through it."""
    from ape import accounts

    from synthequity.deploy import deploy_stability_pool, deploy_vault
    from synthequity.model.vault import (
        ZERO,
        ListEntry,
        VaultParams,
        insert_hint,
        plan_redemption,
        prev_hint,
        sort_key,
    )
    from synthequity.user.sorted_list import sorted_entries

    admin, reporter, liq, victim = actors.admin, actors.reporter, actors.liquidator, actors.victim
    usdc, oracle, core, _ = fresh_market(actors, project, chain)
    vault = deploy_vault(admin, core, usdc, oracle, "sTSLA", "Synthetic Tesla")
    sp = deploy_stability_pool(admin, vault)
    synth = project.SynthToken.at(vault.SYNTH())
    holders = [accounts.test_accounts[i] for i in (2, 3, 4)] + [actors.borrower]
    for who in (*holders, liq, victim):
        usdc.faucet(who, 10**14, sender=who)
        usdc.approve(vault, 2**256 - 1, sender=who)
        synth.approve(sp, 2**256 - 1, sender=who)

    def price(p: float, dt: int = 12) -> int:
        t = chain.blocks.head.timestamp + dt
        chain.pending_timestamp = t
        oracle.push_price(int(p * 10**8), t, MarketStatus.OPEN, sender=reporter)
        return int(p * 10**18)

    def listing() -> list[ListEntry]:
        return sorted_entries(vault)

    out: dict[str, list[int]] = {
        k: []
        for k in (
            "vault open (sorted list, hints)",
            "vault redeem (1 position)",
            "vault redeem (each further)",
            "sp deposit",
            "sp withdraw",
            "sp claim",
            "sp liquidate (through the pool)",
        )
    }
    p = price(200)
    vault.open(10**13, 4_000 * 10**18, sender=liq)
    for _ in range(samples):
        for i, who in enumerate(holders):
            coll, debt = vault.position(who)
            # 160% .. 190% at $200 once 10 more sTSLA are minted (a partial redemption
            # leaves some debt from the round before)
            add = max((debt + 10 * 10**18) * 200 * (16 + i) // 10 // 10**12 - coll, 0)
            rate = vault.rate_index()
            key = sort_key(coll + add, debt + 10 * 10**18, rate, 10**12)
            e = listing()
            r = vault.open(
                add, 10 * 10**18, prev_hint(e, who), insert_hint(e, key, who), sender=who
            )
            out["vault open (sorted list, hints)"].append(r.gas_used)
        p = price(200)
        gas = []
        for n in (1, 3):
            e = listing()
            # the last position taken only in part (9/10 of its debt): the fee accrues by the
            # second, so "all of it" read at the head is a little less than all of it when
            # the call lands, a partial redemption or not as the clock happens to fall (CI
            # measured one over target that way); a part is a part on any machine
            amount = sum(x.debt for x in e[: n - 1]) + e[n - 1].debt * 9 // 10
            plan = plan_redemption(e, amount, p, VaultParams(), 10**12, vault.rate_index())
            # a 12 s block, as on mainnet: the positions' fees accrue and are minted (anvil
            # stamps fast blocks with the same second, which a slow machine never does)
            chain.pending_timestamp = chain.blocks.head.timestamp + 12
            gas.append(
                vault.redeem(
                    amount, 10_000, plan.first_hint, plan.partial_hint, sender=liq
                ).gas_used
            )
        out["vault redeem (1 position)"].append(gas[0])
        out["vault redeem (each further)"].append((gas[1] - gas[0]) // 2)
    sp.deposit(1_000 * 10**18, sender=liq)
    for _ in range(samples):
        p = price(200)
        out["sp deposit"].append(sp.deposit(10**18, sender=liq).gas_used)
        out["sp withdraw"].append(sp.withdraw(10**17, sender=liq).gas_used)
    price(200, dt=2 * 3_600)  # the deposits join
    for _ in range(samples):
        price(200)
        vault.open(160_000 * 10**6, 500 * 10**18, sender=victim)  # 160%
        price(240)
        price(262)  # 122%: through the pool
        e = listing()
        r = sp.liquidate(victim, prev_hint(e, victim), ZERO, sender=liq)
        out["sp liquidate (through the pool)"].append(r.gas_used)
        out["sp claim"].append(sp.claim(sender=liq).gas_used)
        price(240)
        price(200)
        coll, debt = vault.position(victim)
        if debt:
            synth.transfer(victim, debt, sender=liq)
            vault.close(prev_hint(listing(), victim), sender=victim)
    return out


def bench_orders(
    actors: Actors, project: Any, chain: Any, samples: int = 5
) -> dict[str, list[int]]:
    """Conditional orders (`PerpOrders`) on warm storage in a market in operation (another
    trader holds a position throughout): a slot re-used (its words stay non-zero after a fill
    or a cancel, as the market's order words do), a limit buy executed on the next price that
    crosses, a stop-loss that closes the position, a placed order cancelled by its owner."""
    from synthequity.deploy import deploy_perp, deploy_perp_orders

    admin, trader, keeper = actors.admin, actors.borrower, actors.liquidator
    usdc, oracle, core, price = fresh_market(actors, project, chain)
    pool, market = deploy_perp(admin, core, usdc, oracle, "TSLA")
    orders = deploy_perp_orders(admin, market)
    for who in (admin, trader):
        usdc.faucet(who, 10**14, sender=who)
        usdc.approve(pool, 2**256 - 1, sender=who)
        usdc.approve(market, 2**256 - 1, sender=who)
    price(200)
    pool.deposit(10**13, admin, sender=admin)
    market.deposit_margin(10**10, sender=admin)
    market.commit_order(-3 * 10**18, 198 * 10**18, sender=admin)  # the background position
    price(200)
    market.execute_order(admin, sender=keeper)
    market.deposit_margin(10**10, sender=trader)
    wad, fee = 10**18, market.params()[2]
    keys = ("order place", "order execute (limit/stop opens)", "order execute (tp/sl closes)")
    out: dict[str, list[int]] = {k: [] for k in (*keys, "order cancel")}

    def place(kind: int, size: int, trigger: int, acceptable: int) -> int:
        expiry = chain.pending_timestamp + 86_400
        return int(
            orders.place(
                0, kind, size, trigger * wad, acceptable, expiry, fee, sender=trader
            ).gas_used
        )

    for i in range(samples + 1):  # the first round creates the slot's words: not steady
        gas = [place(1, 10 * wad, 199, 202 * wad)]  # a limit buy at $199
        price(198.5)
        gas.append(orders.execute(trader, 0, oracle.latestRound(), sender=keeper).gas_used)
        gas.append(place(4, -(2**127 - 1), 190, 0))  # a stop-loss of the whole position
        price(189.5)
        gas.append(orders.execute(trader, 0, oracle.latestRound(), sender=keeper).gas_used)
        cancel = place(2, wad, 250, 2**256 - 1)
        gas.append(orders.cancel(trader, 0, sender=trader).gas_used)
        price(200)
        if i:
            out["order place"] += [gas[0], gas[2], cancel]
            out["order execute (limit/stop opens)"].append(gas[1])
            out["order execute (tp/sl closes)"].append(gas[3])
            out["order cancel"].append(gas[4])
    return out


BENCHES: list[Callable[..., dict[str, list[int]]]] = [
    bench_oracle,
    bench_vault,
    bench_redeem_pool,
    bench_perp,
    bench_orders,
]


def run(actors: Actors, project: Any, chain: Any) -> tuple[Table, list[str]]:
    measured: dict[str, list[int]] = {}
    for bench in BENCHES:
        measured.update(bench(actors, project, chain))
    table = Table(
        title="receipt gas (21k base included) vs docs/spec.md §10",
        caption="steady = median over repeated calls on warm storage (the verdict); worst = "
        "the costliest sample, which includes one-time storage creation (e.g. the insurance "
        "fund's first fee); a vault action on a listed position may cost up to 25k more than "
        "before the sorted list (issue 19), shown beside its §10 verdict",
    )
    for col in ("operation", "steady", "worst", "target", "floor", "verdict"):
        table.add_column(col, justify="left" if col in ("operation", "verdict") else "right")
    over = []
    for t in TARGETS:
        gas = measured.get(t.operation)
        if not gas:
            table.add_row(t.operation, "-", "-", f"{t.target:,}", t.floor, "[dim]not built yet[/]")
            continue
        steady = int(statistics.median(gas))
        ok = steady <= t.target
        listed = t.before_list and steady <= t.before_list + LIST_ALLOWANCE
        verdict = "[green]within[/]" if ok else "[red]above[/]"
        if not ok and listed:  # above §10 by what the sorted list costs, which issue 19 allows
            verdict = f"[yellow]above: +{(steady - t.before_list) / 1000:.1f}k for the list[/]"
        elif not ok and steady <= t.ceiling:  # above by design, said in the verdict
            verdict = f"[yellow]above: +{(steady - t.target) / 1000:.1f}k, {t.why}[/]"
        elif not ok:
            over.append(t.operation)
        table.add_row(
            t.operation, f"{steady:,}", f"{max(gas):,}", f"{t.target:,}", t.floor, verdict
        )
    return table, over
