"""`agentmortem config`: effective values with their variables and sources, secrets masked, text or JSON."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from agentmortem.cli.config import MASK, as_text, mask_url
from agentmortem.settings import OWNERS, env_name, load_settings

PASSWORD = "s3cr3t-pass"
KEY = "am_live_0123456789"
ENV = {
    "AGENTMORTEM_CLICKHOUSE_URL": f"http://bob:{PASSWORD}@ch.example:8123/agentmortem",
    "AGENTMORTEM_API_KEY": KEY,
    "AGENTMORTEM_TTL_DAYS": "7",
    "AGENTMORTEM_CORS_ORIGINS": "http://a.example,http://b.example",
    "AGENTMORTEM_AGENT_BUDGETS_USD": '{"support agent": 0.5}',
    "AGENTMORTEM_GRAFANA_URL": "https://grafana.example/?token=tok-987&org=1",
}


def config(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMORTEM_")}
    return subprocess.run([sys.executable, "-m", "agentmortem", "config", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def text() -> str:
    out = config(**ENV)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def as_json() -> dict:
    out = config("--json", **ENV)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _lines(text: str) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in text.splitlines() if line.startswith("AGENTMORTEM_")}


def test_text_lists_every_setting_with_its_value_and_source(text):
    lines = _lines(text)
    assert set(lines) == {env_name(field) for field in OWNERS}
    assert lines["AGENTMORTEM_TTL_DAYS"] == "AGENTMORTEM_TTL_DAYS=7  # env"
    assert lines["AGENTMORTEM_HOST"] == "AGENTMORTEM_HOST=127.0.0.1  # default"
    assert lines["AGENTMORTEM_CREATE_SCHEMA"] == "AGENTMORTEM_CREATE_SCHEMA=true  # default"
    assert lines["AGENTMORTEM_CORS_ORIGINS"] == "AGENTMORTEM_CORS_ORIGINS=http://a.example,http://b.example  # env"
    assert lines["AGENTMORTEM_AGENT_BUDGETS_USD"] == """AGENTMORTEM_AGENT_BUDGETS_USD='{"support agent":0.5}'  # env"""
    assert lines["AGENTMORTEM_PUBLIC_URL"] == "AGENTMORTEM_PUBLIC_URL=  # default, unset"
    assert "# [store]" in text and "# [rules]" in text
    assert "# Drop spans older than this many days" in text  # each setting's description


def test_secrets_are_masked_in_text_and_json(text, as_json):
    for output in (text, json.dumps(as_json)):
        assert PASSWORD not in output and KEY not in output and "tok-987" not in output
    lines = _lines(text)
    assert lines["AGENTMORTEM_CLICKHOUSE_URL"] == (
        f"AGENTMORTEM_CLICKHOUSE_URL='http://bob:{MASK}@ch.example:8123/agentmortem'  # env")
    assert lines["AGENTMORTEM_API_KEY"] == f"AGENTMORTEM_API_KEY='{MASK}'  # env"
    assert as_json["AGENTMORTEM_API_KEY"]["value"] == MASK
    assert as_json["AGENTMORTEM_CLICKHOUSE_URL"]["value"] == f"http://bob:{MASK}@ch.example:8123/agentmortem"
    assert as_json["AGENTMORTEM_GRAFANA_URL"]["value"] == f"https://grafana.example/?token={MASK}&org=1"


def test_json_holds_typed_values_sections_and_sources(as_json):
    assert set(as_json) == {env_name(field) for field in OWNERS}
    assert as_json["AGENTMORTEM_TTL_DAYS"] == {
        "section": "store", "value": 7, "source": "env",
        "description": as_json["AGENTMORTEM_TTL_DAYS"]["description"]}
    assert as_json["AGENTMORTEM_OTLP_GRPC_PORT"]["value"] == 4317
    assert as_json["AGENTMORTEM_OTLP_GRPC_PORT"]["source"] == "default"
    assert as_json["AGENTMORTEM_CORS_ORIGINS"]["value"] == ["http://a.example", "http://b.example"]
    assert as_json["AGENTMORTEM_AGENT_BUDGETS_USD"]["value"] == {"support agent": 0.5}
    auth = as_json["AGENTMORTEM_REQUIRE_AUTH"]
    assert (auth["section"], auth["value"], auth["source"]) == ("auth", False, "default")
    assert all(entry["description"] for entry in as_json.values())


def test_printed_lines_read_back_as_the_same_settings(monkeypatch):
    """What `config` prints is valid environment syntax: pasted back, it gives the same values."""
    for name in list(os.environ):
        if name.startswith("AGENTMORTEM_"):
            monkeypatch.delenv(name)
    for name, value in ENV.items():
        if name not in ("AGENTMORTEM_API_KEY", "AGENTMORTEM_CLICKHOUSE_URL", "AGENTMORTEM_GRAFANA_URL"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AGENTMORTEM_MODEL_CONTEXT_WINDOWS", '{"my-model": 1000}')
    first = load_settings()
    printed = as_text(first)
    for name in list(os.environ):
        if name.startswith("AGENTMORTEM_"):
            monkeypatch.delenv(name)
    for line in printed.splitlines():
        if line.startswith("AGENTMORTEM_") and not line.endswith("unset"):
            name, _, rest = line.partition("=")
            (value,) = shlex.split(rest.rpartition("  #")[0]) or [""]
            monkeypatch.setenv(name, value)
    again = load_settings()
    assert again.model_dump() == first.model_dump()


@pytest.mark.parametrize("url, masked", [
    ("http://u:p@h:8123/db", f"http://u:{MASK}@h:8123/db"),
    ("https://user@h/db", "https://user@h/db"),
    ("chdb:///./agentmortem-data", "chdb:///./agentmortem-data"),
    ("https://h/db?password=x&user=u", f"https://h/db?password={MASK}&user=u"),
    ("not a url", "not a url"),
])
def test_mask_url(url, masked):
    assert mask_url(url) == masked
