"""One scripted agent run instrumented by the official `opentelemetry-instrumentation-openai-v2`,
exported over real OTLP/HTTP (spans, log records and metrics) to a running collector.

    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=EVENT_ONLY \\
        python -m tests.support.producers.openai_v2_capture SCENARIO http://127.0.0.1:4318

The capture mode comes from the environment, as in production: with SPAN_ONLY the messages are
attributes of the `chat` spans; with EVENT_ONLY they exist only in log records. The app's own
`invoke_agent` / `execute_tool` spans (tests/support/openai_support_app.py) carry no content in
either mode, so the instrumentation alone decides where the content is. Prints the trace id.
"""

from __future__ import annotations

import sys

import openai
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.support import openai_support_app as app
from tests.support.scripted_openai import ScriptedOpenAI, Step, call, say

A17 = {"order_id": "A17"}
SCENARIOS: dict[str, tuple[list[Step], app.Agent, str]] = {
    # the model answers with a total and a date that no tool returned
    "ungrounded": ([call("lookup_order", A17),
                    say("Order A17 shipped on 2026-11-02; your total was $118.40 and tracking is ZX-99-0412.")],
                   app.support("lookup_order"), "Where is my order A17 and what did I pay?"),
    # the model asks for the same lookup every turn until the app's limit
    "loop": ([call("lookup_order", A17)], app.support("lookup_order", max_iterations=5),
             "Is my order A17 delivered yet?"),
    # the model ends its turn with no text at all
    "empty": ([call("lookup_order", A17), say("")], app.support("lookup_order"), "Where is my order A17?"),
    "healthy": ([call("lookup_order", A17), say("Order A17 has shipped; the total was 42.5.")],
                app.support("lookup_order"), "Where is my order A17?"),
    # streamed model calls: time to first chunk is measured by the instrumentation's metrics
    "streaming": ([call("lookup_order", A17), say("Order A17 has shipped; the total was 42.5.")],
                  app.support("lookup_order", stream=True), "Where is my order A17?"),
}


class TraceIds(SpanProcessor):
    """Remembers the trace id of every span started (one trace per run)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_start(self, span, parent_context=None) -> None:  # noqa: ANN001 (SDK signature)
        trace_id = format(span.get_span_context().trace_id, "032x")
        if trace_id not in self.seen:
            self.seen.append(trace_id)


def main() -> None:
    scenario, endpoint = sys.argv[1], sys.argv[2].rstrip("/")
    resource = Resource.create({"service.name": "capture-mode-app"})
    tracer_provider = TracerProvider(resource=resource)
    ids = TraceIds()
    tracer_provider.add_span_processor(ids)
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs")))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"),
                                           export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    app.tracer = tracer_provider.get_tracer("capture.support_app", "1.0")
    app.CONTENT = False  # the app's own spans never carry content: only the instrumentation's placement differs
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, logger_provider=logger_provider,
                                    meter_provider=meter_provider)

    steps, agent, prompt = SCENARIOS[scenario]
    server = ScriptedOpenAI(steps)
    client = openai.OpenAI(base_url=server.start(), api_key="sk-test", max_retries=0)
    try:
        app.run_agent(client, agent, prompt)
    except app.MaxIterationsExceeded:
        pass
    server.stop()
    tracer_provider.force_flush()
    logger_provider.force_flush()
    meter_provider.force_flush()
    print(*ids.seen)


if __name__ == "__main__":
    main()
