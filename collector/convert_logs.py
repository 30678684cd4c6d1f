"""OTLP `ExportLogsServiceRequest` → column lists for `otel_logs`, plus log record validation.

Values are written the way the contrib clickhouseexporter writes them: `Timestamp` is the record's
time or, when that is 0, its observed time; ids in hex, empty when absent or all zeros; `Body` and
attribute values through pdata's `AsString()` (see `collector.convert`); `ServiceName` is the
resource's first `service.name` when it is a string. `TraceFlags` keeps the low byte of the record's
flags — the W3C trace flags, all the column holds. Records that break a rule of `LOG_RULES` are
counted as rejected with a reason; the rest go on. One pass, no per-record allocations beyond the
row values; serialised as `JSONColumns` by orjson like the spans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from agentmortem.collector.convert import ColumnBatch, SpanCheck, any_value_str, attributes_map, resource_columns
from agentmortem.collector.rules import MAX_TIMESTAMP_NS, Check, Id, Time, problem_finder
from agentmortem.platform.signal_tables import LOG_COLUMNS, LOGS_TABLE, logs_insert_columns
from agentmortem.platform.store import DataRejected, Store

COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in LOG_COLUMNS)

LOG_RULES: tuple[tuple[str, Check], ...] = (
    ("trace_id", Id(16, optional=True)),
    ("span_id", Id(8, optional=True)),
    ("time_unix_nano", Time(stored_in=LOGS_TABLE)),
    ("observed_time_unix_nano", Time(stored_in=LOGS_TABLE)),
)
"""Field of `LogRecord` → the rule it must pass, in the order problems are reported."""

_rule_problem = problem_finder(LOG_RULES)
_MAX_SEVERITY = 255  # `SeverityNumber UInt8`; OTLP defines 0-24
# The rules above, spelled out for the converter's fast path (a test holds them equal).
_TRACE_SIZES, _SPAN_SIZES, _MAX_NS = (0, 16), (0, 8), MAX_TIMESTAMP_NS


def record_problem(record: Any) -> str | None:
    """Why `record` (an OTLP `LogRecord`) cannot be stored in `otel_logs`, or None when it can."""
    found = _rule_problem(record)
    if found is None and not 0 <= record.severity_number <= _MAX_SEVERITY:
        return f"severity_number {record.severity_number} is outside 0-{_MAX_SEVERITY}"
    return found


_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
_TS = COLUMN_NAMES.index("Timestamp")
_SCOPE = COLUMN_NAMES.index("ScopeName")
_EVENT = COLUMN_NAMES.index("EventName")


@dataclass
class LogBatch(ColumnBatch):
    """`otel_logs` columns ready for a column-oriented insert, in `COLUMN_NAMES` order."""

    columns: list[list[Any]] = field(default_factory=lambda: [[] for _ in COLUMN_NAMES])

    def label(self, row: int) -> str:
        """How a message names the record of `row`: its event name, else its scope."""
        event = self.columns[_EVENT][row]
        if event:
            return f"log record {event!r}"
        return f"log record of scope {self.columns[_SCOPE][row]!r}"


def _where(index: int, scope_name: str) -> str:
    return f"log record {index} of scope {scope_name!r}"


def check_log_records(request: ExportLogsServiceRequest) -> SpanCheck:
    """Validate every log record of a request (the rules `logs_to_batch` applies)."""
    check = SpanCheck()
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for index, record in enumerate(scope_logs.log_records):
                if (len(record.trace_id) in _TRACE_SIZES and len(record.span_id) in _SPAN_SIZES  # the usual case
                        and record.time_unix_nano <= _MAX_NS and record.observed_time_unix_nano <= _MAX_NS
                        and 0 <= record.severity_number <= _MAX_SEVERITY):
                    check.accepted += 1
                    continue
                problem = record_problem(record)
                if problem is None:
                    check.accepted += 1
                else:
                    check.reject(f"{_where(index, scope_logs.scope.name)}: {problem}")
    return check


def logs_to_batch(request: ExportLogsServiceRequest, tenant: str | None = None) -> LogBatch:
    """Convert a decoded OTLP logs request; invalid records are counted in `batch.check`."""
    batch = LogBatch()
    (
        c_ts, c_trace, c_span, c_flags, c_sev_text, c_sev_num, c_service, c_body, c_res_url, c_res,
        c_scope_url, c_scope, c_scope_ver, c_scope_attrs, c_attrs, c_event,
    ) = batch.columns
    check = batch.check
    zero_trace, zero_span = _ZERO_TRACE, _ZERO_SPAN
    for resource_logs in request.resource_logs:
        res_attrs, service = resource_columns(resource_logs.resource, tenant)
        res_url = resource_logs.schema_url
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            scope_name, scope_version, scope_url = scope.name, scope.version, scope_logs.schema_url
            scope_attrs = attributes_map(scope.attributes)
            kept = 0
            for index, record in enumerate(scope_logs.log_records):
                trace_id, span_id = record.trace_id, record.span_id
                time_ns, observed_ns, severity = record.time_unix_nano, record.observed_time_unix_nano, record.severity_number
                # the usual case without a call; `record_problem` (the rules) decides the rest
                if not (len(trace_id) in _TRACE_SIZES and len(span_id) in _SPAN_SIZES and time_ns <= _MAX_NS
                        and observed_ns <= _MAX_NS and 0 <= severity <= _MAX_SEVERITY):
                    problem = record_problem(record)
                    if problem is not None:
                        check.reject(f"{_where(index, scope_name)}: {problem}")
                        continue
                kept += 1
                c_ts.append(time_ns or observed_ns)
                c_trace.append(trace_id.hex() if trace_id and trace_id != zero_trace else "")
                c_span.append(span_id.hex() if span_id and span_id != zero_span else "")
                c_flags.append(record.flags & 0xFF)
                c_sev_text.append(record.severity_text)
                c_sev_num.append(severity)
                body = record.body
                text = body.string_value  # "" unless a non-empty string
                c_body.append(text if text else any_value_str(body))
                c_attrs.append(attributes_map(record.attributes))
                c_event.append(record.event_name)
            check.accepted += kept
            # the resource's and the scope's columns, the same on each of the scope's rows
            for column, value in ((c_service, service), (c_res_url, res_url), (c_res, res_attrs),
                                  (c_scope_url, scope_url), (c_scope, scope_name), (c_scope_ver, scope_version),
                                  (c_scope_attrs, scope_attrs)):
                column.extend([value] * kept)
    return batch


def seconds(ns: int) -> orjson.Fragment:
    """Unix nanoseconds as a JSON number of seconds: exact in `DateTime64(9)`, truncated to the
    second in `DateTime` (as the exporter's driver truncates a Go time)."""
    return orjson.Fragment(f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}")


def json_payload(names: tuple[str, ...], columns: dict[str, list[Any]]) -> bytes:
    """`columns` (only those in `names`) as a `JSONColumns` document; `DataRejected` when orjson
    cannot encode a value."""
    try:
        return orjson.dumps({name: columns[name] for name in names})
    except TypeError as exc:  # orjson's error for a value it cannot encode
        raise DataRejected(f"cannot encode batch: {exc}") from exc


def insert_logs(store: Store, batch: LogBatch) -> None:
    """Insert `batch` into `otel_logs`, writing only the columns the stored table has.

    Raises `DataRejected` when a value cannot be encoded or the database refuses the data; other
    store errors propagate."""
    if not batch.count:
        return
    names = logs_insert_columns(store)
    store.insert_formatted(LOGS_TABLE, names, logs_payload(batch, names), "JSONColumns")


def logs_payload(batch: LogBatch, names: tuple[str, ...] = COLUMN_NAMES) -> bytes:
    """The `JSONColumns` document of `batch`'s columns `names` (`DataRejected`: a value orjson cannot encode)."""
    columns = dict(zip(COLUMN_NAMES, batch.columns))
    columns["Timestamp"] = [seconds(ns) for ns in batch.columns[_TS]]
    return json_payload(names, columns)
