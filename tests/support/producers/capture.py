"""In-producer helpers: an SDK tracer provider with an in-memory exporter, and the dump to OTLP bytes."""

from __future__ import annotations

import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def setup(service: str) -> tuple[TracerProvider, InMemorySpanExporter]:
    """A global tracer provider whose spans stay in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider, exporter


def dump(provider: TracerProvider, exporter: InMemorySpanExporter, path: str | None = None) -> None:
    """Write the finished spans as one serialized `ExportTraceServiceRequest` (argv[1] by default)."""
    provider.force_flush()
    data = encode_spans(exporter.get_finished_spans()).SerializeToString()
    with open(path or sys.argv[1], "wb") as out:
        out.write(data)
