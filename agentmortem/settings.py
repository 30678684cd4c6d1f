"""The settings root: every `AGENTMORTEM_*` setting, one section per concern, validated once at start.

Each section is a pydantic-settings model declared by the layer it configures, so that the
analysis core and semconv never import the platform: `StoreSettings`, `ServerSettings`,
`AuthSettings`, `LogSettings` (platform), `IngestSettings` (collector), `AnalyzerSettings`
(analysis engine), `RuleSettings` (analysis core), `ApiSettings` (API), `PricingSettings`
(semconv), `ClientSettings` (here: what the command line itself sends). Every section reads
flat names with one prefix — `AGENTMORTEM_<FIELD>`, never `AGENTMORTEM_<SECTION>__<FIELD>` — so
field names are unique across sections (checked when this module loads) and each field's
`description` is the one place a setting is documented (`agentmortem config` prints them).

This module composes the sections at the top layer, beside the command line: `load_settings`
reads them all from the environment (plus command-line flags), reports every invalid value at
once, and the commands hand each component its own section. Tests build the sections they need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings
from agentmortem.collector.config import IngestSettings
from agentmortem.platform.settings import ENV_PREFIX, AuthSettings, LogSettings, ServerSettings, StoreSettings
from agentmortem.semconv.cost import PricingSettings


class ClientSettings(BaseSettings):
    """What the command line sends when it asks a running server (`explain` while `serve` holds the data)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    api_key: SecretStr | None = Field(None, description="API key `explain` sends to a running server's API "
                                                        "(when keys are required)")


class AgentmortemSettings(BaseModel):
    """Every section; build it with `load_settings` (tests may pass their own sections)."""

    model_config = ConfigDict(frozen=True)

    store: StoreSettings = Field(default_factory=StoreSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    analyzer: AnalyzerSettings = Field(default_factory=AnalyzerSettings)
    rules: RuleSettings = Field(default_factory=RuleSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    pricing: PricingSettings = Field(default_factory=PricingSettings)
    logging: LogSettings = Field(default_factory=LogSettings)
    client: ClientSettings = Field(default_factory=ClientSettings)

    _flags: frozenset[str] = PrivateAttr(default=frozenset())

    def source(self, section: str, field: str) -> str:
        """Where a value came from: "flag" (the command line), "env" or "default"."""
        if field in self._flags:
            return "flag"
        return "env" if field in getattr(self, section).model_fields_set else "default"


def _section_classes() -> dict[str, type[BaseSettings]]:
    return {name: info.default_factory for name, info in AgentmortemSettings.model_fields.items()}  # type: ignore[misc]


SECTIONS: dict[str, type[BaseSettings]] = _section_classes()


def _owners() -> dict[str, str]:
    owners: dict[str, str] = {}
    for section, cls in SECTIONS.items():
        if cls.model_config.get("env_prefix") != ENV_PREFIX or cls.model_config.get("env_nested_delimiter"):
            raise TypeError(f"settings section {cls.__name__} must read flat {ENV_PREFIX}* names")
        for field in cls.model_fields:
            if field in owners:
                raise TypeError(f"{env_name(field)} is declared by two sections: {owners[field]} and {section}")
            owners[field] = section
    return owners


def env_name(field: str) -> str:
    """The environment variable of a field (every section reads the same flat names)."""
    return ENV_PREFIX + field.upper()


OWNERS: dict[str, str] = _owners()  # field → its section


class ConfigError(ValueError):
    """One or more settings are invalid; the message names each by its variable."""


def _problems(exc: ValidationError | SettingsError, cls: type[BaseSettings]) -> list[str]:
    if isinstance(exc, SettingsError):  # a value the source could not decode (a map or list that is not JSON)
        field = re.search(r'field "(\w+)"', str(exc))
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        return [f"{env_name(field.group(1))}: not valid JSON{cause}" if field else str(exc)]
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        where = env_name(field) if field in cls.model_fields else cls.__name__
        got = "" if field == "api_key" else f" (got {error.get('input')!r})"
        lines.append(f"{where}: {error['msg']}{got}")
    return lines


def load_settings(flags: Mapping[str, Any] | None = None) -> AgentmortemSettings:
    """Every section from the environment, `flags` (field → value, from the command line) winning;
    raises `ConfigError` listing every invalid value."""
    flags = dict(flags or {})
    unknown = set(flags) - set(OWNERS)
    if unknown:
        raise KeyError(f"no setting named {sorted(unknown)}")
    sections: dict[str, BaseSettings] = {}
    problems: list[str] = []
    for section, cls in SECTIONS.items():
        given = {field: value for field, value in flags.items() if OWNERS[field] == section}
        try:
            sections[section] = cls(**given)
        except (ValidationError, SettingsError) as exc:
            problems += _problems(exc, cls)
    if problems:
        raise ConfigError("\n".join(problems))
    root = AgentmortemSettings(**sections)
    root._flags = frozenset(flags)
    return root


@dataclass(frozen=True)
class Entry:
    """One setting as `agentmortem config` shows it (the value unmasked: masking is the printer's)."""

    section: str
    field: str
    env: str
    value: Any
    source: str
    description: str
    secret: bool


def entries(settings: AgentmortemSettings) -> Iterator[Entry]:
    """Every setting in declaration order, with its variable, effective value and source."""
    for section in SECTIONS:
        model = getattr(settings, section)
        for field, info in type(model).model_fields.items():
            value = getattr(model, field)
            yield Entry(section, field, env_name(field), value, settings.source(section, field),
                        info.description or "", isinstance(value, SecretStr))
