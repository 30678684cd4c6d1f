"""`agentmortem api` alone (server deployments, after `agentmortem migrate`): its AgentMetrics ingest
writes durably through a writer of its own (the CLI composes it from the collector's parts), which
it flushes on stop."""

from __future__ import annotations

import uuid

import httpx

from agentmortem.demo.scenarios import AGENT, SCENARIOS
from agentmortem.demo.send import send_demo
from tests.support.agentmetrics_runs import failing_run
from tests.support.prometheus_text import labels, series
from tests.support.servers import query_data_dir, wait_for


def test_the_api_alone_stores_posted_runs_and_flushes_them_on_stop(server_factory):
    srv = server_factory(command="api")
    run_id = str(uuid.uuid4())
    posted = httpx.post(f"http://127.0.0.1:{srv.ports['api_port']}/v1/runs", json=failing_run(run_id), timeout=30)
    assert posted.status_code == 202, posted.text
    spans = posted.json()["spans"]
    assert srv.stop() == 0
    stored = query_data_dir(srv.data_dir, f"SELECT count() FROM otel_traces WHERE TraceId = '{run_id.replace('-', '')}'")
    assert stored == [(spans,)] and spans > 1


def test_the_analyzer_alone_serves_its_run_metrics_on_a_port_of_its_own(server_factory, tmp_path):
    """A server deployment: the collector stores the demo, then the analyzer alone analyses it; its
    `/metrics` (AGENTMORTEM_ANALYZER_METRICS_PORT) counts the runs by agent, tenant and verdict."""
    data = tmp_path / "deployment"
    collector = server_factory(data_dir=data, command="collector")
    send_demo(collector.http_url)
    assert collector.stop() == 0
    analyzer = server_factory({"AGENTMORTEM_SETTLE_SECONDS": "0", "AGENTMORTEM_ANALYZER_INTERVAL_SECONDS": "0.3",
                               "AGENTMORTEM_ANALYZER_LAG_SECONDS": "0", "AGENTMORTEM_ANALYZER_WORKERS": "0"},
                              data_dir=data, command="analyzer")
    url = f"http://127.0.0.1:{analyzer.ports['metrics_port']}"
    assert httpx.get(f"{url}/health", timeout=10).json()["database"] == "ok"
    scraped = {"text": ""}

    def all_runs_counted() -> bool:  # every run but the abandoned one (its root never ends), and one sub-run
        scraped["text"] = httpx.get(f"{url}/metrics", timeout=10).text
        return sum(series(scraped["text"], "agentmortem_runs_analysed_total").values()) >= len(SCENARIOS)

    wait_for(all_runs_counted, timeout=60, log=analyzer.log)
    text = scraped["text"]
    assert analyzer.stop() == 0
    stored = query_data_dir(data, "SELECT AgentName, Tenant, Outcome, count() FROM agent_runs FINAL "
                                  "GROUP BY AgentName, Tenant, Outcome")
    analysed = {k: v for k, v in series(text, "agentmortem_runs_analysed_total").items() if v}
    assert analysed == {labels(agent=a, tenant=t, outcome=o): float(n) for a, t, o, n in stored}
    failed = series(text, "agentmortem_runs_failed_total")
    assert failed[labels(agent=AGENT, tenant="", failure_class="tool_error")] >= 1
    assert "agentmortem_analyzer_runs_analysed_total" in text  # the analyzer's health beside them
