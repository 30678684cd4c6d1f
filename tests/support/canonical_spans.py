"""Spans loaded the way the collector stores them, and read back as canonical spans both ways: as
ClickHouse computes them (the compiled SQL) and as Python does (the reference interpreter)."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.collector.convert import request_to_batch
from agentmortem.platform.schema import INSERT_COLUMNS
from agentmortem.platform.store import Store
from agentmortem.semconv.model import CanonicalSpan
from agentmortem.semconv.sql import canonical_select
from tests.support.log_rows import raw_logs
from tests.support.reference_mapping import canonical_from_row, fold_log_events


def load(store: Store, data: bytes) -> int:
    """Insert serialized spans into `otel_traces` the way the collector does; returns the span count."""
    batch = request_to_batch(ExportTraceServiceRequest.FromString(data))
    store.insert_columns("otel_traces", batch.columns, INSERT_COLUMNS)
    return batch.count


RAW_ROWS_SQL = "SELECT * REPLACE (toUnixTimestamp64Nano(Timestamp) AS Timestamp) FROM otel_traces ORDER BY SpanId"


def sql_spans(store: Store, logs: bool = False) -> list[CanonicalSpan]:
    """Canonical spans as ClickHouse computes them, ordered by span id (with `logs`, every `otel_logs`
    GenAI event read as an event of its span)."""
    select = canonical_select(logs="otel_logs", logs_where="1") if logs else canonical_select()
    rows = store.query_dicts(f"SELECT * FROM ({select}) ORDER BY span_id")
    return [CanonicalSpan(**{**r, "finish_reasons": tuple(r["finish_reasons"])}) for r in rows]


def python_spans(store: Store, logs: bool = False) -> list[CanonicalSpan]:
    """Canonical spans as Python computes them from the raw rows, ordered by span id (with `logs`,
    folded with the raw `otel_logs` rows)."""
    rows = store.query_dicts(RAW_ROWS_SQL)
    return [canonical_from_row(row) for row in (fold_log_events(rows, raw_logs(store)) if logs else rows)]


def diff(a: CanonicalSpan, b: CanonicalSpan) -> str:
    """The fields on which two canonical spans differ, one line each."""
    return "\n".join(f"  {name}: sql={getattr(a, name)!r} python={getattr(b, name)!r}"
                     for name in a._fields if getattr(a, name) != getattr(b, name))
