"""Settings of the order and liquidation keepers (`ape run keeper orders|liquidate`), one typed
object per process: defaults here, then a TOML config file (`--config`, or
`SYNTHEQUITY_KEEPER_CONFIG`), then the environment (`SYNTHEQUITY_KEEPER_MIN_PROFIT_USD=2`,
nested with `__`: `SYNTHEQUITY_KEEPER_BATCH__SENDS=1`), then the command-line flags — each
overriding the one before.

JSON-RPC batch sizes default per network: generous on a local node, within what hosted
providers publish elsewhere (`keepers.transport.HOSTED`); `[networks."arbitrum:sepolia"]` in
the file sets a network's own, and `batch` (or `--batch-*`) overrides both.

    # keeper.toml
    symbol = "TSLA"
    min_profit_usd = 1.5
    shard = "0/2"
    metrics_port = 9101
    [networks."ethereum:sepolia"]
    reads = 50
    sends = 1
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from synthequity.keepers.jobs import Shard
from synthequity.keepers.transport import HOSTED, LOCAL, BatchLimits


class FileSettings(BaseSettings):
    """A keeper's settings: the flags (init) over the environment over a TOML file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


S = TypeVar("S", bound="FileSettings")


def load_file_settings(
    cls: type[S], config: str | Path | None, env_var: str, given: dict[str, Any]
) -> S:
    """`cls` from `given` (the flags given), the environment and the TOML file `config` (else
    `$env_var`); a missing file refuses to start."""
    path = config or os.environ.get(env_var)
    if path and not Path(path).is_file():
        raise SystemExit(f"refused: config file {path} not found")
    if path:
        cls = type(
            f"{cls.__name__}FromFile",
            (cls,),
            {"model_config": SettingsConfigDict(**{**cls.model_config, "toml_file": path})},
        )
    return cls(**given)


class BatchSizes(BaseModel):
    """Overrides of `BatchLimits`; a field left out keeps the network's default."""

    model_config = {"extra": "forbid"}

    reads: int | None = Field(None, ge=1, le=1_000)
    simulations: int | None = Field(None, ge=1, le=1_000)
    sends: int | None = Field(None, ge=1, le=1_000)
    receipts: int | None = Field(None, ge=1, le=1_000)
    multicall: int | None = Field(None, ge=0, le=1_000)  # 0: never use Multicall3

    def over(self, base: BatchLimits) -> BatchLimits:
        return dataclasses.replace(base, **self.model_dump(exclude_none=True))


class KeeperSettings(FileSettings):
    model_config = SettingsConfigDict(
        env_prefix="SYNTHEQUITY_KEEPER_", env_nested_delimiter="__", extra="forbid"
    )

    symbol: str = "TSLA"
    market_address: str | None = None  # PerpMarket (else the deployment record's)
    vault_address: str | None = None  # SynthVault (else the deployment record's)
    book: Literal["all", "perp", "vault"] = "all"
    from_block: int | None = Field(None, ge=0)
    poll: float = Field(0.5, gt=0)  # seconds between ticks
    max_ticks: int | None = Field(None, ge=1)
    max_fee_gwei: float | None = Field(None, gt=0)
    min_profit_usd: float = Field(0.0, ge=0)
    native_usd: float = Field(3_000.0, gt=0)
    dry_run: bool = False
    log_format: Literal["json", "plain"] = "json"
    page_size: int = Field(2_000, ge=1, le=100_000)  # blocks per eth_getLogs
    rpc_attempts: int = Field(6, ge=1, le=50)
    shard: str = "0/1"  # i/N: this process's part of the book
    metrics_port: int | None = Field(None, ge=0, le=65_535)  # 0: any free port
    metrics_host: str = "127.0.0.1"
    health_stale_s: float = Field(60.0, gt=0)  # /health: the loop ticked within this
    health_max_block_age_s: float = Field(300.0, gt=0)  # /health: the head is this recent
    rpc_url: str | None = None  # JSON-RPC batches go here (default: the provider's URL)
    batch: BatchSizes = Field(default_factory=BatchSizes)
    networks: dict[str, BatchSizes] = Field(default_factory=dict)  # "ecosystem:network"

    @field_validator("shard")
    @classmethod
    def _shard(cls, value: str) -> str:
        Shard.parse(value)
        return value

    def shard_of(self) -> Shard:
        return Shard.parse(self.shard)

    def limits(self, network: str, local: bool) -> BatchLimits:
        """The batch sizes on `network` ("ethereum:sepolia"): its default, then the file's
        `[networks."..."]`, then `batch` / the flags."""
        base = LOCAL if local else HOSTED
        if network in self.networks:
            base = self.networks[network].over(base)
        return self.batch.over(base)


def load_settings(config: str | Path | None = None, **flags: Any) -> KeeperSettings:
    """The process's settings: `flags` left at None are not given (the environment or the
    file decide); `config` (else SYNTHEQUITY_KEEPER_CONFIG) names the TOML file."""
    given = {k: v for k, v in flags.items() if v is not None}
    batch = {k: given.pop(f"batch_{k}") for k in BatchSizes.model_fields if f"batch_{k}" in given}
    if batch:
        given["batch"] = batch
    return load_file_settings(KeeperSettings, config, "SYNTHEQUITY_KEEPER_CONFIG", given)
