"""`agentmortem api` and `agentmortem analyzer` each alone on a new store (server deployments): each
prepares the tables it reads, and the API's AgentMetrics ingest writes durably through a writer
of its own (the CLI composes it from the collector's parts)."""

from __future__ import annotations

import uuid

import httpx

from tests.support.agentmetrics_runs import failing_run
from tests.support.servers import query_data_dir

TABLES = "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name"
COLLECTOR_TABLES = {"api_keys", "otel_traces"}
ANALYSIS_TABLES = {"agent_runs", "agent_signals", "agent_explanations"}


def test_the_api_alone_stores_posted_runs_and_flushes_them_on_stop(server_factory):
    srv = server_factory(command="api")
    run_id = str(uuid.uuid4())
    posted = httpx.post(f"http://127.0.0.1:{srv.ports['api_port']}/v1/runs", json=failing_run(run_id), timeout=30)
    assert posted.status_code == 202, posted.text
    spans = posted.json()["spans"]
    assert srv.stop() == 0
    tables = {name for (name,) in query_data_dir(srv.data_dir, TABLES)}
    assert COLLECTOR_TABLES | ANALYSIS_TABLES <= tables
    stored = query_data_dir(srv.data_dir, f"SELECT count() FROM otel_traces WHERE TraceId = '{run_id.replace('-', '')}'")
    assert stored == [(spans,)] and spans > 1


def test_the_analyzer_alone_prepares_the_tables_it_reads_and_writes(server_factory):
    srv = server_factory(command="analyzer")
    assert srv.stop() == 0
    tables = {name for (name,) in query_data_dir(srv.data_dir, TABLES)}
    assert COLLECTOR_TABLES | ANALYSIS_TABLES <= tables
