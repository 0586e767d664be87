"""The market-replay simulation: real TSLA prices replayed on a local chain by the real oracle
keeper (several prints per NYSE session, nights, weekends and holidays CLOSED), seeded agents
(`sim.agents`) trading against the deployed contracts, the real order and liquidation keepers
doing their jobs, and at the end a reconciliation of every collateral token unit.

The chain's clock must start at (or before) the window: `make demo` starts anvil with
`--timestamp`; the replay moves it forward (`ApeFeedIO.warp_to`)."""

from __future__ import annotations

import dataclasses
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthequity.constants import MarketStatus
from synthequity.contracts import flat, read_many
from synthequity.deployments import MarketContracts
from synthequity.keepers.common import StopFlag
from synthequity.keepers.jobs import AccountIndex
from synthequity.keepers.oracle.runner import ApeFeedIO, OracleKeeper, replay_schedule
from synthequity.keepers.oracle.sources import CsvReplaySource
from synthequity.keepers.perp.runner import ApeMarketIO, PerpKeeper
from synthequity.keepers.shell import KeeperConfig
from synthequity.keepers.vault.runner import ApeVaultIO, VaultKeeper
from synthequity.market_hours import nyse, to_ts, utc
from synthequity.model import perp as pm
from synthequity.sim import agents as ag

WAD = 10**18
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
HEARTBEAT_S = 60  # the oracle keeper's heartbeat while OPEN: the print that fills orders


@dataclass(frozen=True)
class SimConfig:
    start: str = "2022-09-01"
    end: str = "2022-12-31"
    agents: int = 24
    seed: int = 1
    step_s: int = 7_200  # prints at 09:30, 11:30, 13:30, 15:30 and the close
    csv: str = "data/tsla_daily.csv"
    symbol: str = "TSLA"
    gap_mmr_bps: int | None = None  # the policy: maintenance margin while CLOSED (None: default)


@dataclass
class Sample:
    t: int
    price: float
    status: str
    funding_rate_day: float  # fraction per day
    oi_long_usd: float
    oi_short_usd: float
    pool_nav_usd: float
    insurance_usd: float
    mmr_bps: int


@dataclass
class Liquidation:
    t: int
    book: str  # perp | vault
    account: str
    bad_debt_usd: float  # perp: shortfall; vault: bad debt at the price, in USD


@dataclass
class Check:
    what: str
    expected: int
    actual: int
    unit: str
    exact: bool = True  # else: actual >= expected (the slack is reported)

    @property
    def ok(self) -> bool:
        return self.actual == self.expected if self.exact else self.actual >= self.expected


@dataclass
class SimResult:
    config: SimConfig
    policy: str
    samples: list[Sample] = field(default_factory=list)
    liquidations: list[Liquidation] = field(default_factory=list)
    vault_crs: list[float] = field(default_factory=list)  # percent, borrowers with debt
    checks: list[Check] = field(default_factory=list)
    flows: list[tuple[str, int]] = field(default_factory=list)  # (flow, token units)
    counters: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    decimals: int = 6

    @property
    def balanced(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def bad_debt_usd(self) -> float:
        return sum(x.bad_debt_usd for x in self.liquidations)

    def headline(self) -> dict[str, str]:
        s0, s1 = self.samples[0], self.samples[-1]
        funded = next((s for s in self.samples if s.pool_nav_usd > 0), s0)  # after LPs came
        perp = sum(1 for x in self.liquidations if x.book == "perp")
        vault = sum(1 for x in self.liquidations if x.book == "vault")
        return {
            "window": f"{self.config.start} .. {self.config.end}",
            "policy": self.policy,
            "TSLA": f"${s0.price:,.2f} -> ${s1.price:,.2f} ({s1.price / s0.price - 1:+.1%})",
            "oracle pushes": f"{self.counters['oracle pushes']:,}",
            "orders filled / cancelled": (
                f"{self.counters['orders filled']:,} / {self.counters['orders cancelled']:,}"
            ),
            "liquidations perp / vault": f"{perp:,} / {vault:,}",
            "bad debt": f"${self.bad_debt_usd:,.2f}",
            "pool NAV": f"${funded.pool_nav_usd:,.0f} -> ${s1.pool_nav_usd:,.0f}",
            "insurance fund": f"${s0.insurance_usd:,.0f} -> ${s1.insurance_usd:,.0f}",
            "reconciliation": "balanced to the wei" if self.balanced else "DOES NOT BALANCE",
            "wall time": f"{self.wall_s:.0f} s",
        }


@dataclass
class Stack:
    """The deployed contracts of one equity and the accounts that run it."""

    collateral: Any
    oracle: Any
    vault: Any
    synth: Any
    market: Any
    pool: Any
    insurance: Any
    admin: Any
    reporter: Any
    keeper: Any
    start_block: int

    usd_per_unit: int = 10**12  # wad USD per collateral token unit (set by load_stack)


def load_stack(network: Any, symbol: str, admin: Any, reporter: Any, keeper: Any) -> Stack:
    """The deployment record's contracts for `symbol` (`ape run deploy` first: nothing is
    deployed here; LookupError when the record lacks them)."""
    contracts = MarketContracts.load(network, symbol)
    collateral = contracts.need("collateral")
    return Stack(
        collateral=collateral,
        oracle=contracts.oracle,
        vault=contracts.need("vault"),
        synth=contracts.need("synth"),
        market=contracts.need("perp"),
        pool=contracts.need("pool"),
        insurance=contracts.need("insurance"),
        admin=admin,
        reporter=reporter,
        keeper=keeper,
        start_block=min(contracts.block("vault") or 0, contracts.block("perp") or 0),
        usd_per_unit=10 ** (18 - int(collateral.decimals())),
    )


class Simulation:
    """One run over one window and one policy, on a chain prepared by `prepare`."""

    def __init__(
        self,
        stack: Stack,
        accounts: dict[str, Any],
        agents: list[ag.Agent],
        cfg: SimConfig,
        on_tick: Callable[[int, int, str], None] | None = None,
    ):
        self.s, self.accounts, self.agents, self.cfg = stack, accounts, agents, cfg
        self.rng = random.Random(cfg.seed)
        self.on_tick = on_tick
        self.result = SimResult(
            cfg,
            "default"
            if cfg.gap_mmr_bps is None
            else f"maintenance margin {cfg.gap_mmr_bps / 100:g}% while CLOSED",
            decimals=stack.collateral.decimals(),
        )
        self.calendar = nyse()
        stop = StopFlag()
        self.oracle = OracleKeeper(
            io=ApeFeedIO(stack.oracle, stack.reporter),
            source=CsvReplaySource(cfg.csv, self.calendar),
            warp=True,
            stop=stop,
        )
        self.perp_keeper = PerpKeeper(
            io=ApeMarketIO(stack.market, stack.keeper, native_usd=0),
            index=AccountIndex(stack.start_block),
            config=KeeperConfig(orders=True, liquidations=True),
            stop=stop,
        )
        self.vault_keeper = VaultKeeper(
            io=ApeVaultIO(stack.vault, stack.keeper, native_usd=0),
            index=AccountIndex(stack.start_block),
            config=KeeperConfig(orders=False),
            stop=stop,
        )
        self.default_params = stack.market.params()
        self.first_block = 0
        self.inventory_minted = bool(stack.vault.position(stack.keeper)[1])
        if cfg.gap_mmr_bps is not None:  # the policy is the risk admin's to run
            role = stack.market.RISK_ADMIN_ROLE()
            if not stack.market.hasRole(role, stack.admin):
                stack.market.grantRole(role, stack.admin, sender=stack.admin)

    # ---- the run ----------------------------------------------------------------------------
    def run(self) -> SimResult:
        from ape import chain

        t0 = time.perf_counter()
        start, end = to_ts(self.cfg.start), to_ts(self.cfg.end) + 86_400
        head = chain.blocks.head.timestamp
        if head > start + 60:
            raise SystemExit(
                f"the chain's clock ({utc(head):%Y-%m-%d %H:%M}) is past the window's start "
                f"({self.cfg.start}); start anvil with --timestamp {start} (`make demo` does)"
            )
        self.first_block = chain.blocks.head.number + 1
        ticks = list(replay_schedule(self.calendar, start, end, self.cfg.step_s))
        closes = set(self.calendar.closes)
        for i, t in enumerate(ticks):
            last_open = i + 1 < len(ticks) and ticks[i + 1] in closes and t not in closes
            self._tick(t, last_open)
            if self.on_tick:
                sample = self.result.samples[-1]
                self.on_tick(i + 1, len(ticks), f"{utc(t):%Y-%m-%d} ${sample.price:,.2f}")
        self._finish()
        self.result.wall_s = time.perf_counter() - t0
        return self.result

    def _tick(self, t: int, last_open: bool) -> None:
        s = self.s
        pushed = len(self.oracle.pushes)
        self.oracle.tick(t)
        self.result.counters["oracle pushes"] += len(self.oracle.pushes) - pushed
        is_open = s.oracle.reported_status() == MarketStatus.OPEN and s.oracle.latestRound() > 0
        if is_open:
            if self.cfg.gap_mmr_bps is not None:
                self._set_mmr(self.cfg.gap_mmr_bps if last_open else None)
            if not self.inventory_minted:
                self._keeper_inventory()
                self.inventory_minted = True
            self._keepers()
            if self._agents_act():
                self.oracle.tick(t + HEARTBEAT_S)  # the next print: orders fill on it
                self.result.counters["oracle pushes"] += 1
                self._keepers()
        self._sample(t)

    def _keepers(self) -> None:
        for k in (self.perp_keeper, self.vault_keeper):
            k.tick()

    def _set_mmr(self, mmr_bps: int | None) -> None:
        """The policy: the risk admin raises the maintenance margin on the day's last OPEN
        print (the keeper then liquidates whoever would not survive it while it still can) and
        puts the default back on the next open."""
        math_struct, *rest_fields = self.default_params
        math, rest = flat(math_struct), [int(x) for x in rest_fields]
        want = math if mmr_bps is None else (*math[:4], mmr_bps, *math[5:])
        if tuple(self.s.market.params()[0]) != tuple(want):
            self.s.market.set_params((want, *rest), sender=self.s.admin)
            self.result.counters["risk: margin changes"] += 1

    def _keeper_inventory(self) -> None:
        """The vault keeper's sTSLA: its own position at 400% CR, minted once a price exists
        (docs/runbooks/keepers.md: how an operator gets inventory)."""
        s, price = self.s, self.vault_keeper.io.price()
        put = s.collateral.balanceOf(s.keeper) // 2
        debt = put * s.usd_per_unit * WAD // (4 * price)
        s.vault.open(put, debt, sender=s.keeper)

    def _agents_act(self) -> bool:
        """Every agent, in a seeded order, does what its rule says on its views (read for all
        agents in one JSON-RPC batch). True when an order was committed (it needs the next
        print to fill)."""
        from ape.exceptions import ContractLogicError

        s, committed = self.s, False
        price = self.vault_keeper.io.price()
        views = self._views(price)
        order = list(self.agents)
        self.rng.shuffle(order)
        for a in order:
            who = self.accounts[a.name]
            action = self._decide(a, views[a.name])
            if action is None:
                continue
            contract = {"vault": s.vault, "perp": s.market, "pool": s.pool}[action.target]
            args = (*action.args, who.address) if action.target == "pool" else action.args
            try:
                getattr(contract, action.fn)(*args, sender=who)
            except ContractLogicError as exc:
                self.result.counters[f"agent reverts: {exc.revert_message}"] += 1
                continue
            self.result.counters[f"{a.kind.value} {action.fn}"] += 1
            committed |= action.fn == "commit_order"
        return committed

    def _views(self, price: int) -> dict[str, Any]:
        s, calls, shape = self.s, [], []
        for a in self.agents:
            who = self.accounts[a.name].address
            calls.append((s.collateral, "balanceOf", (who,)))
            if a.kind is ag.Kind.LP:
                calls.append((s.pool, "balanceOf", (who,)))
            elif a.kind is ag.Kind.BORROWER:
                calls += [(s.vault, "position", (who,)), (s.synth, "balanceOf", (who,))]
            else:
                calls += [(s.market, "position", (who,)), (s.market, "pending_order", (who,))]
            shape.append(a)
        rows = iter(read_many(calls))
        views: dict[str, Any] = {}
        upu = s.usd_per_unit
        for a in shape:
            cash = flat(next(rows))[0]
            if a.kind is ag.Kind.LP:
                views[a.name] = ag.LpView(cash, flat(next(rows))[0])
            elif a.kind is ag.Kind.BORROWER:
                held, debt = flat(next(rows))
                synth = flat(next(rows))[0]
                views[a.name] = ag.BorrowerView(price, cash, upu, held, debt, synth)
            else:
                pos = pm.Position(*flat(next(rows)))
                pending = flat(next(rows))[2] != 0
                views[a.name] = ag.TraderView(price, cash, upu, pos.margin, pos.size, pending)
        return views

    def _decide(self, a: ag.Agent, view: Any) -> ag.Action | None:
        if a.kind is ag.Kind.LP:
            return ag.lp_step(a, view)
        if a.kind is ag.Kind.BORROWER:
            return ag.borrower_step(a, view, self.rng)
        return ag.trader_step(a, view, self.rng)

    def _sample(self, t: int) -> None:
        """One row of the report's series, read in one JSON-RPC batch."""
        s = self.s
        round_data, oi, status, rate, nav, insurance, params = read_many(
            [
                (s.oracle, "latestRoundData", ()),
                (s.market, "open_interest", ()),
                (s.oracle, "reported_status", ()),
                (s.market, "funding_rate", ()),
                (s.pool, "totalAssets", ()),
                (s.collateral, "balanceOf", (s.insurance.address,)),
                (s.market, "params", ()),
            ]
        )
        price = round_data[1] / 10**8
        oi_long, oi_short = oi
        self.result.samples.append(
            Sample(
                t=t,
                price=price,
                status=MarketStatus(status[0]).name,
                funding_rate_day=rate[0] / WAD,
                oi_long_usd=oi_long / WAD * price,
                oi_short_usd=oi_short / WAD * price,
                pool_nav_usd=nav[0] * s.usd_per_unit / WAD,
                insurance_usd=insurance[0] * s.usd_per_unit / WAD,
                mmr_bps=int(params[0][0][4]),  # (struct) -> (math struct, ...) -> mmr
            )
        )

    # ---- the end: events, distribution, reconciliation ---------------------------------------
    def _finish(self) -> None:
        from ape import chain

        s, r = self.s, self.result
        head = chain.blocks.head.number
        times: dict[int, int] = {}

        def ts(block: int) -> int:
            if block not in times:
                times[block] = int(chain.blocks[block].timestamp)
            return times[block]

        for lg in s.market.PositionLiquidated.range(self.first_block, head + 1):
            r.liquidations.append(
                Liquidation(ts(lg.block_number), "perp", str(lg.account), lg.shortfall / WAD)
            )
        bad = {
            (lg.block_number, str(lg.account)): lg
            for lg in s.vault.BadDebt.range(self.first_block, head + 1)
        }
        for lg in s.vault.Liquidate.range(self.first_block, head + 1):
            b = bad.get((lg.block_number, str(lg.account)))
            usd = b.uncovered_usd / WAD if b else 0.0
            r.liquidations.append(Liquidation(ts(lg.block_number), "vault", str(lg.account), usd))
        r.counters["orders filled"] = len(
            list(s.market.OrderFilled.range(self.first_block, head + 1))
        )
        r.counters["orders cancelled"] = len(
            list(s.market.OrderCancelled.range(self.first_block, head + 1))
        )
        for a in self.agents:
            if a.kind is ag.Kind.BORROWER:
                who = self.accounts[a.name]
                if s.vault.position(who)[1]:
                    r.vault_crs.append(s.vault.collateral_ratio(who) / 1e16)
        r.counters["keeper jobs"] = (
            self.perp_keeper.metrics["jobs succeeded"] + self.vault_keeper.metrics["jobs succeeded"]
        )
        r.counters["keeper races"] = (
            self.perp_keeper.metrics["raced"] + self.vault_keeper.metrics["raced"]
        )
        r.checks, r.flows = reconcile(s, self.accounts, self.first_block)


def reconcile(
    s: Stack, accounts: dict[str, Any], first_block: int
) -> tuple[list[Check], list[tuple[str, int]]]:
    """Every unit of the collateral token accounted for, from an independent source (the
    token's own Transfer logs since genesis) against balances and the contracts' books:

    - each holder's balance == Σ received - Σ sent in its Transfer logs, to the wei;
    - Σ of every holder's balance == totalSupply == Σ minted - Σ burned, to the wei;
    - the vault holds exactly Σ its positions' collateral + its system collateral;
    - the market holds at least Σ its traders' margins (the rest: escrowed keeper fees and
      rounding dust, reported);
    - the pool's NAV == its balance + the market's pool PnL (floored at 0).
    And the run's flows between agents, keepers and contracts, from the same logs."""
    from ape import chain

    token = s.collateral
    logs = chain.provider.web3.eth.get_logs(
        {
            "address": token.address,
            "fromBlock": 0,
            "toBlock": chain.blocks.head.number,
            "topics": [TRANSFER_TOPIC],
        }
    )
    ledger: Counter[str] = Counter()
    minted = burned = 0
    flows: Counter[str] = Counter()
    names = {
        s.vault.address: "vault",
        s.market.address: "market",
        s.pool.address: "pool",
        s.insurance.address: "insurance fund",
        s.keeper.address: "keeper",
    }
    roles = {acct.address: name.rstrip("0123456789") + "s" for name, acct in accounts.items()}
    zero = "0x" + "0" * 40
    for lg in logs:
        src = _addr(lg["topics"][1])
        dst = _addr(lg["topics"][2])
        value = int.from_bytes(bytes(lg["data"]), "big")
        if src == zero:
            minted += value
        else:
            ledger[src] -= value
        if dst == zero:
            burned += value
        else:
            ledger[dst] += value
        if lg["blockNumber"] >= first_block:
            a = names.get(src) or roles.get(src) or ("faucet" if src == zero else "others")
            b = names.get(dst) or roles.get(dst) or ("burned" if dst == zero else "others")
            flows[f"{a} -> {b}"] += value
    checks: list[Check] = []
    bad_holders = [h for h, v in ledger.items() if token.balanceOf(h) != v]
    checks.append(
        Check(
            f"holders whose balance differs from their Transfer logs (of {len(ledger)})",
            0,
            len(bad_holders),
            "holders",
        )
    )
    held = sum(token.balanceOf(h) for h in ledger)
    checks.append(Check("Σ holder balances == totalSupply", token.totalSupply(), held, "units"))
    checks.append(
        Check("totalSupply == minted - burned", minted - burned, token.totalSupply(), "units")
    )
    depositors = _indexed_accounts(s.vault, s.vault.Deposit)
    owed = sum(s.vault.position(d)[0] for d in depositors) + s.vault.system_collateral()
    checks.append(
        Check(
            "vault balance == Σ collateral + system collateral",
            owed,
            token.balanceOf(s.vault),
            "units",
        )
    )
    traders = _indexed_accounts(s.market, s.market.MarginDeposited)
    upu = s.usd_per_unit
    margins = sum(max(flat(s.market.position(t))[2], 0) for t in traders) // upu
    checks.append(
        Check(
            "market balance >= Σ margins", margins, token.balanceOf(s.market), "units", exact=False
        )
    )
    nav = max(token.balanceOf(s.pool) + s.market.pool_pnl(), 0)  # token units
    checks.append(Check("pool NAV == balance + pool PnL", nav, s.pool.totalAssets(), "units"))
    return checks, sorted(flows.items(), key=lambda kv: -kv[1])


def _indexed_accounts(contract: Any, event: Any) -> set[str]:
    """Every address in the first indexed argument of `event` since genesis (raw logs: fast)."""
    from ape import chain

    logs = chain.provider.web3.eth.get_logs(
        {
            "address": contract.address,
            "fromBlock": 0,
            "toBlock": chain.blocks.head.number,
            "topics": [_topic(event)],
        }
    )
    return {_addr(lg["topics"][1]) for lg in logs}


def _topic(event: Any) -> str:
    from eth_utils import keccak

    return "0x" + keccak(text=event.abi.selector).hex()


def _addr(topic: Any) -> str:
    from eth_utils import to_checksum_address

    raw = bytes(topic) if not isinstance(topic, str) else bytes.fromhex(topic.removeprefix("0x"))
    return to_checksum_address(raw[-20:])


def prepare(stack: Stack, agents: list[ag.Agent]) -> dict[str, Any]:
    """One funded account per agent (fresh keys, ether set on the local node), its cash in the
    collateral token, and its approvals; the keeper's collateral for its inventory."""
    from ape import accounts as ape_accounts

    s, out = stack, {}
    unit = 10 ** s.collateral.decimals()
    for a in agents:
        acct = ape_accounts.test_accounts.generate_test_account()
        acct.balance = 100 * WAD  # gas on the local node
        s.collateral.faucet(acct, a.cash_usd * unit, sender=s.admin)
        spender = {ag.Kind.LP: s.pool, ag.Kind.BORROWER: s.vault, ag.Kind.TRADER: s.market}[a.kind]
        s.collateral.approve(spender, 2**256 - 1, sender=acct)
        out[a.name] = acct
    s.collateral.faucet(s.keeper, 400_000 * unit, sender=s.admin)
    s.collateral.approve(s.vault, 2**256 - 1, sender=s.keeper)
    return out


def replace_policy(cfg: SimConfig, gap_mmr_bps: int | None) -> SimConfig:
    return dataclasses.replace(cfg, gap_mmr_bps=gap_mmr_bps)


def default_output(root: Path, cfg: SimConfig) -> Path:
    return root / f"{cfg.start}_{cfg.end}_seed{cfg.seed}_{cfg.agents}agents"
