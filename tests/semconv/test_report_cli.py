"""`agentmortem semconv report` and `AGENTMORTEM_PRICE_OVERRIDES`, through the command line on a served data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from agentmortem.semconv import cost
from tests.support import conversation as sc
from tests.support.conversation_checks import unknown_model_span

OVERRIDE = {sc.UNKNOWN_MODEL: {"input_per_mtok": 2.0, "output_per_mtok": 8.0}}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the unknown-model span, sent over OTLP/HTTP to a real collector."""
    from tests.support.servers import start_server

    srv = start_server(tmp_path_factory.mktemp("report"), command="collector")
    try:
        request = urllib.request.Request(f"{srv.http_url}/v1/traces", data=unknown_model_span(),
                                         headers={"Content-Type": "application/x-protobuf"})
        assert urllib.request.urlopen(request, timeout=10).status == 200
    finally:
        assert srv.stop() == 0
    return srv.data_dir


def report(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if k != cost.OVERRIDES_ENV}
    full_env = {**inherited, "AGENTMORTEM_CLICKHOUSE_URL": f"chdb://{data_dir / 'db'}", **env}
    return subprocess.run([sys.executable, "-m", "agentmortem", "semconv", "report", *args], env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_report_lists_unpriced_models_and_unmapped_keys(data_dir):
    out = report(data_dir, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["spans"] == 1 and data["by_category"] == {"llm": 1}
    assert data["unpriced_models"] == [{"provider": "acme", "model": sc.UNKNOWN_MODEL, "spans": 1}]
    assert {"key": "gen_ai.mystery.flag", "spans": 1} in data["unmapped_keys"]
    text = report(data_dir)
    assert text.returncode == 0 and "Models without prices (1 spans unpriced)" in text.stdout


def test_price_override_from_env_prices_the_model(data_dir, tmp_path):
    out = report(data_dir, "--json", **{cost.OVERRIDES_ENV: json.dumps(OVERRIDE)})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["unpriced_models"] == []
    as_file = tmp_path / "prices.json"
    as_file.write_text(json.dumps(OVERRIDE))
    out = report(data_dir, **{cost.OVERRIDES_ENV: f"@{as_file}"})
    assert out.returncode == 0 and "Every model with token counts has a price." in out.stdout


@pytest.mark.parametrize("value", ["{not json", '["a list"]', '{"m": {"input": 1}}', "@/nonexistent/prices.json"])
def test_malformed_override_is_refused_at_start(data_dir, value):
    out = report(data_dir, **{cost.OVERRIDES_ENV: value})
    assert out.returncode == 2 and cost.OVERRIDES_ENV in out.stderr


def test_configured_overrides_read_from_the_environment(monkeypatch):
    monkeypatch.setenv(cost.OVERRIDES_ENV, json.dumps(OVERRIDE))
    cost.configured_overrides.cache_clear()
    try:
        assert cost.price_tokens("acme", sc.UNKNOWN_MODEL, 100, 10) == pytest.approx((100 * 2.0 + 10 * 8.0) / 1e6)
        assert cost.price_tokens("acme", sc.UNKNOWN_MODEL, 100, 10, overrides={}) is None  # explicit wins
    finally:
        monkeypatch.delenv(cost.OVERRIDES_ENV)
        cost.configured_overrides.cache_clear()
