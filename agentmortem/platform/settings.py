"""The platform's settings sections: the store, the listeners, API keys, logging.

Each section is a pydantic-settings model read from flat `AGENTMORTEM_<FIELD>` env vars (no
section prefix: `AGENTMORTEM_HOST`, not `AGENTMORTEM_SERVER__HOST`). Sections are declared by
the layer they configure — these here, the ingest limits in `collector.config`, the analyzer's
in `analyzer.engine.config`, the rules' in `analyzer.core.rule_context`, the API's in
`analyzer.api.settings`, prices in `semconv.cost` — and composed into the one root,
`agentmortem.settings.AgentmortemSettings`, which the command line validates once at start and
hands out section by section. Tests build the sections they need.
"""

from __future__ import annotations

import logging

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "AGENTMORTEM_"
DEFAULT_CLICKHOUSE_URL = "chdb:///./agentmortem-data"


class StoreSettings(BaseSettings):
    """Where the spans and the analysis live, and what agentmortem may do to the tables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    clickhouse_url: str = Field(
        DEFAULT_CLICKHOUSE_URL,
        description="chdb:///path (embedded engine in that directory; /./ = relative) or "
                    "http(s)://user:pass@host:8123/db (a ClickHouse server)",
    )
    ttl_days: int = Field(0, ge=0, description="Drop spans older than this many days (0 = keep); "
                                               "applies when the tables are created")
    fsync_after_insert: bool = Field(
        False, description="fsync every insert before acknowledging (survives power loss, slower); "
                           "a setting of the otel_traces table"
    )
    create_schema: bool = Field(
        True, description="`serve` creates and upgrades the tables at start and sets otel_traces' fsync settings; "
                          "false: nothing is created or altered at start, the schema is only verified "
                          "(run `agentmortem migrate` to create agentmortem's tables)"
    )

    @field_validator("clickhouse_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("chdb:", "http://", "https://")):
            raise ValueError("must start with chdb:, http:// or https://")
        return value


class ServerSettings(BaseSettings):
    """The listeners (OTLP gRPC and HTTP, the API): addresses, and limits on slow and excess clients."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    host: str = Field("127.0.0.1", description="Bind address of every listener")
    otlp_grpc_port: int = Field(4317, ge=0, le=65535, description="OTLP/gRPC port (0 = any free)")
    otlp_http_port: int = Field(4318, ge=0, le=65535, description="OTLP/HTTP port, also /metrics and /health "
                                                                  "(0 = any free)")
    api_port: int = Field(8000, ge=0, le=65535, description="Query API and pages port (0 = any free)")
    analyzer_metrics_port: int = Field(
        8001, ge=0, le=65535, description="`agentmortem analyzer` alone: port of its /metrics and /health "
                                          "(0 = any free; `serve` puts them on the OTLP/HTTP port)")
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


class AuthSettings(BaseSettings):
    """API keys: whether every request needs one, and how long look-ups are cached."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    require_auth: bool = Field(False, description="Refuse requests without a valid API key")
    key_cache_seconds: float = Field(5.0, ge=0, description="How long key look-ups are cached (revocations "
                                                            "reach running servers within this)")


class LogSettings(BaseSettings):
    """The process's logs (stderr)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL")
    log_format: str = Field("text", description="text, or json (one object per line)")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if not isinstance(logging.getLevelName(value.upper()), int):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in ("text", "json"):
            raise ValueError("must be 'text' or 'json'")
        return value
