"""A trace's GenAI content moved from its spans into log records (GenAI events), as instrumentations
in event mode send it: the same run, told through `otel_logs` instead of span attributes and events.

`content_as_logs(spans)` gives the spans without their message attributes and events, and the log
records that carry them: per span, one `gen_ai.client.inference.operation.details` record with the
span's input/output messages, system instructions and tool definitions, and one record per span
event (exceptions, evaluation results) with its name and attributes.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from agentmortem.semconv import keys as k
from tests.support.log_rows import LogRecord

DETAILS_KEYS = (k.GEN_AI_INPUT_MESSAGES, k.GEN_AI_OUTPUT_MESSAGES, k.GEN_AI_SYSTEM_INSTRUCTIONS,
                k.GEN_AI_TOOL_DEFINITIONS)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), separators=(",", ":"))
    return str(value)


def content_as_logs(spans: list[ReadableSpan], tenant: str = "") -> tuple[list[ReadableSpan], list[LogRecord]]:
    """(the spans without their GenAI content, the log records holding it)."""
    stripped, records = [], []
    for span in spans:
        attrs = dict(span.attributes or {})
        trace_id, span_id = format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")
        details = {key: _text(attrs.pop(key)) for key in DETAILS_KEYS if key in attrs}
        end = span.end_time or span.start_time or 0
        if details:
            records.append(LogRecord(trace_id, span_id, k.EVENT_OPERATION_DETAILS, details, timestamp_ns=end,
                                     tenant=tenant))
        records += [LogRecord(trace_id, span_id, e.name, {key: _text(v) for key, v in (e.attributes or {}).items()},
                              timestamp_ns=e.timestamp, tenant=tenant) for e in span.events]
        stripped.append(ReadableSpan(
            name=span.name, context=span.context, parent=span.parent, resource=span.resource, attributes=attrs,
            events=(), links=span.links, kind=span.kind, status=span.status, start_time=span.start_time,
            end_time=span.end_time, instrumentation_scope=span.instrumentation_scope))
    return stripped, records
