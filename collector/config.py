"""The collector's settings section: request limits, the in-flight budget and group commit.

Read from flat `AGENTMORTEM_*` env vars like every section (see `agentmortem.settings`); the
listeners' own limits (ports, timeouts, connection caps) are the platform's `ServerSettings`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentmortem.platform.settings import ENV_PREFIX


class IngestSettings(BaseSettings):
    """What a request may weigh, how much may be in flight, and how inserts are grouped."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    max_request_bytes: int = Field(
        8 * 1024 * 1024, gt=0,
        description="Largest accepted request body, as sent (compressed); also the largest gRPC message",
    )
    max_decompressed_bytes: int = Field(
        64 * 1024 * 1024, gt=0, description="Largest accepted OTLP/HTTP request body after gzip"
    )
    max_inflight_spans: int = Field(
        200_000, gt=0,
        description="Spans, log records and data points accepted but not yet durable; past it → 429/RESOURCE_EXHAUSTED"
    )
    max_inflight_bytes: int = Field(
        256 * 1024 * 1024, gt=0,
        description="Bytes held by requests in flight, from the first byte read until durable (bodies "
        "being read, then each request's protobuf encoding); past it → 429/RESOURCE_EXHAUSTED",
    )
    batch_max_spans: int = Field(
        20_000, gt=0, description="Group commit: flush at this many spans (log records, data points; a writer per signal)"
    )
    batch_max_bytes: int = Field(
        32 * 1024 * 1024, gt=0,
        description="Group commit: at most this many request bytes per insert (bounds an insert's working memory)",
    )
    batch_max_delay_ms: float = Field(
        5.0, ge=0, description="Group commit: wait at most this long for more requests"
    )
    retry_after_seconds: int = Field(
        1, ge=1, description="Retry-After / RetryInfo hint under overload (every listener, the connection cap too)"
    )
    writer_threads: int = Field(1, ge=1, le=16, description="Concurrent group inserts per signal")
    native_min_spans: int = Field(
        5000, ge=1, description="Groups at least this large are decoded by ClickHouse itself (no Python per span)"
    )
