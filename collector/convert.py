"""OTLP `ExportTraceServiceRequest` → column lists for `otel_traces`, plus span validation.

Values are written the way the contrib clickhouseexporter writes them: hex ids, pdata
enum names (`Internal`, `Error`…), attribute values through pdata's `AsString()`
(ints in decimal, doubles in ES6 form, bytes base64, arrays/maps as JSON). Spans that
break a rule of `collector.rules` (id lengths, times past 2262) are counted as rejected with
a reason; the rest go on.
This is the ingest hot path: one pass, no per-span allocations beyond the row values.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Self

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.collector.rules import span_problem
from agentmortem.platform.schema import INSERT_COLUMNS, SPAN_KINDS, STATUS_CODES, TRACES_TABLE
from agentmortem.platform.store import DataRejected, Store
from agentmortem.semconv.keys import RESOURCE_SERVICE_NAME, TENANT

_MAX_REASONS = 5


@dataclass
class SpanCheck:
    """How many items (spans, log records, data points) of a request are kept, why the others are
    not, and what was changed to keep them."""

    accepted: int = 0
    rejected: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)  # (why, how many spans), the first few
    notes: list[str] = field(default_factory=list)  # e.g. invalid UTF-8 replaced; nothing dropped
    unit: str = "span"  # what is counted, in `message()`: "span", "log record", "data point"

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected += count
        if count and len(self.reasons) < _MAX_REASONS:
            self.reasons.append((reason, count))

    def absorb(self, other: SpanCheck) -> None:
        """Add the rejections and notes of another stage of the same request."""
        self.rejected += other.rejected
        self.reasons.extend(other.reasons[: max(0, _MAX_REASONS - len(self.reasons))])
        self.notes.extend(other.notes)

    def message(self) -> str:
        """The `partial_success.error_message`: why spans were rejected, then any notes.

        OTLP reads a message with no rejected spans as a warning.
        """
        parts = []
        if self.rejected:
            more = self.rejected - sum(count for _, count in self.reasons)
            tail = f"; and {more} more" if more > 0 else ""
            parts.append(f"rejected {self.rejected} {self.unit}(s): " + "; ".join(why for why, _ in self.reasons) + tail)
        return "; ".join(parts + self.notes)


@dataclass
class ColumnBatch:
    """Rows of one table as columns (one list per column, in the table's insert order), and what
    checking their request found."""

    columns: list[list[Any]]
    check: SpanCheck = field(default_factory=SpanCheck)

    @property
    def count(self) -> int:
        return len(self.columns[0])

    def extend(self, other: ColumnBatch) -> None:
        for mine, theirs in zip(self.columns, other.columns):
            mine.extend(theirs)

    def rows(self, start: int, stop: int) -> Self:
        """Rows `start` to `stop` (exclusive) as a batch of their own."""
        return type(self)([column[start:stop] for column in self.columns])


@dataclass
class SpanBatch(ColumnBatch):
    """Columns ready for a column-oriented insert, in `INSERT_COLUMNS` order.

    This is the reference conversion in Python (used for direct inserts and as the
    test oracle of the native insert in `collector.native`, which must write the same rows).
    """

    columns: list[list[Any]] = field(default_factory=lambda: [[] for _ in INSERT_COLUMNS])

    def label(self, row: int) -> str:
        """How a refusal names the row: `span 'chat gpt-4o'`."""
        return f"span {self.columns[_NAME][row]!r}"


# -- AnyValue → string, as pdata's Value.AsString() -------------------------------


def go_float(value: float) -> str:
    """Format a float the way pdata does (ES6 number-to-string, like encoding/json)."""
    if math.isnan(value) or math.isinf(value):
        spelled = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
        return f"json: unsupported value: {spelled}"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = f"{Decimal(repr(value)).normalize():e}".partition("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return format(Decimal(repr(value)).normalize(), "f")


def _raw(value: Any) -> Any:
    """AnyValue → plain Python value for JSON; doubles become pre-rendered fragments."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return orjson.Fragment(go_float(value.double_value))
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "array_value":
        return [_raw(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _raw(kv.value) for kv in value.kvlist_value.values}
    return None


# Go's encoding/json escapes these where orjson writes them literally.
_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def go_json(raw: Any) -> str:
    """JSON like Go's encoding/json: sorted keys, no spaces, HTML-safe escapes."""
    return orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode().translate(_GO_ESCAPES)


def any_value_str(value: Any) -> str:
    """pdata `Value.AsString()` for an OTLP AnyValue."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        return go_float(value.double_value)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "array_value" or kind == "kvlist_value":
        return go_json(_raw(value))
    return ""


def attributes_map(attributes: Any) -> dict[str, str]:
    """A repeated KeyValue as the exporter's `Map(String, String)` (last key wins)."""
    out: dict[str, str] = {}
    for kv in attributes:
        value = kv.value
        text = value.string_value  # "" unless the value is a non-empty string
        out[kv.key] = text if text else any_value_str(value)
    return out


# -- request → columns --------------------------------------------------------------


def resource_columns(resource: Any, tenant: str | None, service_as_text: bool = False) -> tuple[dict[str, str], str]:
    """A resource's attributes with the tenant stamped as `agentmortem.tenant` (a client-sent one removed
    when there is none, so no request can claim a tenant) and its `ServiceName`: the first
    `service.name` (pdata's Map.Get), as pdata `Str()` ("" unless a string) or, for the metrics
    tables, `AsString()` (`service_as_text`)."""
    attributes = attributes_map(resource.attributes)
    if tenant is not None:
        attributes[TENANT] = tenant
    else:
        attributes.pop(TENANT, None)
    for kv in resource.attributes:
        if kv.key == RESOURCE_SERVICE_NAME:
            return attributes, any_value_str(kv.value) if service_as_text else kv.value.string_value
    return attributes, ""



def check_spans(request: ExportTraceServiceRequest) -> SpanCheck:
    """Validate every span of a request (the rules `request_to_batch` and the native insert apply)."""
    check = SpanCheck()
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = span_problem(span)
                if problem is None:
                    check.accepted += 1
                else:
                    check.reject(f"span {span.name!r}: {problem}")
    return check


def request_to_batch(request: ExportTraceServiceRequest, tenant: str | None = None) -> SpanBatch:
    """Convert a decoded OTLP request; invalid spans are counted in `rejected`.

    `tenant` is stamped on every span's resource as `agentmortem.tenant`; without one, a
    client-sent `agentmortem.tenant` is removed so no request can claim a tenant.
    """
    batch = SpanBatch()
    (
        c_ts, c_trace, c_span, c_parent, c_state, c_name, c_kind, c_service, c_res, c_scope,
        c_scope_ver, c_attrs, c_dur, c_status, c_status_msg, c_ev_ts, c_ev_name, c_ev_attrs,
        c_ln_trace, c_ln_span, c_ln_state, c_ln_attrs,
    ) = batch.columns
    kinds = SPAN_KINDS
    statuses = STATUS_CODES
    for resource_spans in request.resource_spans:
        res_attrs, service = resource_columns(resource_spans.resource, tenant)
        for scope_spans in resource_spans.scope_spans:
            scope_name = scope_spans.scope.name
            scope_version = scope_spans.scope.version
            for span in scope_spans.spans:
                problem = span_problem(span)
                if problem is not None:
                    batch.check.reject(f"span {span.name!r}: {problem}")
                    continue
                batch.check.accepted += 1
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                c_ts.append(start)
                c_trace.append(span.trace_id.hex())
                c_span.append(span.span_id.hex())
                c_parent.append(span.parent_span_id.hex())
                c_state.append(span.trace_state)
                c_name.append(span.name)
                kind = span.kind
                c_kind.append(kinds[kind] if 0 <= kind < len(kinds) else "Unspecified")
                c_service.append(service)
                c_res.append(res_attrs)
                c_scope.append(scope_name)
                c_scope_ver.append(scope_version)
                c_attrs.append(attributes_map(span.attributes))
                c_dur.append(end - start if end > start else 0)
                code = span.status.code
                c_status.append(statuses[code] if 0 <= code < len(statuses) else "Unset")
                c_status_msg.append(span.status.message)
                events = span.events
                if events:
                    c_ev_ts.append([e.time_unix_nano for e in events])
                    c_ev_name.append([e.name for e in events])
                    c_ev_attrs.append([attributes_map(e.attributes) for e in events])
                else:
                    c_ev_ts.append([])
                    c_ev_name.append([])
                    c_ev_attrs.append([])
                links = span.links
                if links:
                    c_ln_trace.append([ln.trace_id.hex() for ln in links])
                    c_ln_span.append([ln.span_id.hex() for ln in links])
                    c_ln_state.append([ln.trace_state for ln in links])
                    c_ln_attrs.append([attributes_map(ln.attributes) for ln in links])
                else:
                    c_ln_trace.append([])
                    c_ln_span.append([])
                    c_ln_state.append([])
                    c_ln_attrs.append([])
    return batch


# -- columns → insert payload ---------------------------------------------------------

_TS = INSERT_COLUMNS.index("Timestamp")
_NAME = INSERT_COLUMNS.index("SpanName")
_EVENT_TS = INSERT_COLUMNS.index("Events.Timestamp")


def _seconds(ns: int) -> orjson.Fragment:
    """Unix nanoseconds as a JSON number of seconds, which ClickHouse reads exactly into DateTime64(9)."""
    return orjson.Fragment(f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}")


def json_columns(batch: SpanBatch) -> bytes:
    """The batch as a `JSONColumns` document: serialised in C by orjson and parsed in C++
    by ClickHouse (the driver's Native serialisation runs in Python, about 5x slower)."""
    columns = list(batch.columns)
    columns[_TS] = [_seconds(ns) for ns in columns[_TS]]
    columns[_EVENT_TS] = [[_seconds(ns) for ns in times] if times else times for times in columns[_EVENT_TS]]
    return orjson.dumps(dict(zip(INSERT_COLUMNS, columns)))


def insert_spans(store: Store, batch: SpanBatch) -> None:
    """One `JSONColumns` insert of the batch into `otel_traces`; `DataRejected` for a value
    orjson cannot encode."""
    try:
        payload = json_columns(batch)
    except TypeError as exc:  # orjson's error for a value it cannot encode
        raise DataRejected(f"cannot encode batch: {exc}") from exc
    store.insert_formatted(TRACES_TABLE, INSERT_COLUMNS, payload, "JSONColumns")
