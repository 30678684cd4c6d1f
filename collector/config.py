"""Typed settings for the store and the collector, read from `AGENTMORTEM_*` env vars.

One pydantic-settings model, validated at start-up; `get_settings()` caches it and
tests build their own `Settings(...)` instead of touching the environment.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CLICKHOUSE_URL = "chdb:///./agentmortem-data"


class Settings(BaseSettings):
    """Everything the collector (and the shared store) can be told."""

    model_config = SettingsConfigDict(env_prefix="AGENTMORTEM_", extra="ignore")

    # -- store -------------------------------------------------------------
    clickhouse_url: str = Field(
        DEFAULT_CLICKHOUSE_URL,
        description="chdb:///path (embedded engine) or http(s)://user:pass@host:8123/db",
    )
    ttl_days: int = Field(0, ge=0, description="Drop spans older than this many days (0 = keep)")
    fsync_after_insert: bool = Field(
        False, description="fsync every insert before acknowledging (survives power loss, slower)"
    )

    # -- network -----------------------------------------------------------
    host: str = Field("127.0.0.1", description="Bind address for every listener")
    otlp_grpc_port: int = Field(4317, ge=0, le=65535)
    otlp_http_port: int = Field(4318, ge=0, le=65535)
    api_port: int = Field(8000, ge=0, le=65535)

    # -- ingestion limits ----------------------------------------------------
    max_request_bytes: int = Field(
        8 * 1024 * 1024, gt=0,
        description="Largest accepted request body, as sent (compressed); also the largest gRPC message",
    )
    max_decompressed_bytes: int = Field(
        64 * 1024 * 1024, gt=0, description="Largest accepted OTLP/HTTP request body after gzip"
    )
    max_inflight_spans: int = Field(
        200_000, gt=0, description="Spans accepted but not yet durable; past it → 429/RESOURCE_EXHAUSTED"
    )
    max_inflight_bytes: int = Field(
        256 * 1024 * 1024, gt=0,
        description="Bytes held by requests in flight, from the first byte read until durable (bodies "
        "being read, then each request's protobuf encoding); past it → 429/RESOURCE_EXHAUSTED",
    )
    batch_max_spans: int = Field(20_000, gt=0, description="Group commit: flush at this many spans")
    batch_max_bytes: int = Field(
        32 * 1024 * 1024, gt=0,
        description="Group commit: at most this many request bytes per insert (bounds an insert's working memory)",
    )
    batch_max_delay_ms: float = Field(
        5.0, ge=0, description="Group commit: wait at most this long for more requests"
    )
    retry_after_seconds: int = Field(1, ge=1, description="Retry-After hint under overload")
    writer_threads: int = Field(1, ge=1, le=16, description="Concurrent group inserts")
    native_min_spans: int = Field(
        5000, ge=1, description="Groups at least this large are decoded by ClickHouse itself (no Python per span)"
    )

    # -- auth ----------------------------------------------------------------
    require_auth: bool = Field(False, description="Refuse requests without a valid API key")
    key_cache_seconds: float = Field(5.0, ge=0, description="How long key look-ups are cached")

    # -- links / misc ----------------------------------------------------------
    grafana_url: str | None = None
    public_url: str | None = None
    log_level: str = "INFO"
    log_format: str = Field("text", description="text or json")

    @field_validator("clickhouse_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("chdb:", "http://", "https://")):
            raise ValueError("must start with chdb:, http:// or https://")
        return value

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in ("text", "json"):
            raise ValueError("must be 'text' or 'json'")
        return value

    @property
    def embedded(self) -> bool:
        """True when the store is the in-process chDB engine."""
        return self.clickhouse_url.startswith("chdb:")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
