"""Per-span figures from metric exemplars: a streamed model call's time to first chunk on the run tree and page.

Spans and metrics come from the real OTel SDK: the time to first chunk is recorded (under its core
and its semconv-genai name) inside the model call's span, so the SDK keeps it as an exemplar with
that span's ids; both go through the collector's conversions into the contrib tables.
"""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.collector.convert import insert_spans, request_to_batch
from agentmortem.collector.convert_metrics import insert_metrics, metrics_to_batch
from tests.support.api_client import make_client

TTFC = ("gen_ai.client.operation.time_to_first_chunk", "gen_ai.client.inference.time_to_first_chunk")


def _store_run(store, tenant: str, ttfc: float, trace_id: int | None = None) -> tuple[str, str]:
    """One agent run with one streamed model call whose time to first chunk is `ttfc`; (trace id, chat span id)."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "stream-app"}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(resource=Resource.create({"service.name": "stream-app"}), metric_readers=[reader])
    tracer, meter = tracer_provider.get_tracer("app"), meter_provider.get_meter("app")
    histograms = [meter.create_histogram(name, unit="s") for name in TTFC]
    with tracer.start_as_current_span("invoke_agent support", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}):
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}) as chat:
            for histogram in histograms:
                histogram.record(ttfc, {"gen_ai.request.model": "gpt-4o-mini"})
            chat_id = format(chat.get_span_context().span_id, "016x")
            trace = format(chat.get_span_context().trace_id, "032x")
    insert_spans(store, request_to_batch(encode_spans(spans.get_finished_spans()), tenant))
    insert_metrics(store, metrics_to_batch(encode_metrics(reader.get_metrics_data()), tenant))
    return trace, chat_id


def _nodes(nodes: list[dict]):
    for node in nodes:
        yield node
        yield from _nodes(node["children"])


def test_a_streamed_call_shows_its_time_to_first_chunk_from_its_exemplar(store):
    migrate_analyzer(store)
    trace, chat = _store_run(store, "acme", 0.42)
    _store_run(store, "globex", 9.5)  # another tenant's call: never mixed in
    analyze_traces(store, [TraceKey("acme", trace)], RuleSettings())
    client = make_client(store)

    tree = client.get(f"/v1/runs/{trace}/tree").json()
    figures = {n["span_id"]: n["measurements"] for n in _nodes(tree["roots"])}
    assert figures[chat] == {"time_to_first_chunk": 0.42}  # the mean of its two names' exemplars
    assert all(not f for span_id, f in figures.items() if span_id != chat)

    page = client.get(f"/runs/{trace}").text
    assert "first chunk after 420 ms" in page
