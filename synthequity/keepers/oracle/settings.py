"""Oracle keeper settings: defaults from docs/spec.md §9, then a TOML file (`--config
oracle.toml`, or SYNTHEQUITY_ORACLE_CONFIG), then environment variables
(`SYNTHEQUITY_ORACLE_DEVIATION_BPS=25`), then command-line flags — each overriding the one
before, as the other keepers' (`synthequity.keepers.settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from synthequity.keepers.oracle.logic import PushPolicy, parse_band
from synthequity.keepers.oracle.sources import SourceConfig, parse_headers
from synthequity.keepers.settings import FileSettings, load_file_settings


class OracleKeeperSettings(FileSettings):
    model_config = SettingsConfigDict(env_prefix="SYNTHEQUITY_ORACLE_")

    deviation_bps: int = Field(50, ge=1, le=5_000)
    heartbeat_open_s: int = Field(60, ge=1)
    heartbeat_closed_s: int = Field(0, ge=0)
    max_source_age_s: int = Field(120, ge=1)
    confirm_tolerance_bps: int = Field(500, ge=1, le=5_000)
    poll_interval_s: float = Field(1.0, gt=0)
    rpc_attempts: int = Field(6, ge=1)
    # stock splits the source's quotes cross, "DATE:RATIO,..." (docs/spec.md §6); a CSV of
    # split-adjusted bars is then replayed as each day's unadjusted quotes
    splits: str = ""
    # cash dividends the quotes cross, "EX_DATE:USD,..." or a CSV path (ex_date,amount): the
    # primary stages each on the oracle a day ahead at least (docs/runbooks/dividends.md)
    dividends: str = ""
    # the first push bound, "LO:HI" in USD (`--expect`): the first round of a feed, or the
    # first after an outage of more than `outage_s`, outside it is refused
    expect: str = ""
    outage_s: int = Field(96 * 3_600, ge=3_600)
    # stage the splits the source announces (Data Streams v10) with the keeper's account
    # (it then needs DEFAULT_ADMIN: a testnet; on a mainnet the admin stages what it logs)
    stage_splits: bool = False

    # network sources (docs/runbooks/price-sources.md): endpoints and credentials, from the
    # environment (SYNTHEQUITY_ORACLE_PYTH_API_KEY=...), never from the command line
    pyth_url: str = "https://hermes.pyth.network"
    pyth_api_key: SecretStr = SecretStr("")
    datastreams_url: str = "https://api.dataengine.chain.link"
    datastreams_api_key: SecretStr = SecretStr("")
    datastreams_api_secret: SecretStr = SecretStr("")
    http_headers: SecretStr = SecretStr("")  # "Name: value; Other: value", for http: sources
    source_timeout_s: float = Field(5.0, gt=0, le=60)
    source_backoff_s: float = Field(60.0, ge=1, le=3_600)  # after a 429, doubling to 600 s
    # Prometheus /metrics and JSON /health (synthequity.keepers.metrics); none when unset
    metrics_port: int | None = Field(None, ge=0, le=65_535)
    metrics_host: str = "127.0.0.1"
    health_stale_s: float = Field(60.0, gt=0)  # /health: 503 when no tick for this long

    def policy(self) -> PushPolicy:
        return PushPolicy(
            deviation_bps=self.deviation_bps,
            heartbeat_open_s=self.heartbeat_open_s,
            heartbeat_closed_s=self.heartbeat_closed_s,
            max_source_age_s=self.max_source_age_s,
            confirm_tolerance_bps=self.confirm_tolerance_bps,
            expect=parse_band(self.expect) if self.expect else None,
            outage_s=self.outage_s,
        )

    def source_config(self) -> SourceConfig:
        return SourceConfig(
            pyth_url=self.pyth_url,
            pyth_api_key=self.pyth_api_key.get_secret_value(),
            datastreams_url=self.datastreams_url,
            datastreams_api_key=self.datastreams_api_key.get_secret_value(),
            datastreams_api_secret=self.datastreams_api_secret.get_secret_value(),
            http_headers=parse_headers(self.http_headers.get_secret_value()),
            timeout_s=self.source_timeout_s,
            backoff_s=self.source_backoff_s,
        )


def load_oracle_settings(config: str | Path | None = None, **flags: Any) -> OracleKeeperSettings:
    """The process's settings: `flags` left at None are not given (the environment or the
    file decide); `config` (else SYNTHEQUITY_ORACLE_CONFIG) names the TOML file (top-level
    keys: the fields above, e.g. `deviation_bps = 25`, `pyth_api_key = "..."`)."""
    given = {k: v for k, v in flags.items() if v is not None}
    return load_file_settings(OracleKeeperSettings, config, "SYNTHEQUITY_ORACLE_CONFIG", given)
