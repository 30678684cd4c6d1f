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

    # -- slow and excess clients (every listener) ------------------------------
    max_connections: int = Field(
        2048, ge=1, description="Open connections per listener; past it HTTP answers 503 + Retry-After, gRPC refuses"
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, description="HTTP: request line and headers must arrive within this; gRPC: the HTTP/2 handshake"
    )
    body_timeout_seconds: float = Field(
        30.0, gt=0, description="HTTP: longest silence while a request body arrives (408 past it)"
    )
    body_min_rate_bytes: float = Field(
        1024.0, ge=0, description="HTTP: after body_timeout_seconds a body must average this many bytes/s (0 = off)"
    )
    http_keep_alive_seconds: float = Field(
        75.0, gt=0, description="HTTP: an idle keep-alive connection is closed after this long"
    )
    grpc_receive_timeout_seconds: float = Field(
        60.0, gt=0, description="gRPC: a call's request message must have arrived this long after the call opened"
    )
    grpc_max_concurrent_streams: int = Field(100, ge=1, description="gRPC: concurrent calls per connection")
    grpc_keepalive_time_seconds: float = Field(
        60.0, gt=0, description="gRPC: ping a connection that has been quiet this long"
    )
    grpc_keepalive_timeout_seconds: float = Field(
        20.0, gt=0, description="gRPC: close a connection whose ping is not answered within this"
    )
    grpc_max_connection_idle_seconds: float = Field(
        300.0, ge=0, description="gRPC: GOAWAY a connection without calls for this long (0 = never)"
    )
    grpc_max_connection_age_seconds: float = Field(
        1800.0, ge=0, description="gRPC: GOAWAY a connection this old (0 = never)"
    )
    grpc_max_connection_age_grace_seconds: float = Field(
        30.0, ge=0, description="gRPC: calls still running at max age get this long before the connection closes"
    )

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
