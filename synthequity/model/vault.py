"""Reference model of `SynthVault` (SPEC.md §3, §5, §7): positions, stability-fee index (wad),
minimum collateral ratio, dust, partial liquidation, bad debt, the sale of the insurance
fund's fee synth, and delisting (settlement at a frozen price, one redemption rate).

Exact integer arithmetic with the rounding SPEC.md §1 asks for: owed to the protocol rounds
up (debt growth, repayment that restores the MCR), paid out rounds down (seized collateral,
protocol fee). Used by the property and state-machine tests (contract == model) and by the
liquidation keeper to size jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

WAD = 10**18
BPS = 10_000
YEAR = 365 * 86_400
MASK96 = 2**96 - 1
# redemptions (contracts/lib/constants.vy)
REDEMPTION_FEE_FLOOR_WAD = 5 * 10**15
REDEMPTION_BETA = 2
BASE_RATE_HALF_LIFE = 12 * 3_600
MAX_REDEEMED = 64
KEEPER_SHARE_BPS = 1_000


class VaultRevert(Exception):
    """The contract would revert with `reason`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class VaultParams:
    mcr_bps: int = 15_000
    liquidation_ratio_bps: int = 12_500
    liquidation_penalty_bps: int = 1_000
    protocol_share_bps: int = 2_000
    min_debt_usd: int = 100 * WAD
    stability_fee_bps: int = 100
    debt_ceiling: int = 10**9 * WAD

    def as_tuple(self) -> tuple[int, ...]:
        return (
            self.mcr_bps,
            self.liquidation_ratio_bps,
            self.liquidation_penalty_bps,
            self.protocol_share_bps,
            self.min_debt_usd,
            self.stability_fee_bps,
            self.debt_ceiling,
        )

    @property
    def fee_per_second(self) -> int:
        """Stability fee per second, wad."""
        return self.stability_fee_bps * WAD // (BPS * YEAR)


def rate_at(rate: int, last: int, now: int, fee_per_second: int) -> int:
    """Index (wad) at `now`: compounding per accrual, linear within one, rounded up."""
    dt = now - last
    if dt == 0 or fee_per_second == 0:
        return rate
    return rate + ceil_div(rate * fee_per_second * dt, WAD)


def debt_at(debt: int, snapshot: int, rate: int) -> int:
    """Recorded debt brought to `rate` (rounded up)."""
    if debt == 0 or snapshot == rate:
        return debt
    return ceil_div(debt * rate, snapshot)


def is_below(collateral_usd: int, debt: int, price_wad: int, ratio_bps: int) -> bool:
    """collateral value / (debt x price) < ratio, exactly."""
    return collateral_usd * BPS * WAD < debt * price_wad * ratio_bps


def max_mintable(
    collateral: int, debt: int, price_wad: int, mcr_bps: int, usd_per_unit: int
) -> int:
    """The most synth a position can mint at `price_wad` (the vault's `max_mintable`): the
    debt its collateral carries at the MCR, rounded down, less the debt it has."""
    limit = collateral * usd_per_unit * BPS * WAD // (price_wad * mcr_bps)
    return max(limit - debt, 0)


def liquidation_price(collateral: int, debt: int, p: VaultParams, usd_per_unit: int) -> int | None:
    """The lowest price (wad per synth share) at which a position of `collateral` units and
    `debt` (accrued) is liquidatable: `is_below(collateral, debt, price, liquidation ratio)`
    holds from it up, and not one wei below. None without debt."""
    if debt == 0:
        return None
    return collateral * usd_per_unit * BPS * WAD // (debt * p.liquidation_ratio_bps) + 1


def dust(debt: int, price_wad: int, p: VaultParams) -> bool:
    return debt > 0 and debt * price_wad < p.min_debt_usd * WAD


@dataclass(frozen=True)
class Liquidation:
    repay: int  # synth burned from the liquidator
    seized: int  # collateral taken from the position (liquidator's part + fee)
    fee: int  # protocol share, collateral units, to the insurance fund
    bad_debt: int  # synth left unbacked (under water)
    bought: int = 0  # of `repay`, the fund's synth bought for the liquidator, which lacked it
    paid: int = 0  # collateral units the liquidator paid the fund for it (out of its proceeds)

    @property
    def to_liquidator(self) -> int:
        return self.seized - self.fee - self.paid


def liquidation(
    collateral: int, debt: int, price_wad: int, p: VaultParams, usd_per_unit: int, max_repay: int
) -> Liquidation:
    """What `liquidate(account, max_repay)` does to a position (debt already accrued)."""
    coll_usd = collateral * usd_per_unit
    if debt == 0 or not is_below(coll_usd, debt, price_wad, p.liquidation_ratio_bps):
        raise VaultRevert("vault: not liquidatable")
    pen = p.liquidation_penalty_bps
    if coll_usd * BPS * WAD < debt * price_wad * (BPS + pen):
        # under water: the collateral buys back what it covers at the penalty price
        repay = coll_usd * WAD * BPS // (price_wad * (BPS + pen))
        if repay > max_repay:
            raise VaultRevert("vault: max_repay too small")
        if repay == 0 and debt == 0:
            raise VaultRevert("vault: nothing to repay")
        return Liquidation(repay, collateral, 0, debt - repay)
    # repay R so that (C - R P (1+pen)) / ((D - R) P) = MCR
    need = p.mcr_bps * debt * price_wad - coll_usd * BPS * WAD
    repay = min(ceil_div(need, price_wad * (p.mcr_bps - BPS - pen)), debt)
    if dust(debt - repay, price_wad, p):
        repay = debt
    if repay > max_repay:
        repay = max_repay
        if dust(debt - repay, price_wad, p) or (debt - repay) * price_wad < p.min_debt_usd * WAD:
            raise VaultRevert("vault: leaves dust")
    if repay == 0:
        raise VaultRevert("vault: nothing to repay")
    seized = min(repay * price_wad * (BPS + pen) // (WAD * BPS) // usd_per_unit, collateral)
    fee = min(
        repay * price_wad * pen * p.protocol_share_bps // (WAD * BPS * BPS) // usd_per_unit, seized
    )
    return Liquidation(repay, seized, fee, 0)


def synth_cost_units(amount_wad: int, price_wad: int, usd_per_unit: int, spread_bps: int) -> int:
    """Collateral token units a buyer pays for `amount_wad` synth at the oracle price plus a
    market's `spread_bps` (a DEX pool's fee); rounded up: the buyer pays the last unit."""
    return ceil_div(amount_wad * price_wad * (BPS + spread_bps), WAD * BPS * usd_per_unit)


def keeper_reward(liq: Liquidation, price_wad: int, p: VaultParams, usd_per_unit: int) -> int:
    """`liquidate_for`'s pay to its keeper: `KEEPER_SHARE_BPS` of the penalty on the repayment,
    in collateral units (rounded down), out of what the liquidator (the pool) receives."""
    pen = p.liquidation_penalty_bps
    share = liq.repay * price_wad * pen * KEEPER_SHARE_BPS // (WAD * BPS * BPS) // usd_per_unit
    return min(share, liq.to_liquidator)


@dataclass
class Position:
    collateral: int = 0
    debt: int = 0  # recorded
    snapshot: int = WAD


def sort_key(collateral: int, debt: int, snapshot: int, usd_per_unit: int) -> int:
    """The vault's sorted-list key of a recorded position: collateral USD x the index its debt
    was recorded at / that debt, rounded down, in [1, 2^96 - 1]; 0 without debt. Untouched
    positions keep the order of their collateral ratios at every price and time."""
    if debt == 0:
        return 0
    return max(min(collateral * usd_per_unit * snapshot // debt, MASK96), 1)


def base_rate_at(base_rate: int, last: int, now: int) -> int:
    """The redemption base rate (wad) decayed from `last` to `now`: halved every 12 h, linear
    between halvings."""
    dt = now - last
    halvings = dt // BASE_RATE_HALF_LIFE
    if halvings >= 128:
        return 0
    b = base_rate >> halvings
    return b - b * (dt % BASE_RATE_HALF_LIFE) // (2 * BASE_RATE_HALF_LIFE)


@dataclass(frozen=True)
class ListEntry:
    """One node of the vault's sorted list as the chain shows it (in list order)."""

    account: str
    key: int
    collateral: int
    debt: int  # accrued to now


def insert_hint(entries: list[ListEntry], key: int, skip: str | None = None) -> str:
    """The predecessor a position of sort key `key` gets: the last node with a key below it
    (the empty address for the head), `skip` (the position itself) left out."""
    prev = ZERO
    for e in entries:
        if e.account == skip:
            continue
        if e.key >= key:
            break
        prev = e.account
    return prev


def prev_hint(entries: list[ListEntry], account: str) -> str:
    """`account`'s predecessor in the list now (the empty address when it is the head or not
    listed)."""
    prev = ZERO
    for e in entries:
        if e.account == account:
            return prev
        prev = e.account
    return ZERO


HINT_SLACK_BPS = 10  # relist_hints looks up a key this much lower (see there)


def relist_hints(
    entries: list[ListEntry],
    account: str,
    collateral: int,
    debt: int,
    rate_index: int,
    usd_per_unit: int,
) -> tuple[str, str]:
    """The hints for a call that leaves `account`'s position at `collateral` units and `debt`
    (accrued, with what the call mints or burns): (its predecessor now, the predecessor its
    new key gets). The vault checks both and walks from them, so a stale hint costs gas, never
    correctness; without hints each call walks the list from its head (a cold read per
    position). The insert hint is taken for a key `HINT_SLACK_BPS` lower, a node at or a few
    before the place: the key the vault computes at mining differs slightly from the one
    read (fees accrue meanwhile), and a hint past the place would send the walk back to the
    head."""
    key = sort_key(collateral, debt, rate_index, usd_per_unit)
    before = prev_hint(entries, account)
    if key == 0:
        return before, ZERO
    return before, insert_hint(entries, max(key - key * HINT_SLACK_BPS // BPS, 1), account)


@dataclass(frozen=True)
class RedemptionPlan:
    """What `redeem(amount, ...)` does at a price: the hints to pass, the positions it takes
    from ((account, debt, collateral) each), what it redeems and pays."""

    first_hint: str
    partial_hint: str
    taken: tuple[tuple[str, int, int], ...]
    redeemed: int
    collateral: int  # before the fee


def plan_redemption(
    entries: list[ListEntry],
    amount: int,
    price_wad: int,
    p: VaultParams,
    usd_per_unit: int,
    rate: int,
) -> RedemptionPlan:
    """The off-chain hint helper: skips the positions below the liquidation ratio, then takes
    from the riskiest up, each partly redeemed one keeping at least the minimum debt."""
    first = ZERO
    i = 0
    while i < len(entries) and is_below(
        entries[i].collateral * usd_per_unit,
        entries[i].debt,
        price_wad,
        p.liquidation_ratio_bps,
    ):
        first = entries[i].account
        i += 1
    keep = ceil_div(p.min_debt_usd * WAD, price_wad)
    left, out, taken, partial = amount, 0, [], ZERO
    for e in entries[i : i + MAX_REDEEMED]:
        if left == 0:
            break
        take = min(left, e.debt)
        if take < e.debt and e.debt - take < keep:
            if e.debt <= keep:
                break
            take = e.debt - keep
        coll = take * price_wad // (WAD * usd_per_unit)
        taken.append((e.account, take, coll))
        left -= take
        out += coll
        if take < e.debt:
            key = sort_key(e.collateral - coll, e.debt - take, rate, usd_per_unit)
            rest = [x for x in entries if x.account not in {t[0] for t in taken}]
            partial = insert_hint(rest, key, skip=e.account)
            break
    return RedemptionPlan(first, partial, tuple(taken), amount - left, out)


def redemption_fee_wad(base_rate: int, last: int, now: int, redeemed: int, supply: int) -> int:
    """(new base rate, fee rate) of a redemption of `redeemed` out of `supply`, wad."""
    base = min(
        base_rate_at(base_rate, last, now) + redeemed * WAD // supply // REDEMPTION_BETA, WAD
    )
    return min(base + REDEMPTION_FEE_FLOOR_WAD, WAD)


ZERO = "0x" + "0" * 40


@dataclass
class VaultModel:
    """The whole vault: what every view and balance should read after each action."""

    usd_per_unit: int
    params: VaultParams = field(default_factory=VaultParams)
    rate: int = WAD
    last: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    synth: dict[str, int] = field(default_factory=dict)  # synth balances
    system_debt: int = 0
    system_collateral: int = 0
    insurance_collateral: int = 0  # IF's stablecoin balance
    paused: bool = False
    settlement_price: int = 0  # wad per share; nonzero once delisted (fees stopped)
    redemption_rate: int = 0  # USD wad per share, fixed by the first redemption
    base_rate: int = 0  # redemption base rate, wad
    base_rate_time: int = 0  # when it was last raised

    # ---- helpers ----------------------------------------------------------------
    @property
    def total_supply(self) -> int:
        return sum(self.synth.values())

    def pos(self, who: str) -> Position:
        return self.positions.setdefault(who, Position())

    def rate_now(self, now: int) -> int:
        if self.settlement_price:
            return self.rate  # frozen by `settle`
        return rate_at(self.rate, self.last, now, self.params.fee_per_second)

    def _require_listed(self) -> None:
        if self.settlement_price:
            raise VaultRevert("vault: settled")

    def position_debt(self, now: int) -> int:
        """Σ debt of every position, fees accrued to now."""
        return sum(self.view(w, now)[1] for w in self.positions)

    def view(self, who: str, now: int) -> tuple[int, int]:
        p = self.positions.get(who, Position())
        return p.collateral, debt_at(p.debt, p.snapshot, self.rate_now(now))

    def _accrue(self, now: int) -> int:
        self.rate, self.last = self.rate_now(now), now
        return self.rate

    def _touch(self, who: str, now: int) -> Position:
        rate = self._accrue(now)
        p = self.pos(who)
        current = debt_at(p.debt, p.snapshot, rate)
        if current != p.debt:
            self.synth["insurance"] = self.synth.get("insurance", 0) + current - p.debt
        p.debt = current
        if p.debt:
            p.snapshot = rate
        return p

    def _move_synth(self, who: str, delta: int) -> None:
        bal = self.synth.get(who, 0) + delta
        if bal < 0:
            raise VaultRevert("erc20: burn amount exceeds balance")
        self.synth[who] = bal

    @staticmethod
    def _risk_price(price: int, risk_error: str | None) -> int:
        """`risk_error`: why the oracle's price is not usable for risk ("market closed",
        "market halted", "stale price"), or None when it is."""
        if risk_error:
            raise VaultRevert(risk_error)
        return price

    def is_liquidatable(self, who: str, price: int, risk_error: str | None, now: int) -> bool:
        coll, debt = self.view(who, now)
        return (
            risk_error is None
            and not self.settlement_price
            and debt > 0
            and is_below(coll * self.usd_per_unit, debt, price, self.params.liquidation_ratio_bps)
        )

    # ---- actions (validate first, then mutate: a revert changes nothing) ------------
    def deposit(self, who: str, amount: int, now: int) -> None:
        if amount == 0:
            raise VaultRevert("vault: zero amount")
        self._require_listed()
        self.pos(who).collateral += amount

    def mint(self, who: str, amount: int, price: int, risk_error: str | None, now: int) -> None:
        if amount == 0:
            raise VaultRevert("vault: zero amount")
        self._require_listed()
        if self.paused:
            raise VaultRevert("pausable: contract is paused")
        price = self._risk_price(price, risk_error)
        coll, debt = self.view(who, now)
        debt += amount
        if is_below(coll * self.usd_per_unit, debt, price, self.params.mcr_bps):
            raise VaultRevert("vault: below MCR")
        if dust(debt, price, self.params):
            raise VaultRevert("vault: debt below minimum")
        fees = debt - amount - self.pos(who).debt
        if self.total_supply + fees + amount > self.params.debt_ceiling:
            raise VaultRevert("vault: debt ceiling")
        p = self._touch(who, now)
        p.debt += amount
        p.snapshot = self.rate
        self._move_synth(who, amount)

    def withdraw(self, who: str, amount: int, price: int, risk_error: str | None, now: int) -> None:
        if amount == 0:
            raise VaultRevert("vault: zero amount")
        self._require_listed()
        coll, debt = self.view(who, now)
        if amount > coll:
            raise VaultRevert("vault: exceeds collateral")
        if debt:
            if self.paused:
                raise VaultRevert("pausable: contract is paused")
            price = self._risk_price(price, risk_error)
            if is_below((coll - amount) * self.usd_per_unit, debt, price, self.params.mcr_bps):
                raise VaultRevert("vault: below MCR")
        p = self._touch(who, now)
        p.collateral -= amount

    def burn(self, who: str, amount: int, mark: int, now: int) -> None:
        if amount == 0:
            raise VaultRevert("vault: zero amount")
        self._require_listed()
        _, debt = self.view(who, now)
        if amount > debt:
            raise VaultRevert("vault: exceeds debt")
        if dust(debt - amount, mark, self.params):
            raise VaultRevert("vault: debt below minimum")
        if self.synth.get(who, 0) < amount:
            raise VaultRevert("erc20: burn amount exceeds balance")
        p = self._touch(who, now)
        p.debt -= amount
        self._move_synth(who, -amount)

    def close(
        self, who: str, now: int, price: int = 0, risk_error: str | None = None
    ) -> tuple[int, int]:
        """`close()`: returns (collateral returned, debt repaid). What `who`'s synth lacks is
        bought from the fund's synth (fees, including those this close mints) at the oracle
        price, paid out of the returned collateral; that part needs a usable price."""
        coll, debt = self.view(who, now)
        if coll == 0 and debt == 0:
            raise VaultRevert("vault: no position")
        if debt:
            self._require_listed()
        available = self.fee_synth_available(who, now)
        short, paid = self._short_purchase(who, debt, available, coll, price, risk_error)
        self._touch(who, now)
        self.positions[who] = Position()
        self._burn_buying_short(who, debt, short, paid)
        return coll - paid, debt

    def fee_synth_available(self, who: str, now: int) -> int:
        """`fee_synth_available(who)`: the fund's synth plus the fee `who` accrued since it
        last changed, which the next call touching it mints to the fund first."""
        stored = self.positions[who].debt if who in self.positions else 0
        return self.synth.get("insurance", 0) + self.view(who, now)[1] - stored

    def _short_purchase(
        self,
        who: str,
        amount: int,
        available: int,
        max_paid: int,
        price: int,
        risk_error: str | None,
    ) -> tuple[int, int]:
        """What `who`'s synth lacks of `amount` and its cost from the fund's synth
        (`available`: `fee_synth_available` before the call); checked, nothing moved."""
        short = max(amount - self.synth.get(who, 0), 0)
        if not short:
            return 0, 0
        paid = self.fee_synth_cost(short, self._risk_price(price, risk_error))
        if short > available or paid > max_paid:
            raise VaultRevert("vault: synth short")
        return short, paid

    def _burn_buying_short(self, who: str, amount: int, short: int, paid: int) -> None:
        self.insurance_collateral += paid
        self._move_synth("insurance", -short)
        self._move_synth(who, -(amount - short))

    def liquidate(
        self,
        liquidator: str,
        who: str,
        max_repay: int,
        price: int,
        risk_error: str | None,
        now: int,
    ) -> Liquidation:
        self._require_listed()
        price = self._risk_price(price, risk_error)
        coll, debt = self.view(who, now)
        liq = liquidation(coll, debt, price, self.params, self.usd_per_unit, max_repay)
        available = self.fee_synth_available(who, now)
        # (through the stability pool, `max_repay` is its joined total, which its balance
        # covers: it never buys, so the keeper's reward needs no place here)
        short, paid = self._short_purchase(
            liquidator, liq.repay, available, liq.to_liquidator, price, None
        )
        p = self._touch(who, now)
        p.collateral -= liq.seized
        p.debt -= liq.repay + liq.bad_debt
        self._burn_buying_short(liquidator, liq.repay, short, paid)
        self.insurance_collateral += liq.fee
        if liq.bad_debt:
            self._take_bad_debt(liq.bad_debt, price)
        return replace(liq, bought=short, paid=paid) if short else liq

    def key_of(self, who: str) -> int:
        """The sorted-list key the chain should hold for `who` (0: not listed)."""
        p = self.positions.get(who, Position())
        return sort_key(p.collateral, p.debt, p.snapshot, self.usd_per_unit)

    def redeem_listed(
        self,
        redeemer: str,
        order: list[str],
        amount: int,
        max_fee_bps: int,
        price: int,
        risk_error: str | None,
        now: int,
    ) -> tuple[int, int, int, tuple[tuple[str, int, int], ...]]:
        """`redeem(amount, max_fee_bps)` while listed, `order` being the chain's sorted list:
        (redeemed, paid to the redeemer, fee to the fund, the positions taken from)."""
        if amount == 0:
            raise VaultRevert("vault: zero amount")
        self._require_listed()
        price = self._risk_price(price, risk_error)
        rate = self.rate_now(now)
        entries = [
            ListEntry(a, self.key_of(a), self.pos(a).collateral, self.view(a, now)[1])
            for a in order
        ]
        plan = plan_redemption(entries, amount, price, self.params, self.usd_per_unit, rate)
        if plan.redeemed == 0:
            raise VaultRevert("vault: nothing to redeem")
        supply = self.total_supply  # before the accrued fees are minted
        fee_wad = redemption_fee_wad(
            self.base_rate, self.base_rate_time, now, plan.redeemed, supply
        )
        if fee_wad * BPS > max_fee_bps * WAD:
            raise VaultRevert("vault: fee above max")
        if self.synth.get(redeemer, 0) < plan.redeemed:
            raise VaultRevert("erc20: burn amount exceeds balance")
        self.base_rate = min(
            base_rate_at(self.base_rate, self.base_rate_time, now)
            + plan.redeemed * WAD // supply // REDEMPTION_BETA,
            WAD,
        )
        self.base_rate_time = now
        for account, take, coll in plan.taken:
            pos = self._touch(account, now)
            pos.collateral -= coll
            pos.debt -= take
        fee = ceil_div(plan.collateral * fee_wad, WAD)
        self._move_synth(redeemer, -plan.redeemed)
        self.insurance_collateral += fee
        return plan.redeemed, plan.collateral - fee, fee, plan.taken

    def _take_bad_debt(self, bad: int, price: int) -> int:
        """The system takes `bad` synth over; the fund covers what it can; returns covered."""
        gap = ceil_div(ceil_div(bad * price, WAD), self.usd_per_unit)
        covered = min(gap, self.insurance_collateral)
        self.insurance_collateral -= covered
        self.system_debt += bad
        self.system_collateral += covered
        return covered

    # ---- the insurance fund's fee synth ------------------------------------------------
    def fee_synth_cost(self, amount: int, price: int) -> int:
        """Collateral units `buy_fee_synth(amount)` costs at `price` (rounded up)."""
        return ceil_div(amount * price, WAD * self.usd_per_unit)

    def buy_fee_synth(
        self, who: str, amount: int, max_paid: int, price: int, risk_error: str | None
    ) -> int:
        """The fund's synth to `who` at the oracle price, paid to the fund; returns paid."""
        if amount == 0:
            raise VaultRevert("vault: zero amount")
        self._require_listed()
        price = self._risk_price(price, risk_error)
        if amount > self.synth.get("insurance", 0):
            raise VaultRevert("vault: exceeds fee synth")
        paid = self.fee_synth_cost(amount, price)
        if paid > max_paid:
            raise VaultRevert("vault: max_paid too small")
        self.insurance_collateral += paid
        self._move_synth("insurance", -amount)
        self._move_synth(who, amount)
        return paid

    # ---- delisting ---------------------------------------------------------------------
    def settle(self, mark: int, now: int) -> None:
        """`settle()`: frozen at the last price; the fee stops."""
        self._require_listed()
        self._accrue(now)
        self.settlement_price = mark

    def settle_position(self, caller: str, account: str, now: int) -> int:
        """`settle_position(account)` by `caller`; returns the account's equity (paid to it
        when it is the caller, else left as its debt-free collateral)."""
        price = self.settlement_price
        if not price:
            raise VaultRevert("vault: not settled")
        coll, debt = self.view(account, now)
        if not (debt or (coll and caller == account)):
            raise VaultRevert("vault: no position")
        self._touch(account, now)
        owed = ceil_div(debt * price, WAD * self.usd_per_unit)
        paid = 0
        if coll >= owed:
            paid = coll - owed
            self.system_debt += debt
            self.system_collateral += owed
        else:
            backed = coll * self.usd_per_unit * WAD // price
            self.system_debt += backed
            self.system_collateral += coll
            self._take_bad_debt(debt - backed, price)
        self.positions[account] = Position(0 if caller == account else paid)
        return paid

    def redeem(self, holder: str, amount: int) -> int:
        """`redeem(amount)` by `holder` (or `redeem_fees()` with holder "insurance")."""
        price = self.settlement_price
        if not price:
            raise VaultRevert("vault: not settled")
        if amount == 0:
            raise VaultRevert("vault: zero amount")
        if self.total_supply != self.system_debt or amount > self.system_debt:
            raise VaultRevert("vault: settle positions first")
        if self.synth.get(holder, 0) < amount:
            raise VaultRevert("erc20: burn amount exceeds balance")
        if not self.redemption_rate:
            self.redemption_rate = min(
                price, self.system_collateral * self.usd_per_unit * WAD // self.system_debt
            )
        paid = amount * self.redemption_rate // WAD // self.usd_per_unit
        self.system_debt -= amount
        self.system_collateral -= paid
        self._move_synth(holder, -amount)
        if holder == "insurance":
            self.insurance_collateral += paid
        return paid
