"""`agentmortem api` alone (server deployments, after `agentmortem migrate`): its AgentMetrics ingest
writes durably through a writer of its own (the CLI composes it from the collector's parts), which
it flushes on stop."""

from __future__ import annotations

import uuid

import httpx

from tests.support.agentmetrics_runs import failing_run
from tests.support.servers import query_data_dir


def test_the_api_alone_stores_posted_runs_and_flushes_them_on_stop(server_factory):
    srv = server_factory(command="api")
    run_id = str(uuid.uuid4())
    posted = httpx.post(f"http://127.0.0.1:{srv.ports['api_port']}/v1/runs", json=failing_run(run_id), timeout=30)
    assert posted.status_code == 202, posted.text
    spans = posted.json()["spans"]
    assert srv.stop() == 0
    stored = query_data_dir(srv.data_dir, f"SELECT count() FROM otel_traces WHERE TraceId = '{run_id.replace('-', '')}'")
    assert stored == [(spans,)] and spans > 1
