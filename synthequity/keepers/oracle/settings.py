"""Oracle keeper settings: defaults from docs/spec.md §9, overridable by environment variables
(`SYNTHEQUITY_ORACLE_DEVIATION_BPS=25`) and then by command-line flags."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from synthequity.keepers.oracle.logic import PushPolicy


class OracleKeeperSettings(BaseSettings):
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

    def policy(self) -> PushPolicy:
        return PushPolicy(
            deviation_bps=self.deviation_bps,
            heartbeat_open_s=self.heartbeat_open_s,
            heartbeat_closed_s=self.heartbeat_closed_s,
            max_source_age_s=self.max_source_age_s,
            confirm_tolerance_bps=self.confirm_tolerance_bps,
        )
