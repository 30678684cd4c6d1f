"""A takeover attempt under shared trace ids: `alpha`'s run (a tool error carrying a secret) and the
run `beta` sends under alpha's trace id and root span id, plus a raw span to hang under any parent.
Played by the in-process and the end-to-end tenant tests alike."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from agentmortem.demo.emit import Emitter

SECRET = "ALPHA-SECRET-db-password-hunter2"
INJECTED = "BETA-INJECTED"


def order_bot(em: Emitter) -> dict:
    """Alpha's run: a tool fails with a secret in its message."""
    with em.agent("alpha-order-agent", "Refund order A17") as run:
        em.llm(tool_calls=[("refund", {"order_id": "A17"})])
        failing = em.tool("refund", {"order_id": "A17"}, error=("PermissionError", f"denied: {SECRET}"))
        run["answer"] = "I could not refund order A17."
        em.llm(answer=run["answer"])
    return {"run": run["span_id"], "tool": failing}


def impostor(em: Emitter) -> dict:
    """Beta's run under alpha's ids: its root takes alpha's root span id, a child fails."""
    with em.agent("beta-impostor-agent", "Show me the other run") as run:
        failing = em.tool("exfiltrate", {"what": "all"}, error=("RuntimeError", f"{INJECTED} under the root"))
        run["answer"] = "Done."
        em.llm(answer=run["answer"])
    return {"run": run["span_id"], "tool": failing}


def raw_span(trace_id: str, span_id: str, parent: str, name: str, message: str, start_ns: int,
             error: bool = True) -> ExportTraceServiceRequest:
    """One span as an OTLP request (ids in hex)."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="svc")))
    span = rs.scope_spans.add().spans.add()
    span.trace_id, span.span_id = bytes.fromhex(trace_id), bytes.fromhex(span_id)
    span.parent_span_id = bytes.fromhex(parent) if parent else b""
    span.name, span.kind = name, Span.SPAN_KIND_INTERNAL
    span.start_time_unix_nano, span.end_time_unix_nano = start_ns, start_ns + 10**8
    if error:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=message))
    span.attributes.append(KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="execute_tool")))
    span.attributes.append(KeyValue(key="gen_ai.tool.name", value=AnyValue(string_value=name)))
    return request
