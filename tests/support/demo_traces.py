"""Test helper: scenarios from `demo.scenarios` stored the way the collector stores them."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator

from agentmortem.collector.convert import request_to_batch
from agentmortem.demo.scenarios import SCENARIOS, Scenario, play
from agentmortem.platform.schema import INSERT_COLUMNS, TRACES_TABLE
from agentmortem.platform.store import Store

BY_NAME = {s.name: s for s in SCENARIOS}
START_NS = 1_750_000_000 * 10**9


class SharedIds(IdGenerator):
    """The ids of a trace someone else sent: every trace gets `trace_id`, the first span `span_id`
    (the root, which a scenario starts first), later spans random ids. What a tenant sends to
    take over another tenant's trace (hex ids)."""

    def __init__(self, trace_id: str, span_id: str) -> None:
        self._trace_id, self._first = int(trace_id, 16), int(span_id, 16)
        self._random = RandomIdGenerator()

    def generate_trace_id(self) -> int:
        return self._trace_id

    def generate_span_id(self) -> int:
        first, self._first = self._first, 0
        return first or self._random.generate_span_id()


def scenario_spans(scenario: Scenario | str, flavour: str = "genai", start_ns: int = START_NS,
                   ids: IdGenerator | None = None) -> tuple[list[ReadableSpan], dict[str, str]]:
    """The finished SDK spans of one scenario (ids from `ids`, random by default) and its marks."""
    scenario = BY_NAME[scenario] if isinstance(scenario, str) else scenario
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "demo-agents"}), id_generator=ids)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    marks = play(scenario, provider.get_tracer("agentmortem.test"), flavour, start_ns)  # type: ignore[arg-type]
    return list(exporter.get_finished_spans()), marks


def store_spans(store: Store, spans: list[ReadableSpan], tenant: str | None = None) -> None:
    """Insert SDK spans into `otel_traces` through the collector's conversion (as sent with a key of
    `tenant`)."""
    batch = request_to_batch(encode_spans(spans), tenant)
    assert batch.check.rejected == 0
    store.insert_columns(TRACES_TABLE, batch.columns, INSERT_COLUMNS)


def store_scenario(store: Store, scenario: Scenario | str, flavour: str = "genai", start_ns: int = START_NS,
                   tenant: str | None = None, ids: IdGenerator | None = None) -> dict[str, str]:
    """Emit and store one scenario (as sent with a key of `tenant`, ids from `ids`); returns its marks
    plus `trace_id`."""
    spans, marks = scenario_spans(scenario, flavour, start_ns, ids)
    store_spans(store, spans, tenant)
    return {**marks, "trace_id": format(spans[0].context.trace_id, "032x")}
