"""End to end: `agentmortem serve` + `agentmortem demo`'s real OTel exporter → post-mortems → `explain`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

from agentmortem.demo.scenarios import AGENT, SCENARIOS
from agentmortem.demo.send import send_demo
from tests.support.prometheus_text import labels, series
from tests.support.servers import query_data_dir


def metric(url: str, name: str) -> float:
    text = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def cli(data_dir, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`agentmortem ARGS` on a server's data directory."""
    full_env = {**os.environ, "AGENTMORTEM_CLICKHOUSE_URL": f"chdb://{data_dir / 'db'}", "COLUMNS": "200", **env}
    return subprocess.run([sys.executable, "-m", "agentmortem", *args], env=full_env, capture_output=True,
                          text=True, timeout=120)


def explain(data_dir, ident: str) -> subprocess.CompletedProcess:
    return cli(data_dir, "explain", ident)


def test_demo_runs_are_explained_within_seconds(server_factory):
    srv = server_factory({"AGENTMORTEM_ANALYZER_INTERVAL_SECONDS": "0.5"})
    sent = {s.scenario: s for s in send_demo(srv.http_url)}
    assert sorted(sent) == sorted(s.name for s in SCENARIOS) and all(s.trace_id for s in sent.values())
    # every run but the abandoned one (its root never ends) is analyzed promptly
    expected_runs = len(SCENARIOS)  # 21 traces, one with a sub-run
    deadline = time.monotonic() + 30
    while metric(srv.http_url, "agentmortem_analyzer_runs_analysed_total") < expected_runs:
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.2)
    # `serve` has the run metrics on the same /metrics: the demo's two tool errors, counted once each
    text = urllib.request.urlopen(f"{srv.http_url}/metrics", timeout=5).read().decode()
    failed = series(text, "agentmortem_runs_failed_total")
    assert failed[labels(agent=AGENT, tenant="", failure_class="tool_error")] == 2, failed
    assert srv.stop() == 0
    rows = dict(query_data_dir(srv.data_dir, "SELECT TraceId, FailureClass FROM agent_runs FINAL WHERE ParentRunId = ''"))
    assert rows[sent["tool_error"].trace_id] == "tool_error"
    assert rows[sent["healthy_two_cities"].trace_id] == ""
    assert sent["abandoned"].trace_id not in rows

    out = explain(srv.data_dir, sent["tool_error"].trace_id)
    assert out.returncode == 0, out.stderr
    assert "failed at step 3 of 4 (execute_tool search_flights): tool search_flights failed" in out.stdout
    assert "✗ ConnectionError" in out.stdout  # the tree marks the failing span

    # not analyzed yet (still waiting for its root): analyzed on the spot
    out = explain(srv.data_dir, sent["abandoned"].trace_id)
    assert out.returncode == 0, out.stderr
    assert "root never arrived" in out.stdout and "never ended" in out.stdout


def test_explain_unknown_id_and_bad_shard(tmp_path):
    assert cli(tmp_path, "migrate").returncode == 0
    out = cli(tmp_path, "explain", "deadbeef")
    assert out.returncode == 1 and "No run or trace" in out.stdout
    out = cli(tmp_path, "analyzer", "--shard", "3/2")
    assert out.returncode == 2 and "0 <= i < n" in out.stderr


def test_serve_demo_fills_the_api_with_explained_runs(server_factory):
    """`serve --demo` (the README's run command) sends the demo to itself: runs appear in the API."""
    srv = server_factory({"AGENTMORTEM_ANALYZER_INTERVAL_SECONDS": "0.5"}, args=["--demo"])
    api = f"http://127.0.0.1:{srv.ports['api_port']}"
    deadline = time.monotonic() + 60
    while True:
        runs = json.loads(urllib.request.urlopen(f"{api}/v1/runs?limit=100", timeout=5).read())["data"]
        if len([r for r in runs if not r["parent_run_id"]]) >= len(SCENARIOS) - 1:  # all but the abandoned one
            break
        assert time.monotonic() < deadline, srv.log()
        time.sleep(0.3)
    classes = {r["failure_class"] for r in runs}
    assert {"tool_error", "loop", "unknown_tool", "ungrounded_output"} <= classes
    assert "demo: sent" in srv.log()

    # the data dir is held by the server: `explain` asks its API, other commands say why they cannot run
    env = {"AGENTMORTEM_API_PORT": str(srv.ports["api_port"]), "AGENTMORTEM_HOST": "127.0.0.1"}
    failed = next(r for r in runs if r["failure_class"] == "tool_error")
    out = cli(srv.data_dir, "explain", failed["trace_id"], **env)
    assert out.returncode == 0, out.stderr
    assert "in use by another process" in out.stderr
    assert failed["headline"].replace("`", "")[:60] in " ".join(out.stdout.split())
    assert "from the running server's API" in out.stdout
    out = cli(srv.data_dir, "semconv", "report")
    assert out.returncode == 1 and "in use by another process" in out.stderr
