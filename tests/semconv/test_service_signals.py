"""`semconv report` per service: the signals each sends and the GenAI convention versions they speak.

Spans go in through the collector's conversion; log records and metric points are written into
`otel_logs` and the `otel_metrics_*` tables (the collector's), only the columns the report reads set;
tables that do not exist count as no data.
"""

from __future__ import annotations

from opentelemetry.trace import Tracer

from agentmortem.platform.signal_tables import METRIC_TABLES
from agentmortem.semconv import dialects as d
from agentmortem.semconv.metrics import METRIC_BY_NAME, METRICS, metrics_measuring
from agentmortem.semconv.report import coverage_report, render_report
from agentmortem.semconv.services import service_signals
from tests.support import conversation as sc
from tests.support.canonical_spans import load
from tests.support.conversation_checks import handmade


def _old_service(tracer: Tracer) -> None:  # GenAI ≤1.36 names, per-message span events
    with tracer.start_as_current_span("chat old", attributes={
            "gen_ai.system": "openai", "gen_ai.operation.name": "chat", "gen_ai.request.model": sc.MODEL,
            "gen_ai.usage.prompt_tokens": 5}) as span:
        span.add_event("gen_ai.user.message", {"content": "hi"})


def _new_service(tracer: Tracer) -> None:  # 1.37+ and semconv-genai names
    with tracer.start_as_current_span(f"chat {sc.MODEL}", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": sc.MODEL}):
        pass
    tracer.start_span("search_memory prefs", attributes={"gen_ai.operation.name": "search_memory"}).end()


def _logs(store, rows: list[tuple[str, str, dict[str, str]]]) -> None:
    services, names, attributes = zip(*rows)
    store.insert_columns("otel_logs", [list(services), list(names), list(attributes)],
                         ["ServiceName", "EventName", "LogAttributes"])


def _metric_table(store, table: str, points: list[tuple[str, str]]) -> None:
    services, names = zip(*points)
    store.insert_columns(table, [list(services), list(names)], ["ServiceName", "MetricName"])


def test_signals_and_versions_per_service(store):
    load(store, handmade(_old_service, service="old-agent"))
    load(store, handmade(_new_service, service="new-agent"))
    _logs(store, [
        ("old-agent", "", {"event.name": "gen_ai.user.message"}),  # an SDK from before the EventName field
        ("old-agent", "gen_ai.choice", {}),
        ("new-agent", "gen_ai.client.inference.operation.details", {}),
        ("logs-only", "app.started", {}),
    ])
    _metric_table(store, "otel_metrics_histogram", [
        ("old-agent", "gen_ai.client.token.usage"), ("old-agent", "gen_ai.client.operation.duration"),
        ("new-agent", "gen_ai.client.inference.duration"), ("new-agent", "gen_ai.client.inference.duration"),
        ("new-agent", "gen_ai.invoke_agent.tool_calls")])
    _metric_table(store, "otel_metrics_sum", [("new-agent", "gen_ai.client.inference.usage.detailed.input_tokens"),
                                              ("new-agent", "gen_ai.brand_new.metric"), ("new-agent", "http.calls")])

    by_service = {e["service"]: e for e in service_signals(store)}

    assert set(by_service) == {"old-agent", "new-agent", "logs-only"}
    old, new, logs_only = by_service["old-agent"], by_service["new-agent"], by_service["logs-only"]
    assert old["signals"] == {"traces": 1, "logs": 2, "metrics": 2}
    assert new["signals"] == {"traces": 2, "logs": 1, "metrics": 6}
    assert logs_only["signals"] == {"traces": 0, "logs": 1, "metrics": 0}
    assert old["versions"] == {"traces": [d.V_1_26, d.V_1_36, d.V_MESSAGES], "logs": [d.V_MESSAGES],
                               "metrics": ["otel_genai core 1.x"]}
    assert new["versions"] == {"traces": [d.V_1_37, d.V_GENAI_REPO], "logs": [d.V_1_37], "metrics": [d.V_GENAI_REPO]}
    assert old["conventions"] == [{"convention": "otel_genai", "spans": 1}]
    assert old["events"] == ["gen_ai.choice", "gen_ai.user.message"] and logs_only["events"] == []
    assert new["metrics"] == [
        {"name": "gen_ai.brand_new.metric", "points": 1, "version": "undeclared", "measures": ""},
        {"name": "gen_ai.client.inference.duration", "points": 2, "version": "semconv-genai 0.1",
         "measures": "model_call_duration"},
        {"name": "gen_ai.client.inference.usage.detailed.input_tokens", "points": 1, "version": "semconv-genai 0.1",
         "measures": "input_tokens"},
        {"name": "gen_ai.invoke_agent.tool_calls", "points": 1, "version": "semconv-genai 0.1",
         "measures": "tool_calls_per_invocation"}]

    report = coverage_report(store)
    assert report["services"] == service_signals(store)
    text = render_report(report, width=200)
    assert "Signals and convention versions per service" in text and "gen_ai.brand_new.metric" in text
    assert "logs-only" in text and "gen_ai.client.inference.operation.details" in text


def test_without_logs_or_metrics_tables(store):
    for table in ("otel_logs", *METRIC_TABLES):
        store.command(f"DROP TABLE {table}")
    load(store, handmade(_new_service, service="new-agent"))
    (entry,) = service_signals(store)
    assert entry["signals"] == {"traces": 2, "logs": 0, "metrics": 0}
    assert entry["versions"]["logs"] == [] and entry["metrics"] == []


def test_metric_declarations():
    assert len(METRIC_BY_NAME) == len(METRICS)  # one declaration per name
    assert {m.name for m in metrics_measuring("model_call_duration")} == {
        "gen_ai.client.operation.duration", "gen_ai.client.inference.duration"}
    assert {m.version for m in METRICS} == {"core 1.x", "semconv-genai 0.1"}
    for m in METRICS:
        assert m.name.startswith("gen_ai.") and m.unit and m.measures and m.source
    assert {"gen_ai.server.request.duration", "gen_ai.server.time_to_first_token",
            "gen_ai.server.time_per_output_token", "gen_ai.client.token.usage"} <= set(METRIC_BY_NAME)
