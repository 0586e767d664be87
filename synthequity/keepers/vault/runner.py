"""The vault liquidation keeper: one `tick()` per new block pages `Deposit` logs into the
account index, checks every tracked position through `liquidatable(accounts)` (500 per call),
reads the flagged positions, the stability pool's deposits and the keeper's sTSLA inventory,
and liquidates riskiest first through the pool what its deposits cover (the keeper needs no
synth and is paid its share of the penalty), else what the inventory can fund
(`logic.vault_jobs`; what it lacks the vault buys from the insurance fund's fee synth in the
same call); the rest is refused and logged, never sent to revert. Simulation,
profitability, races and retries live in the shared loop (`keepers.shell`); the JSON-RPC
transport in `keepers.transport`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from synthequity.contracts import at, base_price_wad
from synthequity.keepers.jobs import LogRef
from synthequity.keepers.shell import ChainIO, ChainKeeper, Job
from synthequity.keepers.transport import ApeChainIO
from synthequity.keepers.vault.logic import POOL_LIQUIDATE, inventory_shortfall, vault_jobs
from synthequity.logs import event
from synthequity.model import vault as v


class VaultIO(ChainIO, Protocol):
    """What the vault keeper reads besides `ChainIO` (`ApeVaultIO` over Ape)."""

    usd_per_unit: int  # wad USD per collateral token unit

    def price(self) -> int: ...  # per base share
    def positions(self, accounts: list[str]) -> dict[str, tuple[int, int]]: ...
    def inventory(self) -> int: ...  # the keeper's synth balance
    def pool_deposits(self) -> int: ...  # what the stability pool can burn now (0: none)
    def fee_synth(self, accounts: list[str]) -> dict[str, int]: ...  # fee_synth_available
    def params(self) -> v.VaultParams: ...


@dataclass
class VaultKeeper(ChainKeeper):
    io: VaultIO
    name: str = "vault"

    def work(self) -> None:
        if not self.config.liquidations:
            return
        flagged = self.check()
        if not flagged:
            return
        price = self._rpc(self.io.price, "price")
        positions = self._rpc(lambda: self.io.positions(flagged), "positions")
        inventory = self._rpc(self.io.inventory, "inventory")
        pool = self._rpc(self.io.pool_deposits, "pool deposits")
        params = self._rpc(self.io.params, "params")
        fee_synth = self._rpc(lambda: self.io.fee_synth(flagged), "fee synth")
        jobs, refused = vault_jobs(
            positions, price, params, self.io.usd_per_unit, inventory, pool, fee_synth
        )
        missing = (
            inventory_shortfall(positions, price, params, self.io.usd_per_unit, inventory, pool)
            if refused
            else 0
        )
        for account in refused:
            self.metrics["refused: no inventory"] += 1
            event(
                self.log,
                "refused: sTSLA inventory and stability pool too small",
                account=account,
                held=inventory,
                pool=pool,
                missing=missing,  # the sTSLA that would fund every job (buy it, then retry)
            )
        self.send_jobs(
            [
                Job(POOL_LIQUIDATE, (j.account,), j.profit_usd, j)
                if j.via_pool
                else Job("liquidate", (j.account, j.max_repay), j.profit_usd, j)
                for j in jobs
            ]
        )


class PoolJobs:
    """The stability pool a vault keeper liquidates through when it covers a job (`use_pool`);
    the I/O routes `POOL_LIQUIDATE` jobs to it (`_target`, which both I/Os send through).
    Also the vault reads both I/Os make alike through their `call_many`."""

    pool: Any = None  # the vault's StabilityPool, when deployed
    vault: Any  # the I/O's vault (set by it)
    call_many: Callable[[str, list[tuple[Any, ...]]], list[Any]]  # the I/O's (not set here)

    def _target(self, fn: str) -> tuple[Any, str]:
        """`POOL_LIQUIDATE` jobs go to the pool's `liquidate`, the rest to the vault (both
        I/Os route through here)."""
        if fn == POOL_LIQUIDATE and self.pool is not None:
            return self.pool, "liquidate"
        return self.vault, fn

    def use_pool(self, pool: Any) -> None:
        """Liquidate through `pool` (the vault's `StabilityPool`) when it can cover a job."""
        self.pool = pool

    def pool_deposits(self) -> int:
        return 0 if self.pool is None else int(self.pool.total_deposits())

    def fee_synth(self, accounts: list[str]) -> dict[str, int]:
        """The vault's `fee_synth_available` by account (the I/O's `call_many`)."""
        rows = self.call_many("fee_synth_available", [(a,) for a in accounts])
        return {a: int(r[0]) for a, r in zip(accounts, rows, strict=True)}


class ApeVaultIO(PoolJobs, ApeChainIO):
    """The vault's reads over Ape."""

    RACED = ("not liquidatable",)

    def __init__(self, vault: Any, account: Any, native_usd: int = 3_000 * 10**18, **rpc: Any):
        from ape import project

        super().__init__(vault, account, native_usd, **rpc)
        self.vault = vault
        self.oracle = at(project.EquityOracle, vault.oracle())
        self.synth = at(project.SynthToken, vault.SYNTH())
        # any ERC-20's `decimals()`: the mock's ABI is the standard one
        decimals = at(project.MockStablecoin, vault.COLLATERAL()).decimals()
        self.usd_per_unit = 10 ** (18 - decimals)

    def account_logs(self, lo: int, hi: int) -> list[tuple[LogRef, str]]:
        return self.logs(self.vault.Deposit, lo, hi)

    def price(self) -> int:
        return base_price_wad(self.oracle)  # per base share: positions are kept in them

    def positions(self, accounts: list[str]) -> dict[str, tuple[int, int]]:
        rows = self.call_many("position", [(a,) for a in accounts])  # debt accrued to the head
        return {a: (int(r[0]), int(r[1])) for a, r in zip(accounts, rows, strict=True)}

    def inventory(self) -> int:
        return int(self.synth.balanceOf(self.account))

    def params(self) -> v.VaultParams:
        return v.VaultParams(*self.vault.risk_params())  # read each time: RISK_ADMIN may move it
