"""The oracle keeper's chain (`FeedIO`, and `SplitStaging`) over the oracle's reference model,
`synthequity.model.oracle.FeedModel`: the contract's rules without a node, for the keeper's
tests.

    io = ModelFeed(head_time, reporter="r1")
    OracleKeeper(io=io, source=..., policy=...).tick(now)
    io.model.latest    # what the chain would hold
"""

from __future__ import annotations

from dataclasses import dataclass

from ape.exceptions import ContractLogicError

from synthequity.keepers.oracle.logic import FeedState, Observation
from synthequity.model.oracle import FeedModel, PushRejected


@dataclass
class Receipt:
    gas_used: int = 40_000
    txn_hash: str = "0x00"


class ModelFeed:
    """One reporter's view of a `FeedModel` on a clock of its own (`head_time`: the last
    block's time). `fail_reads`: that many reads fail as a dead node's would; `admin`: the
    account holds DEFAULT_ADMIN (may stage splits). Counts `sent` pushes and `reconnects`."""

    def __init__(
        self,
        head_time: int,
        model: FeedModel | None = None,
        reporter: str = "keeper",
        admin: bool = False,
        fail_reads: int = 0,
    ):
        self.model = model or FeedModel()
        self.reporter, self.admin = reporter, admin
        self.head_time = head_time
        self.fail_reads = fail_reads
        self.reconnects = 0
        self.sent = 0

    # ---- FeedIO ---------------------------------------------------------------------------
    def read(self) -> FeedState | None:
        if self.fail_reads:
            self.fail_reads -= 1
            raise ConnectionError("connection refused")
        return FeedState.of_model(self.model)

    def next_block_time(self) -> int:
        return self.head_time + 1

    def warp_to(self, ts: int) -> None:
        self.head_time = max(self.head_time, ts - 1)

    def push(self, obs: Observation) -> Receipt:
        self.head_time += 1
        self.sent += 1
        try:
            self.model.push(
                self.reporter, obs.answer, obs.observed_at, int(obs.status), self.head_time
            )
        except PushRejected as exc:
            raise ContractLogicError(exc.reason) from None
        return Receipt()

    def reconnect(self) -> None:
        self.reconnects += 1

    # ---- DividendStaging ------------------------------------------------------------------
    def staged_dividend(self) -> tuple[int, int, bool]:
        return self.model.dividend or (0, 0, False)

    def stage_dividend(self, amount: int, activation: int) -> Receipt:
        try:
            self.model.stage_dividend(
                amount, activation, self.head_time + 1, admin=self.admin, reporter=True
            )
        except PushRejected as exc:
            raise ContractLogicError(exc.reason) from None
        self.head_time += 1
        return Receipt()

    # ---- SplitStaging ---------------------------------------------------------------------
    def staged_split(self) -> tuple[int, int]:
        return self.model.split or (0, 0)

    def can_stage_splits(self) -> bool:
        return self.admin

    def stage_split(self, ratio: int, activation: int) -> Receipt:
        if not self.admin:
            raise ContractLogicError("access is denied")
        self.model.stage_split(ratio, activation, self.head_time + 1)
        return Receipt()
