"""The API's settings section (query API and run pages), read from flat `AGENTMORTEM_*` env vars.

The bind address and `api_port` are the listeners' (`platform.settings.ServerSettings`), keys
are `AuthSettings`; this section holds what the API adds: CORS, rate limit, body limit, page
sizes, how much of a run's tree a response shows, links out. Tests build their own.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agentmortem.platform.settings import ENV_PREFIX


class ApiSettings(BaseSettings):
    """What the HTTP API can be told."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed by CORS, comma-separated ('*' for any); empty = CORS off"
    )
    rate_limit_per_hour: int = Field(1000, ge=0, description="Requests per hour per API key (or client without key); 0 = off")
    api_max_body_bytes: int = Field(1_000_000, gt=0, description="Largest accepted request body on the API")
    api_default_limit: int = Field(50, ge=1, le=1000, description="Page size when ?limit= is not given")
    api_max_limit: int = Field(1000, ge=1, description="Largest page a client may ask for (exports stream up to export_max_rows)")
    export_max_rows: int = Field(100_000, ge=1, description="Most rows one CSV/NDJSON export returns")
    api_max_spans: int = Field(20_000, ge=1, description="Most spans a run's events/tree/page loads (the earliest)")
    # JSON parsers refuse deep nesting (orjson past 254 levels, serde_json past 128): each tree
    # level nests two (a node and its `children` list), so the JSON tree's cap stays well inside.
    api_tree_max_depth: int = Field(50, ge=1, le=120, description=(
        "Levels of a run's span tree that /v1/runs/{id}/tree nests and the run page draws; deeper spans are "
        "counted (hidden_descendants, the page's note), and ?span_id= starts the tree lower"))
    api_page_max_rows: int = Field(5000, ge=1, description="Waterfall rows a run page draws unless ?max_rows= asks")
    grafana_url: str | None = Field(None, description="Grafana base URL: run pages link spans to its trace view")
    public_url: str | None = Field(None, description="This service's public URL, for links (read by nothing yet: "
                                                     "the dashboards' links use their own public_url variable)")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value
