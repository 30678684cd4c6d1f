"""Test helper: scenarios from `analyzer.demo_scenarios` stored the way the collector stores them."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from analyzer.demo_scenarios import SCENARIOS, Scenario, play
from collector.convert import request_to_batch
from collector.schema import INSERT_COLUMNS, TRACES_TABLE
from collector.store import Store

BY_NAME = {s.name: s for s in SCENARIOS}
START_NS = 1_750_000_000 * 10**9


def scenario_spans(scenario: Scenario | str, flavour: str = "genai",
                   start_ns: int = START_NS) -> tuple[list[ReadableSpan], dict[str, str]]:
    """The finished SDK spans of one scenario and its marks."""
    scenario = BY_NAME[scenario] if isinstance(scenario, str) else scenario
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "demo-agents"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    marks = play(scenario, provider.get_tracer("agentmortem.test"), flavour, start_ns)  # type: ignore[arg-type]
    return list(exporter.get_finished_spans()), marks


def store_spans(store: Store, spans: list[ReadableSpan]) -> None:
    """Insert SDK spans into `otel_traces` through the collector's conversion."""
    batch = request_to_batch(encode_spans(spans))
    assert batch.check.rejected == 0
    store.insert_columns(TRACES_TABLE, batch.columns, INSERT_COLUMNS)


def store_scenario(store: Store, scenario: Scenario | str, flavour: str = "genai",
                   start_ns: int = START_NS) -> dict[str, str]:
    """Emit and store one scenario; returns its marks plus `trace_id`."""
    spans, marks = scenario_spans(scenario, flavour, start_ns)
    store_spans(store, spans)
    return {**marks, "trace_id": format(spans[0].context.trace_id, "032x")}
