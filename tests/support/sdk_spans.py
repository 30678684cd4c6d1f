"""Span factories for collector tests: real OTel SDK spans and their expected stored rows."""

from __future__ import annotations

import base64
import json
import sys
import uuid

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from agentmortem.platform.schema import INSERT_COLUMNS

RESOURCE_ATTRS = {
    "service.name": "roundtrip-svc",
    "deployment.environment": "test",
    "host.cores": 2,
    "host.ratio": 0.25,
    "feature.on": True,
    "tags": ("a", "b"),
}

SPAN_ATTRS = {
    "str": "hello <world> & co",
    "int": 42,
    "neg": -7,
    "float": 1.5,
    "whole_float": 2.0,
    "tiny": 1e-7,
    "bool_t": True,
    "bool_f": False,
    "strs": ("x", "y"),
    "ints": (1, 2, 3),
    "floats": (0.5, 3.0),
    "bools": (True, False),
    "gen_ai.operation.name": "chat",
}

# What pdata's AsString() (and so otel_traces) makes of each value above.
EXPECTED_STRINGS = {
    "str": "hello <world> & co",
    "int": "42",
    "neg": "-7",
    "float": "1.5",
    "whole_float": "2",
    "tiny": "1e-7",
    "bool_t": "true",
    "bool_f": "false",
    "strs": '["x","y"]',
    "ints": "[1,2,3]",
    "floats": "[0.5,3]",
    "bools": "[true,false]",
    "gen_ai.operation.name": "chat",
}
EXPECTED_RESOURCE = {
    "service.name": "roundtrip-svc",
    "deployment.environment": "test",
    "host.cores": "2",
    "host.ratio": "0.25",
    "feature.on": "true",
    "tags": '["a","b"]',
}


def rich_spans() -> list[ReadableSpan]:
    """Spans covering every field: all kinds, value types, events, links, error status."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(RESOURCE_ATTRS))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("roundtrip.scope", "1.2.3")
    with tracer.start_as_current_span("root", kind=SpanKind.SERVER, attributes=SPAN_ATTRS) as root:
        root.add_event("started", {"step": 1, "ok": True, "why": "because"})
        for kind in (SpanKind.INTERNAL, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER):
            with tracer.start_as_current_span(f"child-{kind.name.lower()}", kind=kind) as child:
                child.set_attribute("kind.index", kind.value)
        with tracer.start_as_current_span(
            "linked", links=[Link(root.get_span_context(), {"link.attr": "v", "n": 3})]
        ) as linked:
            linked.add_event("exception", {"exception.type": "ValueError", "exception.message": "bad"})
            linked.set_status(Status(StatusCode.ERROR, "it broke"))
        with tracer.start_as_current_span("ok-span") as ok:
            ok.set_status(Status(StatusCode.OK))
    provider.shutdown()
    return list(exporter.get_finished_spans())


def simple_spans(count: int, name: str = "bulk", service: str = "bulk-svc") -> list[ReadableSpan]:
    """`count` small GenAI-shaped spans in one trace-per-10 layout, each uniquely named by attribute."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bulk")
    tag = uuid.uuid4().hex[:8]
    for i in range(count):
        with tracer.start_as_current_span(name, attributes={"seq": i, "tag": tag, "gen_ai.request.model": "gpt-4o"}):
            pass
    provider.shutdown()
    return list(exporter.get_finished_spans())


KIND_NAMES = {
    SpanKind.INTERNAL: "Internal",
    SpanKind.SERVER: "Server",
    SpanKind.CLIENT: "Client",
    SpanKind.PRODUCER: "Producer",
    SpanKind.CONSUMER: "Consumer",
}
STATUS_NAMES = {StatusCode.UNSET: "Unset", StatusCode.OK: "Ok", StatusCode.ERROR: "Error"}


def expected_row(span: ReadableSpan) -> dict:
    """The otel_traces row the contrib exporter would write for `span`."""
    ctx = span.get_span_context()
    parent = span.parent.span_id if span.parent else None
    attrs = {k: EXPECTED_STRINGS.get(k, _plain(v)) for k, v in span.attributes.items()}
    return {
        "Timestamp": span.start_time,
        "TraceId": f"{ctx.trace_id:032x}",
        "SpanId": f"{ctx.span_id:016x}",
        "ParentSpanId": f"{parent:016x}" if parent else "",
        "TraceState": "",
        "SpanName": span.name,
        "SpanKind": KIND_NAMES[span.kind],
        "ServiceName": "roundtrip-svc",
        "ResourceAttributes": {k: EXPECTED_RESOURCE.get(k, _plain(v)) for k, v in span.resource.attributes.items()},
        "ScopeName": "roundtrip.scope",
        "ScopeVersion": "1.2.3",
        "SpanAttributes": attrs,
        "Duration": span.end_time - span.start_time,
        "StatusCode": STATUS_NAMES[span.status.status_code],
        "StatusMessage": span.status.description or "",
        "Events.Timestamp": [e.timestamp for e in span.events],
        "Events.Name": [e.name for e in span.events],
        "Events.Attributes": [{k: _plain(v) for k, v in e.attributes.items()} for e in span.events],
        "Links.TraceId": [f"{ln.context.trace_id:032x}" for ln in span.links],
        "Links.SpanId": [f"{ln.context.span_id:016x}" for ln in span.links],
        "Links.TraceState": ["" for _ in span.links],
        "Links.Attributes": [{k: _plain(v) for k, v in ln.attributes.items()} for ln in span.links],
    }


def _plain(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


READBACK_SQL = """
SELECT toUnixTimestamp64Nano(Timestamp), TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind,
       ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode,
       StatusMessage, arrayMap(t -> toUnixTimestamp64Nano(t), Events.Timestamp), Events.Name,
       Events.Attributes, Links.TraceId, Links.SpanId, Links.TraceState, Links.Attributes
FROM otel_traces
"""
READBACK_COLUMNS = INSERT_COLUMNS  # READBACK_SQL selects them in insert order


def otlp_json(request: ExportTraceServiceRequest) -> bytes:
    """A request in OTLP/JSON: protobuf's JSON mapping with hex ids, non-ASCII left as UTF-8
    (so a test can put raw bytes in a string). Deep values are fine: the recursion limit is
    raised for `MessageToDict`, which recurses a few frames per nesting level."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        document = json_format.MessageToDict(request)
    finally:
        sys.setrecursionlimit(limit)
    for rs in document.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for item in [span, *span.get("links", [])]:
                    for name in ("traceId", "spanId", "parentSpanId"):
                        if name in item:
                            item[name] = base64.b64decode(item[name]).hex()
    return json.dumps(document, ensure_ascii=False).encode()
