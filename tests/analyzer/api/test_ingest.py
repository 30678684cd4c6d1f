"""AgentMetrics ingest: `POST /v1/runs` and streamed events become spans that the analyzer explains."""

from __future__ import annotations

import uuid

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.platform.auth import create_key
from agentmortem.platform.settings import AuthSettings
from tests.support.agentmetrics_runs import T0, failing_run
from tests.support.api_client import bearer, make_client


def test_posted_run_is_stored_as_spans_and_explained(store, writer):
    migrate_analyzer(store)
    _, secret = create_key(store, "acme")
    client = make_client(store, AuthSettings(require_auth=True), writer=writer)
    run_id = str(uuid.uuid4())
    r = client.post("/v1/runs", json=failing_run(run_id), headers=bearer(secret))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["run_id"] == run_id and body["trace_id"] == run_id.replace("-", "")
    assert body["spans"] == 1 + 4 + 3  # root, four model calls, three tool calls (call + result merged)
    tenants = store.query("SELECT DISTINCT ResourceAttributes['agentmortem.tenant'] FROM otel_traces")
    assert tenants == [("acme",)]

    result = analyze_traces(store, [TraceKey("acme", body["trace_id"])], RuleSettings())
    assert result.written == (("acme", body["trace_id"]),)
    got = client.get(f"/v1/runs/{run_id}", headers=bearer(secret))  # the AgentMetrics id finds the run
    assert got.status_code == 200, got.text
    run = got.json()
    assert run["agent_id"] == "trip-planner" and run["session_id"] == "sess-42"
    assert run["status"] == "failed" and run["outcome"] == "failed"
    assert run["failure_class"] == "tool_error"  # the first failure, then a retry storm on the same tool
    assert run["tokens_input"] == 4200 and run["tokens_output"] == 170
    x = client.get(f"/v1/runs/{run_id}/explanation", headers=bearer(secret)).json()
    assert x["headline"].startswith("Agent `trip-planner` failed at step 3 of 8 (`execute_tool WebSearch`)")
    assert x["root_cause_span_id"] == run["root_cause_span_id"] == tools_first(client, run_id, secret)
    events = client.get(f"/v1/runs/{run_id}/events", headers=bearer(secret)).json()
    tools = [e for e in events if e["type"] == "tool_call"]
    assert len(tools) == 3 and all(e["tool_success"] is False and e["tool_duration_ms"] == 400 for e in tools)
    assert tools[0]["canonical"]["tool_arguments"] == '{"q": "flights to Paris"}'
    tool_stats = client.get("/v1/tools", headers=bearer(secret)).json()
    assert tool_stats == [{"tool_name": "WebSearch", "call_count": 3, "success_count": 0, "failure_count": 3,
                           "avg_duration_ms": 400.0, "error_rate": 1.0, "p95_duration_ms": 400.0}]

    # resending the same run rewrites the same span ids: the analysis counts it once
    assert client.post("/v1/runs", json=failing_run(run_id), headers=bearer(secret)).status_code == 202
    analyze_traces(store, [TraceKey("acme", body["trace_id"])], RuleSettings())
    again = client.get(f"/v1/runs/{run_id}", headers=bearer(secret)).json()
    assert again["step_count"] == run["step_count"] and again["tokens_input"] == 4200


def tools_first(client, run_id: str, secret: str) -> str:
    events = client.get(f"/v1/runs/{run_id}/events", headers=bearer(secret)).json()
    return next(e["span_id"] for e in events if e["type"] == "tool_call")


def test_streamed_events_then_run_end_make_a_run(store, writer):
    migrate_analyzer(store)
    client = make_client(store, writer=writer)
    run_id = "stream-run-1"  # not a UUID: the trace id is derived from it
    stream = [
        {"event_id": "s", "type": "run_start", "timestamp": T0},
        {"event_id": "m1", "type": "assistant_message", "timestamp": "2025-01-15T10:30:01Z", "model": "gpt-4o-mini",
         "content": "Let me check the weather.", "tokens": {"input": 300, "output": 20}},
        {"event_id": "t1", "type": "tool_result", "tool_name": "get_weather", "tool_output": '{"temp_c": 18}',
         "tool_success": True, "tool_duration_ms": 250, "timestamp": "2025-01-15T10:30:02Z"},
        {"event_id": "m2", "type": "assistant_message", "timestamp": "2025-01-15T10:30:03Z", "model": "gpt-4o-mini",
         "content": "It is 18°C in Paris.", "tokens": {"input": 350, "output": 15}},
        {"event_id": "end", "type": "run_end", "timestamp": "2025-01-15T10:30:04Z"},
    ]
    spans = [client.post(f"/v1/runs/{run_id}/events", json=e) for e in stream]
    assert [r.status_code for r in spans] == [202] * 5
    assert [r.json()["spans"] for r in spans] == [0, 1, 1, 1, 1]
    trace_id = spans[0].json()["trace_id"]
    analyze_traces(store, [TraceKey("", trace_id)], RuleSettings())
    run = client.get(f"/v1/runs/{run_id}").json()
    assert run["outcome"] == "ok" and run["failure_class"] == "" and run["trace_id"] == trace_id
    assert run["llm_call_count"] == 2 and run["tool_call_count"] == 1 and run["tokens_input"] == 650
    assert run["started_at"] == "2025-01-15T10:30:01.000000Z"  # the earliest stored event opens the run
    assert run["finished_at"] == "2025-01-15T10:30:04.000000Z"


def test_bad_payloads_are_422_with_detail(store, writer):
    client = make_client(store, writer=writer)
    r = client.post("/v1/runs", json={"run_id": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "started_at"]
    r = client.post("/v1/runs/x/events", json={"event_id": "e", "type": "nonsense", "timestamp": T0})
    assert r.status_code == 422
    r = client.post("/v1/runs", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_ingest_without_a_write_path_is_503(store):
    client = make_client(store)
    r = client.post("/v1/runs", json={"run_id": "x", "started_at": T0})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
