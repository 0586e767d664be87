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
from fractions import Fraction
from pathlib import Path
from typing import Any

from synthequity.constants import DEFAULT_INSURANCE_SEED_USD, MarketStatus
from synthequity.contracts import flat, read_many, unwrap
from synthequity.corporate_actions import Dividend, parse_dividends
from synthequity.deployments import MarketContracts
from synthequity.keepers.common import StopFlag
from synthequity.keepers.jobs import AccountIndex
from synthequity.keepers.oracle.logic import FeedState, to_feed_units
from synthequity.keepers.oracle.runner import ApeFeedIO, OracleKeeper, replay_schedule
from synthequity.keepers.oracle.sources import CsvReplaySource, load_daily_bars
from synthequity.keepers.perp.runner import PerpKeeper
from synthequity.keepers.shell import KeeperConfig
from synthequity.keepers.vault.logic import inventory_shortfall
from synthequity.keepers.vault.runner import VaultKeeper
from synthequity.market_hours import nyse, to_ts, utc
from synthequity.model import orders as om
from synthequity.model import perp as pm
from synthequity.model import replay as rp
from synthequity.model import vault as vm
from synthequity.model.oracle import dividend_per_base_share_wad
from synthequity.model.vault import ZERO as ZERO_ADDRESS
from synthequity.sim import agents as ag
from synthequity.sim import scenarios as sc
from synthequity.sim.chain import ApeChain, SimChain

OPEN = int(MarketStatus.OPEN)

WAD = 10**18
DESK_SPREAD_BPS = 30  # what the keeper pays over the oracle price for sTSLA (a DEX fee)
KEEPER_INVENTORY_UNITS_USD = 200_000  # the vault keeper's collateral for its own sTSLA
HEARTBEAT_S = 60  # the oracle keeper's heartbeat while OPEN: the print that fills orders
SUSPECT_STEP_S = 300  # daily bars: the keeper's reads while the feed is HALTED (suspect)
VAULT_KINDS = (ag.Kind.BORROWER, ag.Kind.SAVER, ag.Kind.REDEEMER)  # agents with a vault position


@dataclass(frozen=True)
class SimConfig:
    start: str = "2022-09-01"
    end: str = "2022-12-31"
    agents: int = 24
    seed: int = 1
    step_s: int = 7_200  # prints at 09:30, 11:30, 13:30, 15:30 and the close
    csv: str = "data/tsla_daily.csv"
    symbol: str = ""  # the replayed equity's name; "" = from the file (`replayed_symbol`)
    gap_mmr_bps: int | None = None  # the policy: maintenance margin while CLOSED (None: default)
    # a synthetic scenario (data/scenarios/NAME.json): its prints replace `csv` and the window
    scenario: str = ""
    confirm: bool = False  # a second reporter replays the scenario's confirming source
    agent_every_s: int = 0  # agents act at most this often (0: every OPEN tick)
    exposed: int = 0  # eager 5x traders on top of `agents` (sim.agents.make_agents)
    # the insurance fund's balance at the start (topped up to it): the deployment's default seed
    insurance_usd: int = DEFAULT_INSURANCE_SEED_USD
    savers: int = 0  # borrowers who keep their synth in the stability pool (sim.agents)
    redeemers: int = 0  # peg arbitrageurs who redeem when the synth trades under (sim.agents)
    mix: ag.Mix = field(default_factory=ag.Mix)  # extra agent styles (sim.agents.Mix)
    # where the vault keeper's sTSLA comes from: "buy" it just in time (the fund's fee synth,
    # then holders'), "mint" it once at 400% CR (its own short), "none" (the pool only)
    keeper_inventory: str = "buy"
    max_stale_open_s: int = 7_200  # the headline alarm: longer unusable while the source is OPEN
    # the cash dividends the oracle keeper stages (a CSV such as data/aapl_dividends.csv, or
    # "DATE:AMOUNT,..."; `corporate_actions.parse_dividends`); "" = none
    dividends: str = ""

    @property
    def label(self) -> str:
        return self.symbol or replayed_symbol(self.scenario or self.csv)

    @property
    def n_agents(self) -> int:
        return self.agents + self.exposed + self.savers + self.mix.total + self.redeemers

    def make_agents(self) -> list[ag.Agent]:
        return ag.make_agents(
            self.agents,
            self.seed,
            exposed=self.exposed,
            savers=self.savers,
            mix=self.mix,
            redeemers=self.redeemers,
        )


def replayed_symbol(path: str) -> str:
    """The equity a file replays: a scenario's `symbol`; a daily file's name up to its first
    `_` or `.` (`data/aapl_daily.csv` -> AAPL)."""
    p = Path(path)
    if p.suffix == ".json":
        import json

        return str(json.loads(p.read_text())["symbol"])
    return p.name.split("_")[0].split(".")[0].upper()


@dataclass
class Sample:
    t: int
    price: float  # the chain's (8-decimal answer in USD)
    status: str  # as reported
    market_status: str  # what consumers act on: HALTED while the feed is suspect
    updated_at: int  # the chain's latest round, observed at
    answer: int  # the chain's price, feed units (8 decimals)
    source_answer: int  # what the primary source said at the tick, feed units (0: nothing)
    source_status: str
    funding_rate_day: float  # fraction per day
    oi_long_usd: float
    oi_short_usd: float
    pool_nav_usd: float
    insurance_usd: float  # the fund's balance + the penalties the market holds for it
    mmr_bps: int


@dataclass
class Liquidation:
    t: int
    book: str  # perp | vault
    account: str
    bad_debt_usd: float  # perp: shortfall; vault: bad debt at the price, in USD
    price: float = 0.0  # USD per share the liquidation used
    bad_debt_wad: int = 0
    insurance_wad: int = 0  # what the insurance fund paid against it (Covered, same tx)


@dataclass(frozen=True)
class Holdings:
    """What a dividend pays and charges, read before the print that applies it (wad)."""

    multiplier_wad: int
    synth_wad: int  # every holder's sTSLA: agents, the keeper, the fund, the stability pool
    debt_wad: int  # every borrower's debt (the vault agents', the keeper's), fees accrued
    system_debt_wad: int  # the fee synth minted to the fund: owed by no position
    longs_wad: int  # perp shares held long
    shorts_wad: int  # ... and short


@dataclass
class DividendPaid:
    """One applied dividend (issue 21): received by synth holders and perp longs, paid by
    borrowers (and the fees already minted, owed by no one) and perp shorts, USD wad."""

    t: int
    ex_date: str
    amount_usd: float  # per quoted share
    per_base_share_wad: int
    holders_wad: int
    borrowers_wad: int
    system_debt_wad: int
    longs_wad: int
    shorts_wad: int

    @property
    def pool_wad(self) -> int:
        """What the LP pool paid: the counterparty of the skew (longs less shorts)."""
        return self.longs_wad - self.shorts_wad


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
    max_age_open_s: int = 120  # the markets' freshness bound: older is stale
    fills: list[tuple[int, float]] = field(default_factory=list)  # (time, USD per share)
    backend: str = "anvil"
    ticks_total: int = 0  # the schedule's
    ticks_done: int = 0  # replayed (fewer when interrupted)
    interrupted: bool = False
    replay_s: float = 0.0  # the ticks' wall time (wall_s adds the events and reconciliation)
    # the stability pool at the end: (synth deposited, collateral units held for depositors)
    stability_pool: tuple[int, int] | None = None
    redemption_fee_wad: int = 0  # at the end: a holder redeems for (1 - it) x the oracle price
    # the redemptions made (`Redemption` events): count, synth, collateral paid, fees (units)
    redemptions: tuple[int, int, int, int] = (0, 0, 0, 0)
    dividends: list[DividendPaid] = field(default_factory=list)  # in ex-date order
    # the oracle's base price (quote x multiplier) at the first and last sample: total return
    base_price_wad: tuple[int, int] = (0, 0)
    stock_total_return: float = 0.0  # the source's, dividends reinvested (`_stock_total_return`)
    # (time, book, account) of the first positions still liquidatable after a print's keepers
    left_liquidatable: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def ticks_per_s(self) -> float:
        return self.ticks_done / self.replay_s if self.replay_s > 0 else 0.0

    @property
    def balanced(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def bad_debt_usd(self) -> float:
        return sum(x.bad_debt_usd for x in self.liquidations)

    # ---- the oracle's health and who paid (formulas: synthequity.model.replay) -----------
    def oracle_samples(self) -> list[rp.OracleSample]:
        return [
            rp.OracleSample(
                s.t,
                s.source_answer,
                MarketStatus[s.source_status],
                s.answer,
                s.updated_at,
                MarketStatus[s.market_status],
            )
            for s in self.samples
        ]

    @property
    def outage(self) -> rp.Outage | None:
        """The longest time the chain's price was stale or HALTED while the source was OPEN."""
        return rp.longest_outage(self.oracle_samples(), self.max_age_open_s)

    @property
    def frozen(self) -> bool:
        return rp.frozen(self.outage, self.config.max_stale_open_s)

    @property
    def absorbed(self) -> rp.Absorbed:
        return rp.absorbed(
            [
                rp.Shortfall(x.t, x.book, x.account, x.bad_debt_wad, x.insurance_wad)
                for x in self.liquidations
                if x.bad_debt_wad > 0
            ]
        )

    def status(self) -> str:
        """The first line of the headline: what must not be missed."""
        alarms = []
        o = self.outage
        if o is not None and self.frozen:
            alarms.append(f"ORACLE FROZEN {rp.fmt_duration(o.span_s)}")
        if not self.balanced:
            alarms.append("RECONCILIATION FAILED")
        if self.interrupted:
            alarms.append(f"INTERRUPTED after {self.ticks_done:,} of {self.ticks_total:,} ticks")
        return "WARNING: " + ", ".join(alarms) if alarms else "ok"

    def headline(self) -> dict[str, str]:
        if not self.samples:  # interrupted before a first price
            return {"status": self.status(), "window": f"{self.config.start} .."}
        s0, s1 = self.samples[0], self.samples[-1]
        funded = next((s for s in self.samples if s.pool_nav_usd > 0), s0)  # after LPs came
        perp = sum(1 for x in self.liquidations if x.book == "perp")
        vault = sum(1 for x in self.liquidations if x.book == "vault")
        src0 = next((s for s in self.samples if s.source_answer > 0), s0)
        chain0 = next((s for s in self.samples if s.answer > 0), s0)
        c = self.counters
        ab, usd = self.absorbed, 1 / WAD
        return {
            "status": self.status(),
            "window": f"{self.config.start} .. {self.config.end}",
            "policy": self.policy,
            f"{self.config.label} (source)": _move(
                src0.source_answer / 1e8, s1.source_answer / 1e8
            ),
            f"{self.config.label} (chain)": _move(chain0.price, s1.price),
            "oracle pushes made / refused / suspect": (
                f"{c['oracle pushes']:,} / {c['oracle refused']:,} / {c['oracle suspect']:,}"
                f" (of {c['oracle ticks']:,} reads of the sources)"
            ),
            "longest stale or HALTED while source OPEN": self._outage_text(),
            "largest source-chain divergence": self._divergence_text(None),
            "largest divergence while usable for risk": self._divergence_text(self.max_age_open_s),
            "orders filled / cancelled": (f"{c['orders filled']:,} / {c['orders cancelled']:,}"),
            "left liquidatable after a print (perp / vault)": (
                f"{c['left liquidatable after a print: perp']:,} / "
                f"{c['left liquidatable after a print: vault']:,}"
            ),
            "liquidations perp / vault": f"{perp:,} / {vault:,}"
            + (
                f" ({c['vault liquidations through the stability pool']:,} through the "
                "stability pool)"
                if self.stability_pool is not None and self.config.savers
                else ""
            ),
            "bad debt": (
                f"${ab.bad_debt_wad * usd:,.2f}: insurance fund ${ab.insurance_wad * usd:,.2f},"
                f" pool ${ab.pool_wad * usd:,.2f}, uncovered ${ab.uncovered_wad * usd:,.2f}"
            ),
            "pool NAV": f"${funded.pool_nav_usd:,.0f} -> ${s1.pool_nav_usd:,.0f}",
            "insurance fund": f"${s0.insurance_usd:,.0f} -> ${s1.insurance_usd:,.0f}",
            **self._stability_pool_text(),
            **self._dividend_text(),
            "reconciliation": "balanced to the wei" if self.balanced else "DOES NOT BALANCE",
            "wall time": (
                f"{self.wall_s:.0f} s on {self.backend} ({self.ticks_done:,} ticks, "
                f"{self.ticks_per_s:.1f} ticks/s)"
            ),
        }

    def summary(self) -> dict[str, Any]:
        """The run's numbers as plain data (summary.json, the sweep's table, the test that
        compares backends): everything the headline says, exactly, and the time it took."""
        ab = self.absorbed
        navs = [s.pool_nav_usd for s in self.samples if s.pool_nav_usd > 0]
        peak, drawdown = 0.0, 0.0
        for nav in navs:
            peak = max(peak, nav)
            drawdown = max(drawdown, 1 - nav / peak)
        last = self.samples[-1] if self.samples else None
        reverts = {k: v for k, v in self.counters.items() if k.startswith("agent reverts")}
        return {
            "label": self.config.label,
            "start": self.config.start,
            "end": self.config.end,
            "seed": self.config.seed,
            "agents": self.config.n_agents,
            "policy": self.policy,
            "backend": self.backend,
            "status": self.status(),
            "interrupted": self.interrupted,
            "ticks": self.ticks_done,
            "ticks_total": self.ticks_total,
            "oracle_pushes": self.counters["oracle pushes"],
            "oracle_refused": self.counters["oracle refused"],
            "oracle_suspect": self.counters["oracle suspect"],
            "orders_filled": self.counters["orders filled"],
            "orders_cancelled": self.counters["orders cancelled"],
            "liquidations_perp": sum(1 for x in self.liquidations if x.book == "perp"),
            "liquidations_vault": sum(1 for x in self.liquidations if x.book == "vault"),
            "bad_debt_wad": ab.bad_debt_wad,
            "bad_debt_insurance_wad": ab.insurance_wad,
            "bad_debt_pool_wad": ab.pool_wad,
            "bad_debt_uncovered_wad": ab.uncovered_wad,
            "pool_nav_start_usd": navs[0] if navs else 0.0,
            "pool_nav_end_usd": last.pool_nav_usd if last else 0.0,
            "pool_nav_max_drawdown": drawdown,
            "insurance_end_usd": last.insurance_usd if last else 0.0,
            "price_end": last.price if last else 0.0,
            "agent_reverts": sum(reverts.values()),
            # count, synth wad, collateral units paid, fee units (`Redemption` events)
            "redemptions": list(self.redemptions),
            "balanced": self.balanced,
            "dividends": [dataclasses.asdict(x) for x in self.dividends],
            "total_return_stock": self.stock_total_return,
            "total_return_synth": self.synth_total_return,
            "checks": [[c.what, c.expected, c.actual, c.ok] for c in self.checks],
            "counters": dict(sorted(self.counters.items())),
            "flows": self.flows,
            "liquidations": [dataclasses.asdict(x) for x in self.liquidations],
            "ticks_per_s": self.ticks_per_s,
            "replay_s": self.replay_s,
            "wall_s": self.wall_s,
        }

    def _stability_pool_text(self) -> dict[str, str]:
        """The headline's stability-pool and peg lines (runs with savers or redeemers)."""
        out: dict[str, str] = {}
        if self.stability_pool is not None and self.config.savers:
            synth, gains = self.stability_pool
            out["stability pool at the end"] = (
                f"{synth / WAD:,.4f} synth deposited, gains "
                f"${gains * 10 ** (18 - self.decimals) / WAD:,.2f} for its depositors"
            )
        if self.config.savers or self.config.redeemers:
            out["redemption floor (peg)"] = (
                f"a holder redeems 1 synth for {100 - self.redemption_fee_wad / 1e16:.2f}% of "
                "the oracle price"
            )
        if self.config.redeemers:
            n, synth, paid, fee = self.redemptions
            usd = 10 ** (18 - self.decimals) / WAD
            got = f"{100 * paid / (paid + fee):.2f}%" if paid + fee else "-"
            out["redemptions (implied peg)"] = (
                f"{n:,}: {synth / WAD:,.4f} synth for ${paid * usd:,.2f}, {got} of its oracle "
                f"value (fees ${fee * usd:,.2f})"
            )
        return out

    @property
    def synth_total_return(self) -> float:
        """The synth's total return: its base price (quote x multiplier) last / first."""
        first, last = self.base_price_wad
        return last / first - 1 if first else 0.0

    def _dividend_text(self) -> dict[str, str]:
        """The headline's dividend lines (runs with a dividend schedule only)."""
        if not self.config.dividends:
            return {}
        d, usd = self.dividends, 1 / WAD
        paid = sum(x.amount_usd for x in d)
        missed = self.counters.get("dividends scheduled, not applied", 0)
        # scheduled in the window but never applied: the stock's return has them, the synth not
        not_applied = (
            f" ({missed} scheduled not applied: the oracle keeper's log)" if missed else ""
        )
        return {
            "dividends (vault)": (
                f"{len(d)} ex-dates{not_applied}, ${paid:,.2f} a share: synth holders received "
                f"${sum(x.holders_wad for x in d) * usd:,.2f}, borrowers paid "
                f"${sum(x.borrowers_wad for x in d) * usd:,.2f} (+ "
                f"${sum(x.system_debt_wad for x in d) * usd:,.2f} on fees already minted)"
            ),
            "dividends (perp)": (
                f"longs received ${sum(x.longs_wad for x in d) * usd:,.2f}, shorts paid "
                f"${sum(x.shorts_wad for x in d) * usd:,.2f}, the pool paid "
                f"${sum(x.pool_wad for x in d) * usd:,.2f}"
            ),
            "total return (dividends reinvested)": (
                f"{self.config.label} {self.stock_total_return:+.4%} (the source), synth "
                f"{self.synth_total_return:+.4%} (the oracle's base price)"
            ),
        }

    def _outage_text(self) -> str:
        o = self.outage
        if o is None:
            return "none"
        text = (
            f"{rp.fmt_duration(o.open_s)} of trading ({utc(o.start):%Y-%m-%d %H:%M} -> "
            f"{utc(o.end):%Y-%m-%d %H:%M} UTC{'' if o.recovered else ', never recovered'})"
        )
        if self.frozen:
            return (
                f"ORACLE FROZEN {rp.fmt_duration(o.span_s)}: {text}, target "
                f"{rp.fmt_duration(self.config.max_stale_open_s)}"
            )
        return text

    def _divergence_text(self, max_age_s: int | None) -> str:
        d = rp.max_divergence(self.oracle_samples(), max_age_s)
        if d is None:
            return "none"
        return (
            f"{d.pct:,.1f}% at {utc(d.t):%Y-%m-%d %H:%M} UTC (source "
            f"${d.source_price / 1e8:,.2f}, chain ${d.chain_price / 1e8:,.2f})"
        )


def _move(a: float, b: float) -> str:
    if a <= 0:
        return f"${b:,.2f}"
    return f"${a:,.2f} -> ${b:,.2f} ({b / a - 1:+.1%})"


class SimFeedIO(ApeFeedIO):
    """`ApeFeedIO` whose `read` is one JSON-RPC batch once the feed has a round (the replay
    reads the feed at every print: six Ape calls each cost more than the rest of a tick)."""

    has_round = False

    def read(self) -> FeedState | None:
        if not self.has_round:
            if self.oracle.latestRound() == 0:
                return None  # latestRoundData would revert "oracle: no data"
            self.has_round = True
        (rid, answer, _, updated_at, _), status, suspect, jump, escalation = read_many(
            [
                (self.oracle, "latestRoundData", ()),
                (self.oracle, "reported_status", ()),
                (self.oracle, "suspect", ()),
                (self.oracle, "max_jump_bps", ()),
                (self.oracle, "escalation", ()),
            ]
        )
        return FeedState(
            round_id=rid,
            answer=answer,
            updated_at=updated_at,
            status=MarketStatus(status[0]),
            suspect=bool(suspect[0]),
            max_jump_bps=jump[0],
            anchor=escalation[0] if suspect[0] else None,  # as ApeFeedIO reads it
        )


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
    confirmer: Any = None  # a second reporter: replays the confirming source
    stability_pool: Any = None  # the vault's (None: a record from before issue 19)
    orders: Any = None  # the perp market's conditional-order book (None: before issue 20)


def load_stack(
    network: Any,
    symbol: str,
    admin: Any,
    reporter: Any,
    keeper: Any,
    confirmer: Any = None,
) -> Stack:
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
        confirmer=confirmer,
        stability_pool=getattr(contracts, "stability_pool", None),
        orders=getattr(contracts, "perp_orders", None),
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
        chain: SimChain | None = None,
    ):
        self.s, self.accounts, self.agents, self.cfg = stack, accounts, agents, cfg
        self.chain: SimChain = chain if chain is not None else ApeChain()
        self.stop = StopFlag()  # set it (Ctrl-C) to end the replay early: the report still comes
        self.rng = random.Random(cfg.seed)
        self.on_tick = on_tick
        self.result = SimResult(
            cfg,
            "default"
            if cfg.gap_mmr_bps is None
            else f"maintenance margin {cfg.gap_mmr_bps / 100:g}% while CLOSED",
            decimals=int(stack.collateral.decimals()),
            max_age_open_s=int(stack.market.max_age_open()),
            backend=self.chain.name,
        )
        self.calendar = nyse()
        stop = StopFlag()
        chain_io = self.chain
        self.scenario = sc.load(cfg.scenario) if cfg.scenario else None
        source: Any
        if self.scenario is not None:
            source = sc.PrintReplaySource(self.scenario.primary, f"prints:{self.scenario.name}")
        else:
            source = CsvReplaySource(cfg.csv, self.calendar)
        self.dividends = parse_dividends(cfg.dividends)
        if self.dividends and self.scenario is not None:
            raise ValueError("--dividends needs a daily history (--csv), not a --scenario")
        self.oracle = OracleKeeper(
            io=chain_io.feed_io(stack.oracle, stack.reporter),
            source=source,
            warp=True,
            stop=stop,
            dividends=self.dividends,
        )
        # the scheduled dividends the replay is done with: applied and accounted, or passed
        # without applying (before the window, never staged, dropped; counted)
        self.dividends_done: set[Dividend] = set()
        self.oracles = [self.oracle]
        if cfg.confirm:
            if self.scenario is None or not self.scenario.confirm:
                raise ValueError("--confirm needs a scenario with a confirming source")
            if stack.confirmer is None:
                raise ValueError("--confirm needs a second reporter")
            self.oracles.append(  # the confirming keeper: pushes only to end a suspect state
                OracleKeeper(
                    io=chain_io.feed_io(stack.oracle, stack.confirmer),
                    source=sc.PrintReplaySource(
                        self.scenario.confirm, f"prints:{self.scenario.name}.confirm"
                    ),
                    confirm_only=True,
                    warp=True,
                    stop=stop,
                )
            )
        self.perp_keeper = PerpKeeper(
            io=chain_io.market_io(stack.market, stack.keeper),
            index=AccountIndex(stack.start_block),
            config=KeeperConfig(orders=True, liquidations=True),
            stop=stop,
        )
        self.vault_keeper = VaultKeeper(
            io=chain_io.vault_io(stack.vault, stack.keeper),
            index=AccountIndex(stack.start_block),
            config=KeeperConfig(orders=False),
            stop=stop,
        )
        if stack.stability_pool is not None:  # liquidates through it when it covers a job
            self.vault_keeper.io.use_pool(stack.stability_pool)
        if stack.orders is not None:  # executes the traders' triggered conditional orders
            self.perp_keeper.io.use_book(stack.orders)
        self.default_params = stack.market.params()
        self.first_block = 0
        self.last_acted = -(10**12)
        self.was_usable = False
        self.priced = False  # the feed has a round
        self.pool_shortfall_start = 0
        self.inventory_minted = bool(stack.vault.position(stack.keeper)[1])
        self.lp_peak: dict[str, int] = {}  # fleeing LPs: the highest share value seen invested
        self.fled: set[str] = set()  # fleeing LPs out of the pool
        self._books_of: dict[str, list[str]] = {}  # book -> the agents' addresses in it
        for a in agents:
            if a.kind is not ag.Kind.LP:
                book = "perp" if a.kind is ag.Kind.TRADER else "vault"
                self._books_of.setdefault(book, []).append(self.chain.address(accounts[a.name]))
        if cfg.gap_mmr_bps is not None:  # the policy is the risk admin's to run
            role = stack.market.RISK_ADMIN_ROLE()
            if not stack.market.hasRole(role, stack.admin):
                self._send(stack.market, "grantRole", (role, stack.admin), stack.admin)
        if stack.confirmer is not None and cfg.confirm:  # a local chain: the admin grants it
            role = stack.oracle.REPORTER_ROLE()
            if not stack.oracle.hasRole(role, stack.confirmer):
                self._send(stack.oracle, "grantRole", (role, stack.confirmer), stack.admin)

    # ---- the run ----------------------------------------------------------------------------
    def schedule(self) -> list[tuple[int, tuple[int, ...]]]:
        """(virtual time, which oracle keepers tick): a scenario's print times (each source
        at its own); a daily file's `replay_schedule` (every `step_s` of each session and the
        close)."""
        if self.scenario is None:
            start, end = to_ts(self.cfg.start), to_ts(self.cfg.end) + 86_400
            return [(t, (0,)) for t in replay_schedule(self.calendar, start, end, self.cfg.step_s)]
        by_t: dict[int, list[int]] = {}
        series = [self.scenario.primary, self.scenario.confirm][: len(self.oracles)]
        for k, prints in enumerate(series):
            for p in prints:
                by_t.setdefault(p.t, []).append(k)
        return [(t, tuple(ks)) for t, ks in sorted(by_t.items())]

    def run(self) -> SimResult:
        """The whole schedule, or up to where `stop` was set or Ctrl-C pressed (the result
        then says `interrupted` and covers the ticks replayed: events, reconciliation and all)."""
        t0 = time.perf_counter()
        ticks = self.schedule()
        start = ticks[0][0]
        number, head = self.chain.head()
        if head > start + 60:
            raise SystemExit(
                f"the chain's clock ({utc(head):%Y-%m-%d %H:%M}) is past the window's start "
                f"({utc(start):%Y-%m-%d %H:%M}); start anvil with --timestamp {start} "
                "(`make demo` does)"
            )
        self.chain.start()
        self.dividends_done = {d for d in self.dividends if d.activation <= start}
        self.first_block = number + 1
        self.pool_shortfall_start = int(self.s.market.pool_shortfall())
        self._top_up_insurance()
        closes = set(self.calendar.closes)
        r = self.result
        r.ticks_total = len(ticks)
        try:
            for i, (t, keepers) in enumerate(ticks):
                if self.stop.stopped:
                    break
                nxt = ticks[i + 1][0] if i + 1 < len(ticks) else None
                last_open = nxt is not None and nxt in closes and t not in closes
                self._tick(t, keepers, last_open)
                if self.scenario is None and nxt is not None:
                    self._while_halted(t, nxt)
                r.ticks_done = i + 1
                if self.on_tick:
                    price = r.samples[-1].price if r.samples else 0.0
                    self.on_tick(i + 1, len(ticks), f"{utc(t):%Y-%m-%d %H:%M} ${price:,.2f}")
        except KeyboardInterrupt:
            pass  # the tick in flight is lost; everything before it is on the chain
        r.interrupted = r.ticks_done < len(ticks)
        r.replay_s = time.perf_counter() - t0
        self._finish()
        r.wall_s = time.perf_counter() - t0
        return r

    def _while_halted(self, t: int, nxt: int) -> None:
        """Daily bars: while the feed is HALTED (a suspect jump) and the source OPEN, the
        keeper keeps reading its source every `SUSPECT_STEP_S` until the next scheduled print
        (a live keeper polls all the time; the replay's 2-hour steps would otherwise hold a
        confirmation back for hours)."""
        t += SUSPECT_STEP_S
        samples = self.result.samples
        while t < nxt and samples and samples[-1].market_status == MarketStatus.HALTED.name:
            quote = self.oracle.source.quote(t)
            if quote is None or quote.status is not MarketStatus.OPEN:
                return
            self._tick(t, (0,), False)
            self.result.counters["oracle: extra reads while HALTED"] += 1
            t += SUSPECT_STEP_S

    def _send(self, contract: Any, fn: str, args: tuple[Any, ...], sender: Any) -> None:
        """A transaction the replay itself needs (not an agent's): a revert is a bug."""
        reason = self.chain.send(contract, fn, args, sender)
        if reason is not None:
            raise RuntimeError(f"{fn} reverted: {reason}")

    def _top_up_insurance(self) -> None:
        s = self.s
        want = self.cfg.insurance_usd * 10 ** int(s.collateral.decimals())
        have = s.collateral.balanceOf(s.insurance)
        if want > have:
            self._send(s.collateral, "faucet", (s.insurance, want - have), s.admin)

    def _oracle_tick(self, k: int, t: int) -> None:
        keeper, r = self.oracles[k], self.result
        pushed, refused = len(keeper.pushes), keeper.metrics["refused"]
        due = self._due_dividend(t) if k == 0 else None
        held = self._holdings() if due is not None else None
        keeper.tick(t)
        if due is not None and held is not None:
            self._account_dividend(*due, held, t)
        r.counters["oracle pushes"] += len(keeper.pushes) - pushed
        r.counters["oracle refused"] += keeper.metrics["refused"] - refused

    def _due_dividend(self, t: int) -> tuple[Dividend, int] | None:
        """The scheduled dividend this print may apply: the one staged on chain with an
        activation at or before `t`, and its staged amount (feed units). Scheduled ones
        whose activation passed while nothing of theirs is staged never apply (the keeper
        could not stage them, or the oracle dropped one): done, counted, never reported
        as paid. Reads the chain only while a scheduled activation is past and open."""
        waiting = [d for d in self.dividends if d.activation <= t and d not in self.dividends_done]
        if not waiting:
            return None
        amount, activation, _ = flat(self.s.oracle.staged_dividend())
        staged = next((d for d in waiting if amount and d.activation == activation), None)
        for d in waiting:
            if staged is None or d.activation < staged.activation:
                self.dividends_done.add(d)
                self.result.counters["dividends scheduled, not applied"] += 1
        return (staged, amount) if staged is not None else None

    def _holdings(self) -> Holdings:
        """Every synth balance, vault debt and perp size, and the multiplier, in one batch:
        what a dividend applied by the next print pays and charges."""
        s, c = self.s, self.chain
        vault_agents = [a for a in self.agents if a.kind in VAULT_KINDS]
        traders = [a for a in self.agents if a.kind is ag.Kind.TRADER]
        holders = [c.address(self.accounts[a.name]) for a in vault_agents]
        holders += [c.address(s.keeper), s.insurance.address]
        if s.stability_pool is not None:
            holders.append(s.stability_pool.address)
        calls: list[tuple[Any, str, tuple[Any, ...]]] = [
            (s.oracle, "shares_multiplier_wad", ()),
            (s.vault, "system_debt", ()),
        ]
        calls += [(s.synth, "balanceOf", (h,)) for h in holders]
        # every borrower: the vault agents and the keeper (its inventory position, if any)
        borrowers = [c.address(self.accounts[a.name]) for a in vault_agents]
        borrowers.append(c.address(s.keeper))
        calls += [(s.vault, "position", (b,)) for b in borrowers]
        calls += [(s.market, "position", (c.address(self.accounts[a.name]),)) for a in traders]
        rows = iter(c.read_many(calls))
        mult, system_debt = flat(next(rows))[0], flat(next(rows))[0]
        synth = sum(flat(next(rows))[0] for _ in holders)
        debt = sum(flat(next(rows))[1] for _ in borrowers)
        sizes = [pm.Position(*flat(next(rows))).size for _ in traders]
        longs = sum(x for x in sizes if x > 0)
        shorts = -sum(x for x in sizes if x < 0)
        return Holdings(mult, synth, debt, system_debt, longs, shorts)

    def _account_dividend(self, div: Dividend, amount: int, held: Holdings, t: int) -> None:
        """After the print: when it applied `div` (the multiplier moved and nothing is
        staged), what its staged `amount` paid each side at the multiplier before
        (`model.oracle`)."""
        s = self.s
        mult = int(s.oracle.shares_multiplier_wad())
        if mult == held.multiplier_wad or int(flat(s.oracle.staged_dividend())[0]):
            return  # not this print (still CLOSED, or held for the session's first quote)
        self.dividends_done.add(div)
        per_share = dividend_per_base_share_wad(
            amount, int(s.oracle.decimals()), held.multiplier_wad
        )
        self.result.dividends.append(
            DividendPaid(
                t,
                str(div.ex_date),
                float(div.amount),
                per_share,
                held.synth_wad * per_share // WAD,
                held.debt_wad * per_share // WAD,
                held.system_debt_wad * per_share // WAD,
                held.longs_wad * per_share // WAD,
                held.shorts_wad * per_share // WAD,
            )
        )

    def _stock_total_return(self, t0: int, t1: int) -> float:
        """The stock's total return between two prints, from the source's quotes and the
        file's closes (`model.replay.total_return_with_dividends`): independent of the
        chain, what the synth's base price must have done."""
        q0, q1 = self.oracle.source.quote(t0), self.oracle.source.quote(t1)
        if q0 is None or q1 is None:
            return 0.0
        closes = {
            day: bar.close
            for day, bar in load_daily_bars(self.cfg.csv).items()
            if self.scenario is None
        }
        ex: list[tuple[Fraction, Fraction]] = []
        for d in self.dividends:
            if t0 < d.activation <= t1:
                cum = closes[max(day for day in closes if day < d.ex_date)]
                ex.append((Fraction(cum), Fraction(d.amount)))
        tr = rp.total_return_with_dividends(Fraction(q0.price), Fraction(q1.price), ex)
        return float(tr)

    def _tick(self, t: int, keepers: tuple[int, ...], last_open: bool) -> None:
        s = self.s
        for k in keepers:
            self._oracle_tick(k, t)
            self.result.counters["oracle ticks"] += 1
        usable = MarketStatus(int(s.oracle.market_status())) is MarketStatus.OPEN
        if usable:
            if self.cfg.gap_mmr_bps is not None:
                self._set_mmr(self.cfg.gap_mmr_bps if last_open else None)
            if not self.inventory_minted and self.cfg.keeper_inventory == "mint":
                self._keeper_inventory()
                self.inventory_minted = True
            if 0 in keepers or not self.was_usable:  # the primary's print, or a reopening
                self._keepers()
            if t - self.last_acted >= self.cfg.agent_every_s and 0 in keepers:
                self.last_acted = t
                if self._agents_act(last_open):
                    self._oracle_tick(0, t + HEARTBEAT_S)  # the next print: orders fill on it
                    self._keepers()
        self.was_usable = usable
        self._sample(t)

    def _keepers(self) -> None:
        self.perp_keeper.tick()
        if self.cfg.keeper_inventory == "buy":
            self._buy_inventory()
        self.vault_keeper.tick()
        self._left_liquidatable()

    def _buy_inventory(self) -> None:
        """The vault keeper buys what the print's liquidations need beyond its inventory and
        the stability pool (`logic.inventory_shortfall`): the insurance fund's fee synth
        first (`buy_fee_synth`, at the oracle price), then from the agents who hold sTSLA at
        the oracle price plus `DESK_SPREAD_BPS`, largest holders first — a keeper that buys
        just in time stays flat (docs/runbooks/keepers.md), where one that mints its
        inventory takes over each borrower's short. What neither covers stays refused (and
        counted as left liquidatable)."""
        s, c, io = self.s, self.chain, self.vault_keeper.io
        vault_book = self._books_of.get("vault", [])
        if not vault_book:
            return
        flags = c.read_many([(s.vault, "liquidatable", (vault_book,))])[0][0]
        flagged = [who for who, flag in zip(vault_book, flags, strict=True) if flag]
        if not flagged:
            return
        price = io.price()
        need = inventory_shortfall(
            io.positions(flagged),
            price,
            io.params(),
            io.usd_per_unit,
            io.inventory(),
            io.pool_deposits(),
        )
        if need == 0:
            return
        # first the fund's stability-fee synth, on chain at the oracle price: that part of the
        # supply no agent holds (it grows with the fees), and the cheapest to buy
        (fund,) = flat(c.read_many([(s.synth, "balanceOf", (s.insurance.address,))])[0])
        amount = min(int(fund), need)
        if amount:
            cost = vm.synth_cost_units(amount, price, io.usd_per_unit, 0)
            self._send(s.vault, "buy_fee_synth", (amount, cost), s.keeper)
            self.result.counters["keeper: fee synth bought from the fund"] += 1
            need -= amount
        if need == 0:
            return
        holders = [a.name for a in self.agents if a.kind is not ag.Kind.LP]
        held = c.read_many(
            [(s.synth, "balanceOf", (c.address(self.accounts[n]),)) for n in holders]
        )
        by_size = sorted(
            ((int(flat(h)[0]), n) for h, n in zip(held, holders, strict=True)), reverse=True
        )
        keeper = c.address(s.keeper)
        for balance, name in by_size:
            if need == 0 or balance == 0:
                break
            amount = min(balance, need)
            cost = vm.synth_cost_units(amount, price, io.usd_per_unit, DESK_SPREAD_BPS)
            seller = self.accounts[name]
            self._send(s.synth, "transfer", (keeper, amount), seller)
            self._send(s.collateral, "transfer", (c.address(seller), cost), s.keeper)
            self.result.counters["keeper: synth bought from holders"] += 1
            need -= amount
        if need:
            self.result.counters["keeper: synth holders could not sell"] += 1

    def _left_liquidatable(self) -> None:
        """docs/spec.md §9: a position liquidatable at a print is liquidated in the block after
        it. After the keepers' tick on a print, every agent's position still flagged by the
        markets' batch views is counted (and the first few kept for the report): a keeper
        that could not (no inventory, an empty stability pool) or did not act."""
        s, c = self.s, self.chain
        books = sorted(self._books_of)
        contract = {"perp": s.market, "vault": s.vault}
        flags = c.read_many([(contract[b], "liquidatable", (self._books_of[b],)) for b in books])
        t = c.head()[1]
        for book, row in zip(books, flags, strict=True):
            for who, flag in zip(self._books_of[book], row[0], strict=True):
                if flag:
                    self.result.counters[f"left liquidatable after a print: {book}"] += 1
                    if len(self.result.left_liquidatable) < 20:
                        self.result.left_liquidatable.append((t, book, who))

    def _set_mmr(self, mmr_bps: int | None) -> None:
        """The policy: the risk admin raises the maintenance margin on the day's last OPEN
        print (the keeper then liquidates whoever would not survive it while it still can) and
        puts the default back on the next open."""
        math_struct, *rest_fields = self.default_params
        math, rest = flat(math_struct), [int(x) for x in rest_fields]
        want = math if mmr_bps is None else (*math[:4], mmr_bps, *math[5:])
        if flat(self.s.market.params()[0]) != tuple(want):
            self._send(self.s.market, "set_params", ((want, *rest),), self.s.admin)
            self.result.counters["risk: margin changes"] += 1

    def _keeper_inventory(self) -> None:
        """The vault keeper's sTSLA: its own position at 400% CR, minted once a price exists
        (docs/runbooks/keepers.md: how an operator gets inventory)."""
        s, price = self.s, self.vault_keeper.io.price()
        put = KEEPER_INVENTORY_UNITS_USD * 10 ** int(s.collateral.decimals())
        debt = put * s.usd_per_unit * WAD // (4 * price)
        self._send(s.vault, "open", (put, debt), s.keeper)

    def _agents_act(self, last_open: bool = False) -> bool:
        """Every agent, in a seeded order, does what its rule says on its views (read for all
        agents in one batch; `last_open`: a close comes after this print). True when an order
        was committed (it needs the next print to fill). A revert that still happens is
        counted by reason (the report lists them)."""
        s, committed = self.s, False
        price = self.vault_keeper.io.price()
        views = self._views(price, last_open)
        order = list(self.agents)
        self.rng.shuffle(order)
        room: list[int] | None = None  # the OI room left, less this round's orders
        for a in order:
            who = self.accounts[a.name]
            view = views[a.name]
            if isinstance(view, ag.TraderView):
                if room is None:
                    room = [view.room_long_wad, view.room_short_wad]
                view = dataclasses.replace(view, room_long_wad=room[0], room_short_wad=room[1])
            if a.kind is ag.Kind.REDEEMER:  # the fee and supply after this round's others
                base, supply = (
                    flat(row)[0]
                    for row in self.chain.read_many(
                        [(s.vault, "redemption_base_rate", ()), (s.synth, "totalSupply", ())]
                    )
                )
                fee = vm.redemption_fee_wad(base, 0, 0, 0, 1)
                view = dataclasses.replace(view, redemption_fee_wad=fee, supply_wad=supply)
            action = self._decide(a, view)
            if action is None:
                continue
            contract = {
                "vault": s.vault,
                "perp": s.market,
                "pool": s.pool,
                "sp": s.stability_pool,
                "orders": s.orders,
            }[action.target]
            address = self.chain.address(who)
            args: tuple[Any, ...] = action.args
            if action.target == "orders" and action.fn == "cancel":  # (account, id)
                args = (address, *args)
            if action.target == "vault" and action.fn == "redeem":  # hints: the list's walk
                args = (*args, ZERO_ADDRESS, ZERO_ADDRESS)
            if action.target == "pool" and action.fn == "redeem":  # what the pool lets out now
                (may,) = flat(self.chain.read_many([(s.pool, "maxRedeem", (address,))])[0])
                if not may:
                    continue
                args = (min(args[0], may),)
            if action.target == "pool":  # (receiver) for a deposit, (receiver, owner) to redeem
                args = (*args, address, address) if action.fn == "redeem" else (*args, address)
            reason = self.chain.send(contract, action.fn, args, who)
            if reason is not None:
                self.result.counters[f"agent reverts: {reason}"] += 1
                continue
            style = "" if a.style is ag.Style.PLAIN else f" ({a.style.value})"
            self.result.counters[f"{a.kind.value} {action.fn}{style}"] += 1
            if a.style is ag.Style.FLEEING:
                if action.target == "pool" and action.fn == "redeem":
                    self.fled.add(a.name)
                else:  # back in: its peak starts again from the value now
                    self.fled.discard(a.name)
                    self.lp_peak[a.name] = views[a.name].share_value_wad
            if action.fn == "commit_order" and room is not None:
                d_long, d_short = pm.oi_change(view.size_wad, view.size_wad + action.args[0])
                room[0] -= d_long
                room[1] -= d_short
            committed |= action.fn == "commit_order"
        return committed

    def _views(self, price: int, last_open: bool = False) -> dict[str, Any]:
        s, calls = self.s, []
        calls.append((s.market, "skew", ()))
        calls.append((s.market, "params", ()))
        calls.append((s.market, "open_interest", ()))
        calls.append((s.market, "pool_nav", ()))
        calls.append((s.pool, "convertToAssets", (WAD,)))
        calls.append((s.vault, "redemption_base_rate", ()))
        calls.append((s.synth, "totalSupply", ()))
        for a in self.agents:
            who = self.chain.address(self.accounts[a.name])
            calls.append((s.collateral, "balanceOf", (who,)))
            if a.kind is ag.Kind.LP:
                calls.append((s.pool, "balanceOf", (who,)))
                calls.append((s.pool, "maxRedeem", (who,)))
            elif a.kind in VAULT_KINDS:
                calls += [(s.vault, "position", (who,)), (s.synth, "balanceOf", (who,))]
            else:
                calls += [(s.market, "position", (who,)), (s.market, "pending_order", (who,))]
                if s.orders is not None and a.style is ag.Style.PROTECTED:
                    calls.append((s.orders, "orders", (who,)))
        now = self.chain.head()[1]
        rows = iter(self.chain.read_many(calls))
        skew = flat(next(rows))[0]
        mp = pm.MarketParams.from_tuple(unwrap(next(rows)))
        perp, keeper_fee = mp.math, mp.order_keeper_fee
        long_oi, short_oi = (int(x) for x in flat(next(rows)))
        nav_usd = max(flat(next(rows))[0], 0) * s.usd_per_unit
        share_value = flat(next(rows))[0]
        # what redeeming a speck costs now: the floor + the decayed base rate
        redemption_fee = vm.redemption_fee_wad(flat(next(rows))[0], 0, 0, 0, 1)
        supply = flat(next(rows))[0]
        # the shares each side may still open under its cap (`_within_caps`)
        room = [
            max(cap * WAD // price - oi, 0) if price else 0
            for cap, oi in zip(pm.oi_caps_usd(nav_usd, mp), (long_oi, abs(short_oi)), strict=True)
        ]
        views: dict[str, Any] = {}
        upu = s.usd_per_unit
        for a in self.agents:
            cash = flat(next(rows))[0]
            if a.kind is ag.Kind.LP:
                shares, may = flat(next(rows))[0], flat(next(rows))[0]
                if shares and a.name not in self.fled:
                    self.lp_peak[a.name] = max(self.lp_peak.get(a.name, 0), share_value)
                views[a.name] = ag.LpView(
                    cash,
                    shares,
                    share_value,
                    self.lp_peak.get(a.name, share_value),
                    may,
                    a.name in self.fled,
                )
            elif a.kind in VAULT_KINDS:
                held, debt = flat(next(rows))
                synth = flat(next(rows))[0]
                views[a.name] = ag.BorrowerView(
                    price, cash, upu, held, debt, synth, redemption_fee, supply
                )
            else:
                pos = pm.Position(*flat(next(rows)))
                pending = flat(next(rows))[2] != 0
                book: tuple[int, ...] = ()
                if s.orders is not None and a.style is ag.Style.PROTECTED:
                    book = tuple(int(o[0]) for o in unwrap(next(rows)))  # each slot's kind
                views[a.name] = ag.TraderView(
                    price,
                    cash,
                    upu,
                    pos.margin,
                    pos.size,
                    pending,
                    entry_price_wad=pos.entry_price,
                    skew_wad=skew,
                    keeper_fee_wad=keeper_fee,
                    params=perp,
                    room_long_wad=room[0],
                    room_short_wad=room[1],
                    last_open=last_open,
                    book=book,
                    now=now,
                )
        return views

    def _decide(self, a: ag.Agent, view: Any) -> ag.Action | None:
        if a.kind is ag.Kind.LP:
            return ag.lp_step(a, view)
        if a.kind is ag.Kind.BORROWER:
            return ag.borrower_step(a, view, self.rng)
        if a.kind is ag.Kind.SAVER:
            return ag.saver_step(a, view, self.rng)
        if a.kind is ag.Kind.REDEEMER:
            return ag.redeemer_step(a, view, self.rng)
        return ag.trader_step(a, view, self.rng)

    def _sample(self, t: int) -> None:
        """One row of the report's series, read in one batch."""
        s = self.s
        if not self.priced:  # before a first round the price views revert "oracle: no data"
            self.priced = s.oracle.latestRound() > 0
            if not self.priced:
                return
        round_data, oi, status, market_status, rate, nav, insurance, due, params, mult = (
            self.chain.read_many(
                [
                    (s.oracle, "latestRoundData", ()),
                    (s.market, "open_interest", ()),
                    (s.oracle, "reported_status", ()),
                    (s.oracle, "market_status", ()),
                    (s.market, "funding_rate", ()),
                    (s.pool, "totalAssets", ()),
                    (s.collateral, "balanceOf", (s.insurance.address,)),
                    (s.market, "insurance_due", ()),  # penalties the market holds for the fund
                    (s.market, "params", ()),
                    (s.oracle, "shares_multiplier_wad", ()),
                ]
            )
        )
        price = round_data[1] / 10**8
        base = round_data[1] * flat(mult)[0] // 10**8  # one base share, USD wad
        first = self.result.base_price_wad[0] or base
        self.result.base_price_wad = (first, base)
        oi_long, oi_short = oi
        quote = self.oracle.source.quote(t)
        self.result.samples.append(
            Sample(
                t=t,
                price=price,
                status=MarketStatus(status[0]).name,
                market_status=MarketStatus(market_status[0]).name,
                updated_at=int(round_data[3]),
                answer=int(round_data[1]),
                source_answer=to_feed_units(quote.price) if quote else 0,
                source_status=(quote.status if quote else MarketStatus.UNKNOWN).name,
                funding_rate_day=rate[0] / WAD,
                oi_long_usd=oi_long / WAD * price,
                oi_short_usd=oi_short / WAD * price,
                pool_nav_usd=nav[0] * s.usd_per_unit / WAD,
                insurance_usd=(insurance[0] + due[0]) * s.usd_per_unit / WAD,
                mmr_bps=int(params[0][0][4]),  # (struct) -> (math struct, ...) -> mmr
            )
        )

    # ---- the end: events, distribution, reconciliation ---------------------------------------
    def _conditional_counts(self, lo: int, hi: int) -> None:
        """The conditional orders' fills by kind, those at the first price after a close (a
        gap fill at the open) and the book's cancels by reason, from the events."""
        s, r, c = self.s, self.result, self.chain
        pushed = c.events(s.oracle, "PricePushed", lo, hi)
        status = {int(lg.round_id): int(lg.status) for lg in pushed}  # as reported
        kinds: dict[tuple[str, int], int] = {}  # (account, id) -> the kind placed there last
        placed = c.events(s.orders, "OrderPlaced", lo, hi)
        executed = c.events(s.orders, "OrderExecuted", lo, hi)
        filled = {str(lg.transaction_hash) for lg in c.events(s.market, "OrderFilled", lo, hi)}
        r.counters["conditional orders placed"] = len(placed)
        events = sorted(
            [(lg.block_number, lg.log_index, "placed", lg) for lg in placed]
            + [(lg.block_number, lg.log_index, "executed", lg) for lg in executed]
        )
        for _, _, what, lg in events:
            key = (str(lg.account), int(lg.id))
            if what == "placed":
                kinds[key] = int(lg.kind)
                continue
            name = om.KIND_NAMES.get(kinds.get(key, 0), "?")
            if str(lg.transaction_hash) not in filled:
                r.counters[f"conditional {name}: cancelled by the market"] += 1
                continue
            r.counters[f"conditional fills: {name}"] += 1
            if status.get(int(lg.round_id) - 1, OPEN) != OPEN:
                r.counters[f"conditional gap fills at the open: {name}"] += 1
        for lg in c.events(s.orders, "OrderCancelled", lo, hi):
            r.counters[f"conditional cancelled: {lg.reason}"] += 1
        r.counters["conditional re-armed"] = len(c.events(s.orders, "OrderRearmed", lo, hi))

    def _finish(self) -> None:
        s, r, c = self.s, self.result, self.chain
        head = c.head()[0]
        times: dict[int, int] = {}

        def ts(block: int) -> int:
            if block not in times:
                times[block] = c.block_time(block)
            return times[block]

        upu, lo, hi = s.usd_per_unit, self.first_block, head
        # what the insurance fund paid, per transaction and market (Covered)
        paid: Counter[tuple[str, str]] = Counter()
        for lg in c.events(s.insurance, "Covered", lo, hi):
            paid[(str(lg.transaction_hash), str(lg.market))] += int(lg.paid) * upu
        for lg in c.events(s.market, "PositionLiquidated", lo, hi):
            shortfall = max(int(lg.shortfall), 0)
            fund = paid[(str(lg.transaction_hash), s.market.address)] if shortfall else 0
            r.liquidations.append(
                Liquidation(
                    ts(lg.block_number),
                    "perp",
                    str(lg.account),
                    shortfall / WAD,
                    int(lg.price) / WAD,
                    shortfall,
                    fund,
                )
            )
        bad = {
            (lg.block_number, str(lg.account)): lg for lg in c.events(s.vault, "BadDebt", lo, hi)
        }
        for lg in c.events(s.vault, "Liquidate", lo, hi):
            b = bad.pop((lg.block_number, str(lg.account)), None)
            covered = int(b.covered) * upu if b else 0
            total = covered + int(b.uncovered_usd) if b else 0
            r.liquidations.append(
                Liquidation(
                    ts(lg.block_number), "vault", str(lg.account), total / WAD, 0.0, total, covered
                )
            )
        for (block, account), b in bad.items():  # bad debt taken without a liquidation
            covered = int(b.covered) * upu
            total = covered + int(b.uncovered_usd)
            r.liquidations.append(
                Liquidation(ts(block), "vault", account, total / WAD, 0.0, total, covered)
            )
        r.liquidations.sort(key=lambda x: x.t)
        fills = c.events(s.market, "OrderFilled", lo, hi)
        r.fills = [(ts(lg.block_number), int(lg.fill_price) / WAD) for lg in fills]
        r.counters["orders filled"] = len(fills)
        cancelled = c.events(s.market, "OrderCancelled", lo, hi)
        r.counters["orders cancelled"] = len(cancelled)
        for lg in cancelled:  # by reason: what the agents' preflight missed
            r.counters[f"orders cancelled: {lg.reason}"] += 1
        if s.orders is not None:
            self._conditional_counts(lo, hi)
        r.counters["oracle suspect"] = len(c.events(s.oracle, "FeedSuspect", lo, hi))
        for lg in c.events(s.oracle, "FeedCleared", lo, hi):
            r.counters[f"oracle cleared: {lg.reason}"] += 1
        pushed = c.events(s.oracle, "PricePushed", lo, hi)
        if len(pushed) != r.counters["oracle pushes"]:  # the keepers' count vs the chain's
            r.counters["oracle pushes (keepers' count)"] = r.counters["oracle pushes"]
            r.counters["oracle pushes"] = len(pushed)
        for a in self.agents:
            if a.kind is ag.Kind.BORROWER:
                who = c.address(self.accounts[a.name])
                if s.vault.position(who)[1]:
                    r.vault_crs.append(s.vault.collateral_ratio(who) / 1e16)
        if (sp := s.stability_pool) is not None:
            r.counters["vault liquidations through the stability pool"] = len(
                c.events(sp, "Offset", lo, hi)
            )
            r.stability_pool = (
                int(sp.total_deposits()) + int(sp.pending_deposits()),
                int(s.collateral.balanceOf(sp.address)),
            )
        made = c.events(s.vault, "Redemption", lo, hi)
        r.redemptions = (
            len(made),
            sum(int(lg.amount) for lg in made),
            sum(int(lg.paid) for lg in made),
            sum(int(lg.fee) for lg in made),
        )
        if self.dividends and r.samples:
            r.stock_total_return = self._stock_total_return(r.samples[0].t, r.samples[-1].t)
        # what redeeming a speck costs now (the decayed base rate, no volume of its own)
        base_rate = int(s.vault.redemption_base_rate())
        r.redemption_fee_wad = vm.redemption_fee_wad(base_rate, 0, 0, 0, 1)
        r.counters["keeper jobs"] = (
            self.perp_keeper.metrics["jobs succeeded"] + self.vault_keeper.metrics["jobs succeeded"]
        )
        r.counters["keeper races"] = (
            self.perp_keeper.metrics["raced"] + self.vault_keeper.metrics["raced"]
        )
        r.checks, r.flows = reconcile(s, self.accounts, self.first_block, c)
        r.checks.append(
            Check(
                "bad debt the pool absorbed (events) == pool_shortfall change",
                int(s.market.pool_shortfall()) - self.pool_shortfall_start,
                r.absorbed.pool_wad,
                "wad",
            )
        )


def reconcile(
    s: Stack, accounts: dict[str, Any], first_block: int, c: SimChain | None = None
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
    c = c if c is not None else ApeChain()
    token = s.collateral
    ledger: Counter[str] = Counter()
    minted = burned = 0
    flows: Counter[str] = Counter()
    names = {
        s.vault.address: "vault",
        s.market.address: "market",
        s.pool.address: "pool",
        s.insurance.address: "insurance fund",
        c.address(s.keeper): "keeper",
    }
    if s.stability_pool is not None:
        names[s.stability_pool.address] = "stability pool"
    roles = {c.address(acct): name.rstrip("0123456789") + "s" for name, acct in accounts.items()}
    zero = "0x" + "0" * 40
    for block, src, dst, value in c.transfers(token):
        if src == zero:
            minted += value
        else:
            ledger[src] -= value
        if dst == zero:
            burned += value
        else:
            ledger[dst] += value
        if block >= first_block:
            a = names.get(src) or roles.get(src) or ("faucet" if src == zero else "others")
            b = names.get(dst) or roles.get(dst) or ("burned" if dst == zero else "others")
            flows[f"{a} -> {b}"] += value
    checks: list[Check] = []
    balances = {h: int(token.balanceOf(h)) for h in ledger}
    bad_holders = [h for h, v in ledger.items() if balances[h] != v]
    checks.append(
        Check(
            f"holders whose balance differs from their Transfer logs (of {len(ledger)})",
            0,
            len(bad_holders),
            "holders",
        )
    )
    held = sum(balances.values())
    supply = int(token.totalSupply())
    checks.append(Check("Σ holder balances == totalSupply", supply, held, "units"))
    checks.append(Check("totalSupply == minted - burned", minted - burned, supply, "units"))
    depositors = c.indexed_accounts(s.vault, "Deposit")
    owed = sum(int(s.vault.position(d)[0]) for d in depositors) + int(s.vault.system_collateral())
    checks.append(
        Check(
            "vault balance == Σ collateral + system collateral",
            owed,
            int(token.balanceOf(s.vault.address)),
            "units",
        )
    )
    traders = c.indexed_accounts(s.market, "MarginDeposited")
    upu = s.usd_per_unit
    margins = sum(max(flat(s.market.position(t))[2], 0) for t in traders) // upu
    checks.append(
        Check(
            "market balance >= Σ margins",
            margins,
            int(token.balanceOf(s.market.address)),
            "units",
            exact=False,
        )
    )
    nav = max(int(token.balanceOf(s.pool.address)) + int(s.market.pool_pnl()), 0)  # token units
    checks.append(Check("pool NAV == balance + pool PnL", nav, int(s.pool.totalAssets()), "units"))
    return checks, sorted(flows.items(), key=lambda kv: -kv[1])


def prepare(stack: Stack, agents: list[ag.Agent], chain: SimChain | None = None) -> dict[str, Any]:
    """One funded account per agent (fresh keys, gas on the local chain), its cash in the
    collateral token, and its approvals; the keeper's collateral for its inventory."""
    s, c, out = stack, chain if chain is not None else ApeChain(), {}
    unit = 10 ** int(s.collateral.decimals())

    def send(contract: Any, fn: str, args: tuple[Any, ...], sender: Any) -> None:
        reason = c.send(contract, fn, args, sender)
        if reason is not None:
            raise RuntimeError(f"{fn} reverted: {reason}")

    for a, acct in zip(agents, c.new_accounts(len(agents)), strict=True):
        send(s.collateral, "faucet", (c.address(acct), a.cash_usd * unit), s.admin)
        spender = {
            ag.Kind.LP: s.pool,
            ag.Kind.BORROWER: s.vault,
            ag.Kind.SAVER: s.vault,
            ag.Kind.REDEEMER: s.vault,
            ag.Kind.TRADER: s.market,
        }[a.kind]
        send(s.collateral, "approve", (spender.address, 2**256 - 1), acct)
        if a.kind is ag.Kind.SAVER:
            if s.stability_pool is None:
                raise ValueError("savers need the vault's stability pool (redeploy)")
            send(s.synth, "approve", (s.stability_pool.address, 2**256 - 1), acct)
        out[a.name] = acct
    send(s.collateral, "faucet", (c.address(s.keeper), 400_000 * unit), s.admin)
    send(s.collateral, "approve", (s.vault.address, 2**256 - 1), s.keeper)
    return out


def deployed_market(network: Any, want: str) -> str:
    """`want` when the deployment record has a market of that name, else the only market it
    has (a replay of another equity's prices on it), else `want` (load_stack then refuses)."""
    from synthequity import deployments

    markets = deployments.load(deployments.network_key(network)).get("markets", {})
    if want.upper() in markets or len(markets) != 1:
        return want.upper()
    return str(next(iter(markets)))


def replace_policy(cfg: SimConfig, gap_mmr_bps: int | None) -> SimConfig:
    return dataclasses.replace(cfg, gap_mmr_bps=gap_mmr_bps)


def default_output(root: Path, cfg: SimConfig) -> Path:
    what = Path(cfg.scenario).stem if cfg.scenario else cfg.label
    sources = "_2sources" if cfg.confirm else ""
    return root / f"{what}_{cfg.start}_{cfg.end}_seed{cfg.seed}_{cfg.agents}agents{sources}"
