"""The settings root: every `AGENTMORTEM_*` name of the four former settings classes still sets the same field, with the same default.

`CONTRACT` is written out by hand from the classes on main at de535b2 (`platform.settings.Settings`,
`AnalyzerSettings`, `ApiSettings`, `RuleSettings`) and the two variables read directly from the
environment there (`AGENTMORTEM_PRICE_OVERRIDES` in `semconv.cost`, `AGENTMORTEM_API_KEY` in the
`explain` command): users' deployments rely on these names, so they are a contract, not a copy.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from agentmortem.analyzer.engine.workers import default_worker_count
from agentmortem.settings import OWNERS, SECTIONS, AgentmortemSettings, ConfigError, env_name, load_settings

WORKERS = object()  # that default is the machine's core count

# (variable, default on main, another valid value given as the environment spells it, that value parsed)
CONTRACT: list[tuple[str, object, str, object]] = [
    ("AGENTMORTEM_CLICKHOUSE_URL", "chdb:///./agentmortem-data", "http://u:p@ch:8123/db", "http://u:p@ch:8123/db"),
    ("AGENTMORTEM_TTL_DAYS", 0, "7", 7),
    ("AGENTMORTEM_FSYNC_AFTER_INSERT", False, "true", True),
    ("AGENTMORTEM_HOST", "127.0.0.1", "0.0.0.0", "0.0.0.0"),
    ("AGENTMORTEM_OTLP_GRPC_PORT", 4317, "14317", 14317),
    ("AGENTMORTEM_OTLP_HTTP_PORT", 4318, "14318", 14318),
    ("AGENTMORTEM_API_PORT", 8000, "18000", 18000),
    ("AGENTMORTEM_MAX_CONNECTIONS", 2048, "99", 99),
    ("AGENTMORTEM_HEADER_TIMEOUT_SECONDS", 10.0, "3.5", 3.5),
    ("AGENTMORTEM_BODY_TIMEOUT_SECONDS", 30.0, "4.5", 4.5),
    ("AGENTMORTEM_BODY_MIN_RATE_BYTES", 1024.0, "10", 10.0),
    ("AGENTMORTEM_HTTP_KEEP_ALIVE_SECONDS", 75.0, "5", 5.0),
    ("AGENTMORTEM_GRPC_RECEIVE_TIMEOUT_SECONDS", 60.0, "6", 6.0),
    ("AGENTMORTEM_GRPC_MAX_CONCURRENT_STREAMS", 100, "7", 7),
    ("AGENTMORTEM_GRPC_KEEPALIVE_TIME_SECONDS", 60.0, "8", 8.0),
    ("AGENTMORTEM_GRPC_KEEPALIVE_TIMEOUT_SECONDS", 20.0, "9", 9.0),
    ("AGENTMORTEM_GRPC_MAX_CONNECTION_IDLE_SECONDS", 300.0, "0", 0.0),
    ("AGENTMORTEM_GRPC_MAX_CONNECTION_AGE_SECONDS", 1800.0, "11", 11.0),
    ("AGENTMORTEM_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS", 30.0, "12", 12.0),
    ("AGENTMORTEM_MAX_REQUEST_BYTES", 8388608, "1000", 1000),
    ("AGENTMORTEM_MAX_DECOMPRESSED_BYTES", 67108864, "2000", 2000),
    ("AGENTMORTEM_MAX_INFLIGHT_SPANS", 200000, "3000", 3000),
    ("AGENTMORTEM_MAX_INFLIGHT_BYTES", 268435456, "4000", 4000),
    ("AGENTMORTEM_BATCH_MAX_SPANS", 20000, "500", 500),
    ("AGENTMORTEM_BATCH_MAX_BYTES", 33554432, "6000", 6000),
    ("AGENTMORTEM_BATCH_MAX_DELAY_MS", 5.0, "2.5", 2.5),
    ("AGENTMORTEM_RETRY_AFTER_SECONDS", 1, "3", 3),
    ("AGENTMORTEM_WRITER_THREADS", 1, "2", 2),
    ("AGENTMORTEM_NATIVE_MIN_SPANS", 5000, "77", 77),
    ("AGENTMORTEM_REQUIRE_AUTH", False, "true", True),
    ("AGENTMORTEM_KEY_CACHE_SECONDS", 5.0, "60", 60.0),
    ("AGENTMORTEM_GRAFANA_URL", None, "http://grafana:3000", "http://grafana:3000"),
    ("AGENTMORTEM_PUBLIC_URL", None, "http://am.example", "http://am.example"),
    ("AGENTMORTEM_LOG_LEVEL", "INFO", "DEBUG", "DEBUG"),
    ("AGENTMORTEM_LOG_FORMAT", "text", "json", "json"),
    ("AGENTMORTEM_ANALYZER_INTERVAL_SECONDS", 2.0, "0.5", 0.5),
    ("AGENTMORTEM_SETTLE_SECONDS", 10.0, "1", 1.0),
    ("AGENTMORTEM_ABANDON_AFTER_SECONDS", 300.0, "30", 30.0),
    ("AGENTMORTEM_ANALYZER_LAG_SECONDS", 15.0, "2", 2.0),
    ("AGENTMORTEM_ANALYZER_BATCH_TRACES", 2000, "10", 10),
    ("AGENTMORTEM_ANALYZER_BATCH_SPANS", 200000, "1000", 1000),
    ("AGENTMORTEM_ANALYZER_MAX_TRACES_PER_ROUND", 200000, "100", 100),
    ("AGENTMORTEM_ANALYZER_MAX_SPANS_PER_TRACE", 20000, "50", 50),
    ("AGENTMORTEM_ANALYZER_WORKERS", WORKERS, "0", 0),
    ("AGENTMORTEM_BASELINE_INTERVAL_SECONDS", 60.0, "5", 5.0),
    ("AGENTMORTEM_BASELINE_WINDOW_DAYS", 14, "3", 3),
    ("AGENTMORTEM_ANALYZER_SHARD", "0/1", "1/2", "1/2"),
    ("AGENTMORTEM_CORS_ORIGINS", [], "http://a.example, http://b.example", ["http://a.example", "http://b.example"]),
    ("AGENTMORTEM_RATE_LIMIT_PER_HOUR", 1000, "0", 0),
    ("AGENTMORTEM_API_MAX_BODY_BYTES", 1000000, "5000", 5000),
    ("AGENTMORTEM_API_DEFAULT_LIMIT", 50, "20", 20),
    ("AGENTMORTEM_API_MAX_LIMIT", 1000, "200", 200),
    ("AGENTMORTEM_EXPORT_MAX_ROWS", 100000, "300", 300),
    ("AGENTMORTEM_API_MAX_SPANS", 20000, "400", 400),
    ("AGENTMORTEM_API_TREE_MAX_DEPTH", 50, "12", 12),
    ("AGENTMORTEM_API_PAGE_MAX_ROWS", 5000, "60", 60),
    ("AGENTMORTEM_LOOP_MIN_REPEATS", 3, "4", 4),
    ("AGENTMORTEM_LOOP_MIN_CYCLES", 3, "5", 5),
    ("AGENTMORTEM_RETRY_STORM_MIN_CALLS", 3, "6", 6),
    ("AGENTMORTEM_CONTEXT_WINDOW_FRACTION", 0.95, "0.9", 0.9),
    ("AGENTMORTEM_MODEL_CONTEXT_WINDOWS", {}, '{"my-model": 1000}', {"my-model": 1000}),
    ("AGENTMORTEM_BASELINE_MIN_RUNS", 20, "10", 10),
    ("AGENTMORTEM_LATENCY_Z_THRESHOLD", 3.5, "2.5", 2.5),
    ("AGENTMORTEM_COST_Z_THRESHOLD", 3.5, "4.5", 4.5),
    ("AGENTMORTEM_AGENT_BUDGETS_USD", {}, '{"support": 0.5}', {"support": 0.5}),
    ("AGENTMORTEM_BUDGET_WARN_FRACTION", 0.8, "0.5", 0.5),
    ("AGENTMORTEM_UNGROUNDED_ERROR_SCORE", 0.5, "0.7", 0.7),
    ("AGENTMORTEM_UNGROUNDED_MIN_CLAIMS", 2, "3", 3),
    ("AGENTMORTEM_EVAL_SCORE_THRESHOLD", 0.5, "0.6", 0.6),
    ("AGENTMORTEM_EVAL_THRESHOLDS", {}, '{"relevance": 0.4}', {"relevance": 0.4}),
    ("AGENTMORTEM_PRICE_OVERRIDES", "", '{"m": {"input_per_mtok": 1, "output_per_mtok": 2}}',
     '{"m": {"input_per_mtok": 1, "output_per_mtok": 2}}'),
    ("AGENTMORTEM_API_KEY", None, "am_secret", "am_secret"),
]
ADDED = {"AGENTMORTEM_CREATE_SCHEMA", "AGENTMORTEM_ANALYZER_METRICS_PORT",
         "AGENTMORTEM_ANALYZER_METRICS_MAX_AGENTS"}  # new since de535b2


@pytest.fixture
def clean_env(monkeypatch):
    """No AGENTMORTEM_* variable from the developer's shell leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("AGENTMORTEM_"):
            monkeypatch.delenv(name)
    return monkeypatch


def _value(settings: AgentmortemSettings, env: str) -> object:
    field = env.removeprefix("AGENTMORTEM_").lower()
    value = getattr(getattr(settings, OWNERS[field]), field)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def test_every_former_name_is_still_read_with_its_default(clean_env):
    settings = load_settings()
    assert {env_name(field) for field in OWNERS} == {env for env, *_ in CONTRACT} | ADDED
    for env, default, _, _ in CONTRACT:
        expected = default_worker_count() if default is WORKERS else default
        assert _value(settings, env) == expected, env


def test_every_former_name_still_sets_its_field(clean_env):
    for env, _, text, _ in CONTRACT:
        clean_env.setenv(env, text)
    settings = load_settings()
    for env, _, _, parsed in CONTRACT:
        assert _value(settings, env) == parsed, env
        field = env.removeprefix("AGENTMORTEM_").lower()
        assert settings.source(OWNERS[field], field) == "env", env


def test_sections_read_flat_names_and_document_every_setting():
    for section, cls in SECTIONS.items():
        assert cls.model_config["env_prefix"] == "AGENTMORTEM_" and not cls.model_config.get("env_nested_delimiter")
        for field, info in cls.model_fields.items():
            assert info.description, f"{env_name(field)} ({section}) has no description"


def test_the_configuration_manual_names_exactly_the_declared_settings():
    """docs/configuration.md (the user's reference) documents every variable, and no name that is gone."""
    manual = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`(AGENTMORTEM_[A-Z0-9_]+)`", manual))
    declared = {env_name(field) for field in OWNERS}
    assert (sorted(declared - documented), sorted(documented - declared)) == ([], [])


def test_flags_win_over_the_environment(clean_env):
    clean_env.setenv("AGENTMORTEM_HOST", "10.0.0.1")
    clean_env.setenv("AGENTMORTEM_ANALYZER_SHARD", "0/2")
    settings = load_settings({"host": "10.0.0.2", "analyzer_shard": "1/2"})
    assert (settings.server.host, settings.source("server", "host")) == ("10.0.0.2", "flag")
    assert settings.analyzer.shard.index == 1
    assert settings.source("store", "clickhouse_url") == "default"


def test_every_invalid_value_is_named_at_once(clean_env):
    clean_env.setenv("AGENTMORTEM_TTL_DAYS", "-1")
    clean_env.setenv("AGENTMORTEM_LOOP_MIN_REPEATS", "one")
    clean_env.setenv("AGENTMORTEM_API_TREE_MAX_DEPTH", "500")
    clean_env.setenv("AGENTMORTEM_AGENT_BUDGETS_USD", "{not json")
    clean_env.setenv("AGENTMORTEM_LOG_LEVEL", "LOUD")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    for env in ("AGENTMORTEM_TTL_DAYS", "AGENTMORTEM_API_TREE_MAX_DEPTH", "AGENTMORTEM_AGENT_BUDGETS_USD",
                "AGENTMORTEM_LOG_LEVEL"):
        assert env in message


def test_the_command_line_refuses_an_invalid_setting_before_doing_anything(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMORTEM_")}
    env.update({"AGENTMORTEM_CLICKHOUSE_URL": f"chdb://{tmp_path / 'db'}", "AGENTMORTEM_RATE_LIMIT_PER_HOUR": "-5",
                "AGENTMORTEM_PRICE_OVERRIDES": json.dumps(["not", "an", "object"])})
    out = subprocess.run([sys.executable, "-m", "agentmortem", "migrate"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2
    assert "AGENTMORTEM_RATE_LIMIT_PER_HOUR" in out.stderr and "AGENTMORTEM_PRICE_OVERRIDES" in out.stderr
    assert not (tmp_path / "db").exists()  # nothing was opened, let alone created
