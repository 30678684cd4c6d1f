"""`agentmortem demo`: send the scenario library to a running collector through a real OTel exporter.

Every scenario of `demo.scenarios` (healthy runs and one per failure class)
is played through an OpenTelemetry SDK `TracerProvider` whose spans go out with the
OTLP/HTTP exporter, exactly as an instrumented agent's would. Runs are dated just
before now, so their post-mortems appear within seconds of `serve`'s next round
(the `abandoned` run is judged after `AGENTMORTEM_ABANDON_AFTER_SECONDS`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from agentmortem.demo.emit import FLAVOURS, Flavour
from agentmortem.demo.scenarios import SCENARIOS, Scenario, play

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
_SPACING_NS = 40 * 10**9  # scenarios are dated this far apart, ending before "now"


@dataclass(frozen=True)
class Sent:
    scenario: str
    flavour: str
    trace_id: str
    run_id: str


class _Remember(SpanExporter):
    """Passes spans on and remembers each trace id, so the demo can print them."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.trace_ids: list[str] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            self.trace_ids.append(format(span.context.trace_id, "032x"))
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def send_demo(endpoint: str = DEFAULT_ENDPOINT, scenarios: Sequence[Scenario] = SCENARIOS,
              flavours: Sequence[Flavour] = FLAVOURS[:1], headers: dict[str, str] | None = None,
              service_name: str = "demo-agents") -> list[Sent]:
    """Play the scenarios and export them to `endpoint` (OTLP/HTTP); returns what was sent."""
    exporter = _Remember(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", headers=headers, timeout=10))
    provider = TracerProvider(resource=Resource.create({"service.name": service_name,
                                                        "deployment.environment.name": "demo"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("agentmortem.demo")
    plays = [(s, f) for f in flavours for s in scenarios]
    start = time.time_ns() - (len(plays) + 1) * _SPACING_NS
    sent = []
    for i, (scenario, flavour) in enumerate(plays):
        before = len(exporter.trace_ids)
        marks = play(scenario, tracer, flavour, start + i * _SPACING_NS)
        trace_id = exporter.trace_ids[before] if len(exporter.trace_ids) > before else ""
        sent.append(Sent(scenario.name, flavour, trace_id, marks.get("run", "")))
    provider.shutdown()
    return sent
