"""End to end against `agentmortem serve`: OTel SDK exporter + AgentMetrics POST → collector → analyzer → API."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx

from agentmortem.demo.send import send_demo
from tests.support.agentmetrics_runs import failing_run
from tests.support.servers import create_key_cli, wait_for


def test_serve_exposes_the_api_over_the_pipeline(server_factory, tmp_path):
    data = tmp_path / "srv"
    secret = create_key_cli(data, "acme")
    srv = server_factory({"AGENTMORTEM_ANALYZER_INTERVAL_SECONDS": "0.5", "AGENTMORTEM_REQUIRE_AUTH": "true"}, data_dir=data)
    api = f"http://127.0.0.1:{srv.ports['api_port']}"
    auth = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=api, headers=auth, timeout=10) as http:
        assert http.get("/health/ready").json()["ready"] is True
        assert httpx.get(f"{api}/v1/runs").status_code == 401  # no key

        sent = {s.scenario: s for s in send_demo(srv.http_url, headers=auth)}
        run_id = str(uuid.uuid4())
        posted = http.post("/v1/runs", json=failing_run(run_id))
        assert posted.status_code == 202, posted.text

        def analyzed() -> bool:
            r = http.get(f"/v1/runs/{sent['tool_error'].trace_id}")
            return r.status_code == 200 and http.get(f"/v1/runs/{run_id}").status_code == 200

        wait_for(analyzed, 30, srv.log)
        run = http.get(f"/v1/runs/{sent['tool_error'].trace_id}").json()
        assert run["failure_class"] == "tool_error" and run["outcome"] == "failed"
        x = http.get(f"/v1/runs/{run['run_id']}/explanation").json()
        assert x["root_cause_span_id"] == run["root_cause_span_id"] and x["headline"] == run["headline"]
        ours = http.get(f"/v1/runs/{run_id}").json()
        assert ours["agent_id"] == "trip-planner" and ours["failure_class"] == "tool_error"
        page = http.get(f"/runs/{run['run_id']}")
        assert page.status_code == 200 and 'class="span agent' in page.text
        assert page.headers["x-request-id"]
        stats = http.get("/v1/stats").json()
        assert stats["total_runs"] >= 2 and stats["by_failure_class"]["tool_error"] >= 2

    # `explain` while serve holds the data dir asks its API, with AGENTMORTEM_API_KEY when keys are required
    env = {**os.environ, "AGENTMORTEM_CLICKHOUSE_URL": f"chdb://{data / 'db'}", "AGENTMORTEM_HOST": "127.0.0.1",
           "AGENTMORTEM_API_PORT": str(srv.ports["api_port"])}
    explain = [sys.executable, "-m", "agentmortem", "explain", run["run_id"]]
    out = subprocess.run(explain, env={**env, "AGENTMORTEM_API_KEY": secret}, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "from the running server's API" in out.stdout, out.stderr
    out = subprocess.run(explain, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "answered 401" in out.stderr
    assert srv.stop() == 0
