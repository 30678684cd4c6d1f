"""OTLP `ExportMetricsServiceRequest` → rows of the five `otel_metrics_*` tables, plus data point validation.

Values are written the way the contrib clickhouseexporter writes them (internal/metrics/*.go):
one row per data point in the table of its metric's type; `Value` is the point's double or its
int as a double (0 when unset); `ServiceName` is pdata `AsString()` of the resource's first
`service.name`; attributes through `AsString()`; exemplar ids in hex *with* zeros when absent (the
exporter hex-encodes the fixed arrays); `AggregationTemporality` the enum's number; unset optional
`Sum`/`Min`/`Max` as 0. Times are written with nanoseconds: the newest tables (`DateTime`) keep
whole seconds, as the exporter's driver does, older ones (`DateTime64(9)`) keep them all.

A metric with no data type set carries no data point: nothing is stored and the request's message
says so. (The exporter fails the whole export with "metrics type is unset"; under OTLP partial
success the other metrics of the request are kept.) A metric with a type but no points stores
nothing, as in the exporter. Points that break a rule of `POINT_RULES` are rejected with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from agentmortem.collector.convert import SpanCheck, attributes_map, resource_columns
from agentmortem.collector.convert_logs import json_payload, seconds
from agentmortem.collector.rules import MAX_DATETIME_NS, MAX_DATETIME_TEXT, Check, Each, Id, Time, problem_finder
from agentmortem.platform.signal_tables import (
    EXP_HISTOGRAM_TABLE,
    GAUGE_TABLE,
    HISTOGRAM_TABLE,
    METRIC_COLUMNS,
    METRIC_TABLES,
    SUM_TABLE,
    SUMMARY_TABLE,
    insert_columns,
)
from agentmortem.platform.store import Store

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(column.name for column in columns) for table, columns in METRIC_COLUMNS.items()
}

_TIME = Time(MAX_DATETIME_NS, MAX_DATETIME_TEXT, "otel_metrics_*")
POINT_RULES: tuple[tuple[str, Check], ...] = (
    ("start_time_unix_nano", _TIME),
    ("time_unix_nano", _TIME),
    ("exemplars", Each((("trace_id", Id(16, optional=True)), ("span_id", Id(8, optional=True)),
                        ("time_unix_nano", _TIME)))),
)
"""Field of a data point → the rule it must pass (summary points have no exemplars)."""
_SUMMARY_RULES = POINT_RULES[:2]

_point_problem = problem_finder(POINT_RULES)
_summary_problem = problem_finder(_SUMMARY_RULES)

# metric `data` oneof → (its table, the field holding its points)
_KINDS: dict[str, tuple[str, str]] = {
    "gauge": (GAUGE_TABLE, "gauge"),
    "sum": (SUM_TABLE, "sum"),
    "histogram": (HISTOGRAM_TABLE, "histogram"),
    "exponential_histogram": (EXP_HISTOGRAM_TABLE, "exponential_histogram"),
    "summary": (SUMMARY_TABLE, "summary"),
}
_TIME_COLUMNS = ("StartTimeUnix", "TimeUnix")
_EXEMPLAR_TIMES = "Exemplars.TimeUnix"
_METRIC_NAME = TABLE_COLUMNS[GAUGE_TABLE].index("MetricName")


def _new_tables() -> dict[str, list[list[Any]]]:
    return {table: [[] for _ in TABLE_COLUMNS[table]] for table in METRIC_TABLES}


@dataclass
class MetricBatch:
    """Rows of the five metrics tables; row numbers run table by table in `METRIC_TABLES` order."""

    tables: dict[str, list[list[Any]]] = field(default_factory=_new_tables)
    check: SpanCheck = field(default_factory=SpanCheck)

    def table_count(self, table: str) -> int:
        return len(self.tables[table][0])

    @property
    def count(self) -> int:
        return sum(len(columns[0]) for columns in self.tables.values())

    def extend(self, other: MetricBatch) -> None:
        for table, columns in self.tables.items():
            for mine, theirs in zip(columns, other.tables[table]):
                mine.extend(theirs)

    def rows(self, start: int, stop: int) -> MetricBatch:
        """Rows `start` to `stop` (exclusive, counted across the tables) as a batch of their own."""
        part = MetricBatch()
        offset = 0
        for table in METRIC_TABLES:
            columns = self.tables[table]
            size = len(columns[0])
            low, high = max(start - offset, 0), min(stop - offset, size)
            if low < high:
                part.tables[table] = [column[low:high] for column in columns]
            offset += size
        return part

    def label(self, row: int) -> str:
        """How a message names the data point of `row`."""
        for table in METRIC_TABLES:
            columns = self.tables[table]
            if row < len(columns[0]):
                return f"data point of {columns[_METRIC_NAME][row]!r}"
            row -= len(columns[0])
        raise IndexError("row out of range")


def _where(kind: str, metric: Any, index: int) -> str:
    return f"{kind} data point {index} of {metric.name!r}"


def check_data_points(request: ExportMetricsServiceRequest) -> SpanCheck:
    """Validate every data point of a request (the rules `metrics_to_batch` applies)."""
    check = SpanCheck()
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    check.notes.append(_untyped(metric, scope_metrics.scope.name))
                    continue
                find = _summary_problem if kind == "summary" else _point_problem
                for index, point in enumerate(getattr(metric, kind).data_points):
                    problem = find(point)
                    if problem is None:
                        check.accepted += 1
                    else:
                        check.reject(f"{_where(kind, metric, index)}: {problem}")
    return check


def _untyped(metric: Any, scope_name: str) -> str:
    return f"metric {metric.name!r} of scope {scope_name!r} has no data type: nothing stored"


def _float(value: float) -> float | str:
    """A double for JSON: NaN and infinities as the strings ClickHouse reads ("nan", "inf", "-inf")."""
    return value if value - value == 0 else str(value)


def _floats(values: Any) -> list[float | str]:
    out = list(values)
    total = sum(out)
    if total - total != 0:  # a NaN or infinity somewhere (or an overflowing sum): spell them out
        out = [_float(v) for v in out]
    return out


def _point_value(point: Any) -> float | str:
    kind = point.WhichOneof("value")
    if kind == "as_double":
        return _float(point.as_double)
    if kind == "as_int":
        return float(point.as_int)
    return 0.0


def _exemplars(point: Any) -> tuple[list, list, list, list, list]:
    attrs: list = []
    times: list = []
    values: list = []
    spans: list = []
    traces: list = []
    for exemplar in point.exemplars:
        attrs.append(attributes_map(exemplar.filtered_attributes))
        times.append(exemplar.time_unix_nano)
        values.append(_point_value(exemplar))
        span_id, trace_id = exemplar.span_id, exemplar.trace_id
        spans.append(span_id.hex() if span_id else "0000000000000000")
        traces.append(trace_id.hex() if trace_id else "00000000000000000000000000000000")
    return attrs, times, values, spans, traces


_EMPTY_EXEMPLARS: tuple[list, list, list, list, list] = ([], [], [], [], [])


def metrics_to_batch(request: ExportMetricsServiceRequest, tenant: str | None = None) -> MetricBatch:
    """Convert a decoded OTLP metrics request; invalid points are counted in `batch.check`."""
    batch = MetricBatch()
    check = batch.check
    tables = batch.tables
    for resource_metrics in request.resource_metrics:
        res_attrs, service = resource_columns(resource_metrics.resource, tenant, service_as_text=True)
        res_url = resource_metrics.schema_url
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            head = (res_attrs, res_url, scope.name, scope.version, attributes_map(scope.attributes),
                    scope.dropped_attributes_count, scope_metrics.schema_url, service)
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    check.notes.append(_untyped(metric, scope.name))
                    continue
                table, attr = _KINDS[kind]
                data = getattr(metric, attr)
                _append_points(kind, metric, data, head, tables[table], check)
    return batch


def _append_points(kind: str, metric: Any, data: Any, head: tuple, columns: list[list[Any]], check: SpanCheck) -> None:
    meta = head + (metric.name, metric.description, metric.unit)
    find = _summary_problem if kind == "summary" else _point_problem
    c_attrs, c_start, c_time = columns[len(meta): len(meta) + 3]
    values = _VALUES[kind]
    rest = columns[len(meta) + 3:]
    appends = [column.append for column in rest]
    temporality = int(data.aggregation_temporality) if kind != "gauge" and kind != "summary" else 0
    monotonic = data.is_monotonic if kind == "sum" else False
    kept = 0
    for index, point in enumerate(data.data_points):
        start_ns, time_ns = point.start_time_unix_nano, point.time_unix_nano
        # the usual case without a call (exemplars are checked by the rules); `find` decides the rest
        if not (start_ns <= MAX_DATETIME_NS and time_ns <= MAX_DATETIME_NS) or (kind != "summary" and point.exemplars):
            problem = find(point)
            if problem is not None:
                check.reject(f"{_where(kind, metric, index)}: {problem}")
                continue
        kept += 1
        c_attrs.append(attributes_map(point.attributes))
        c_start.append(start_ns)
        c_time.append(time_ns)
        for append, value in zip(appends, values(point, temporality, monotonic)):
            append(value)
    check.accepted += kept
    for column, value in zip(columns, meta):  # the metric's own columns, the same on each of its rows
        column.extend([value] * kept)


def _gauge(point: Any, _temporality: int, _monotonic: bool) -> tuple:
    return (_point_value(point), point.flags, *(_exemplars(point) if point.exemplars else _EMPTY_EXEMPLARS))


def _sum(point: Any, temporality: int, monotonic: bool) -> tuple:
    return (_point_value(point), point.flags, *(_exemplars(point) if point.exemplars else _EMPTY_EXEMPLARS),
            temporality, monotonic)


def _histogram(point: Any, temporality: int, _monotonic: bool) -> tuple:
    return (point.count, _float(point.sum), list(point.bucket_counts), _floats(point.explicit_bounds),
            *(_exemplars(point) if point.exemplars else _EMPTY_EXEMPLARS), point.flags, _float(point.min),
            _float(point.max), temporality)


def _exponential_histogram(point: Any, temporality: int, _monotonic: bool) -> tuple:
    positive, negative = point.positive, point.negative
    return (point.count, _float(point.sum), point.scale, point.zero_count, positive.offset,
            list(positive.bucket_counts), negative.offset, list(negative.bucket_counts),
            *(_exemplars(point) if point.exemplars else _EMPTY_EXEMPLARS), point.flags, _float(point.min),
            _float(point.max), temporality)


def _summary(point: Any, _temporality: int, _monotonic: bool) -> tuple:
    quantiles = point.quantile_values
    return (point.count, _float(point.sum), _floats(q.quantile for q in quantiles),
            _floats(q.value for q in quantiles), point.flags)


# metric type → a point's values for its table's columns after the time columns, in table order
_VALUES = {"gauge": _gauge, "sum": _sum, "histogram": _histogram,
           "exponential_histogram": _exponential_histogram, "summary": _summary}


def insert_metrics(store: Store, batch: MetricBatch) -> None:
    """One insert per metrics table holding rows of `batch`.

    Raises `DataRejected` when a value cannot be encoded or the database refuses the data; other
    store errors propagate. Every payload is encoded before the first insert, so a value that cannot be
    encoded writes nothing; tables are then written in order, and a database failure leaves the
    earlier ones written (ClickHouse has no transaction across tables)."""
    inserts = []
    for table in METRIC_TABLES:
        if batch.table_count(table):
            written = insert_columns(store, table)
            inserts.append((table, written, table_payload(batch, table, written)))
    for table, written, payload in inserts:
        store.insert_formatted(table, written, payload, "JSONColumns")


def table_payload(batch: MetricBatch, table: str, names: tuple[str, ...] | None = None) -> bytes:
    """The `JSONColumns` document of `batch`'s rows of `table` (columns `names`, by default all);
    `DataRejected` when orjson cannot encode a value."""
    by_name = dict(zip(TABLE_COLUMNS[table], batch.tables[table]))
    for name in _TIME_COLUMNS:
        by_name[name] = [seconds(ns) for ns in by_name[name]]
    if table != SUMMARY_TABLE:
        by_name[_EXEMPLAR_TIMES] = [[seconds(ns) for ns in times] if times else times
                                    for times in by_name[_EXEMPLAR_TIMES]]
    return json_payload(names or TABLE_COLUMNS[table], by_name)
