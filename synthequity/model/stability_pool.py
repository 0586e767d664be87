"""Reference model of `StabilityPool` in exact rational arithmetic: every liquidation through
the pool takes its synth and gives its collateral pro rata to the deposits taking part, and a
deposit takes part once the second one-hour window after its own has begun. The contract's
product-sum scheme must match it to a stated bound (tests/unit/test_redemption_pool.py),
always in the pool's favour (never more than the exact share)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

WINDOW = 3_600


@dataclass
class StabilityPoolModel:
    usd_per_unit: int
    active: dict[str, Fraction] = field(default_factory=dict)  # compounded synth, exact
    gains: dict[str, Fraction] = field(default_factory=dict)  # USD wad owed, exact
    pending: dict[str, tuple[int, int]] = field(default_factory=dict)  # (amount, window)
    received: int = 0  # collateral units gained from liquidations
    paid: dict[str, int] = field(default_factory=dict)  # collateral units paid out

    @property
    def total(self) -> Fraction:
        return sum(self.active.values(), Fraction(0))

    def join(self, now: int) -> None:
        """Waiting deposits at least one full window old take part from now."""
        for who, (amount, w) in list(self.pending.items()):
            if w + 2 <= now // WINDOW:
                self.active[who] = self.active.get(who, Fraction(0)) + amount
                del self.pending[who]

    def deposit(self, who: str, amount: int, now: int) -> None:
        self.join(now)
        old, _ = self.pending.get(who, (0, 0))
        self.pending[who] = (old + amount, now // WINDOW)

    def withdraw(self, who: str, amount: int, now: int) -> int:
        """Waiting synth first, then the deposit taking part (its compounded value)."""
        self.join(now)
        pend, w = self.pending.get(who, (0, 0))
        from_pending = min(amount, pend)
        if from_pending:
            self.pending[who] = (pend - from_pending, w)
        rest = min(Fraction(amount - from_pending), self.active.get(who, Fraction(0)))
        if rest:
            self.active[who] -= rest
        return from_pending + int(rest)

    def offset(self, debt: int, collateral: int, now: int) -> None:
        """A liquidation through the pool: `debt` synth burned, `collateral` units gained."""
        self.join(now)
        total = self.total
        assert total > 0 and 0 <= debt <= total  # under water a repayment may round to 0
        self.received += collateral
        for who, value in self.active.items():
            share = value / total
            self.gains[who] = (
                self.gains.get(who, Fraction(0)) + share * collateral * self.usd_per_unit
            )
            self.active[who] = value - share * debt

    def claim(self, who: str, paid_units: int) -> None:
        """The contract paid `who` `paid_units`: recorded, the exact gain owed drops by it."""
        self.paid[who] = self.paid.get(who, 0) + paid_units
        self.gains[who] = self.gains.get(who, Fraction(0)) - paid_units * self.usd_per_unit
