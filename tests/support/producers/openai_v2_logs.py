"""Spans and log records from the official `opentelemetry-instrumentation-openai-v2`, content as events.

Run with `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` in an event mode: the instrumentation
then writes message content as log records (GenAI events) instead of span attributes. Writes one
serialized `ExportTraceServiceRequest` to argv[1] and one `ExportLogsServiceRequest` to argv[1] + ".logs".
"""

from __future__ import annotations

import sys

from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from tests.support.producers.capture import dump, setup
from tests.support.producers.openai_calls import run_calls

if __name__ == "__main__":
    provider, exporter = setup("openai-v2-app")
    log_exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(resource=Resource.create({"service.name": "openai-v2-app"}))
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    set_logger_provider(logger_provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider, logger_provider=logger_provider)
    run_calls()
    dump(provider, exporter)
    logger_provider.force_flush()
    with open(sys.argv[1] + ".logs", "wb") as out:
        out.write(encode_logs(log_exporter.get_finished_logs()).SerializeToString())
