"""The `otel_logs` and `otel_metrics_*` contract: the columns we write and how we check a table we did not create.

Column names, order and accepted types follow the OTel Collector contrib clickhouseexporter, newest
release first; types an older exporter release created are accepted too (e.g. logs `TraceFlags
UInt32`, metrics `TimeUnix DateTime64(9)`). A column marked optional may be missing from a user's
existing table — the contrib exporter checks the same with `DESC TABLE` (`EventName` arrived in
2025) — and is then not written: `insert_columns` says which columns a stored table takes.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from agentmortem.platform.schema import LOGS_TABLE, SchemaMismatch
from agentmortem.platform.store import Store

GAUGE_TABLE = "otel_metrics_gauge"
SUM_TABLE = "otel_metrics_sum"
HISTOGRAM_TABLE = "otel_metrics_histogram"
EXP_HISTOGRAM_TABLE = "otel_metrics_exponential_histogram"
SUMMARY_TABLE = "otel_metrics_summary"
METRIC_TABLES = (GAUGE_TABLE, SUM_TABLE, HISTOGRAM_TABLE, EXP_HISTOGRAM_TABLE, SUMMARY_TABLE)
"""In the order a `MetricBatch` holds its rows."""


@dataclass(frozen=True)
class Column:
    name: str  # nested columns by their flattened name
    types: frozenset[str]  # as system.columns spells them
    optional: bool = False


def _col(name: str, *types: str, optional: bool = False) -> Column:
    return Column(name, frozenset(types), optional)


_ATTRS = "Map(LowCardinality(String), String)"
_LC = "LowCardinality(String)"
_TIME = ("DateTime", "DateTime64(9)")  # newest exporter: DateTime; before v0.160: DateTime64(9)

LOG_COLUMNS: tuple[Column, ...] = (
    _col("Timestamp", "DateTime64(9)"),
    _col("TraceId", "String"),
    _col("SpanId", "String"),
    _col("TraceFlags", "UInt8", "UInt32"),
    _col("SeverityText", _LC, "String"),
    _col("SeverityNumber", "UInt8", "Int32"),
    _col("ServiceName", _LC),
    _col("Body", "String"),
    _col("ResourceSchemaUrl", _LC, "String"),
    _col("ResourceAttributes", _ATTRS),
    _col("ScopeSchemaUrl", _LC, "String"),
    _col("ScopeName", "String"),
    _col("ScopeVersion", _LC, "String"),
    _col("ScopeAttributes", _ATTRS),
    _col("LogAttributes", _ATTRS),
    _col("EventName", "String", _LC, optional=True),
)
"""Insert order of `otel_logs` (a `LogBatch` holds one list per column, in this order)."""

_METRIC_HEAD = (
    _col("ResourceAttributes", _ATTRS),
    _col("ResourceSchemaUrl", "String", _LC),
    _col("ScopeName", "String"),
    _col("ScopeVersion", "String", _LC),
    _col("ScopeAttributes", _ATTRS),
    _col("ScopeDroppedAttrCount", "UInt32"),
    _col("ScopeSchemaUrl", "String", _LC),
    _col("ServiceName", _LC),
    _col("MetricName", _LC, "String"),
    _col("MetricDescription", "String"),
    _col("MetricUnit", "String"),
    _col("Attributes", _ATTRS),
    _col("StartTimeUnix", *_TIME),
    _col("TimeUnix", *_TIME),
)
_EXEMPLARS = (
    _col("Exemplars.FilteredAttributes", f"Array({_ATTRS})"),
    _col("Exemplars.TimeUnix", *(f"Array({t})" for t in _TIME)),
    _col("Exemplars.Value", "Array(Float64)"),
    _col("Exemplars.SpanId", "Array(String)"),
    _col("Exemplars.TraceId", "Array(String)"),
)
_VALUE_FLAGS = (_col("Value", "Float64"), _col("Flags", "UInt32"))
_COUNT_SUM = (_col("Count", "UInt64"), _col("Sum", "Float64"))
_FLAGS_MIN_MAX_TEMPORALITY = (
    _col("Flags", "UInt32"), _col("Min", "Float64"), _col("Max", "Float64"), _col("AggregationTemporality", "Int32"),
)

METRIC_COLUMNS: dict[str, tuple[Column, ...]] = {
    GAUGE_TABLE: _METRIC_HEAD + _VALUE_FLAGS + _EXEMPLARS,
    SUM_TABLE: _METRIC_HEAD + _VALUE_FLAGS + _EXEMPLARS
    + (_col("AggregationTemporality", "Int32"), _col("IsMonotonic", "Bool", "UInt8")),
    HISTOGRAM_TABLE: _METRIC_HEAD + _COUNT_SUM
    + (_col("BucketCounts", "Array(UInt64)"), _col("ExplicitBounds", "Array(Float64)"))
    + _EXEMPLARS + _FLAGS_MIN_MAX_TEMPORALITY,
    EXP_HISTOGRAM_TABLE: _METRIC_HEAD + _COUNT_SUM
    + (
        _col("Scale", "Int32"), _col("ZeroCount", "UInt64"),
        _col("PositiveOffset", "Int32"), _col("PositiveBucketCounts", "Array(UInt64)"),
        _col("NegativeOffset", "Int32"), _col("NegativeBucketCounts", "Array(UInt64)"),
    )
    + _EXEMPLARS + _FLAGS_MIN_MAX_TEMPORALITY,
    SUMMARY_TABLE: _METRIC_HEAD + _COUNT_SUM
    + (_col("ValueAtQuantiles.Quantile", "Array(Float64)"), _col("ValueAtQuantiles.Value", "Array(Float64)"),
       _col("Flags", "UInt32")),
}
"""Insert order of each metrics table (the exporter's own insert order)."""

TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {LOGS_TABLE: LOG_COLUMNS} | METRIC_COLUMNS


def _stored_types(store: Store, table: str) -> dict[str, str]:
    rows = store.query(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}",
        {"t": table},
    )
    return dict(rows)


def verify_table(store: Store, table: str) -> tuple[str, ...]:
    """The columns of `table` we write, after checking it can take them; raises `SchemaMismatch`
    naming every problem (a missing table is a problem too)."""
    columns = TABLE_COLUMNS[table]
    types = _stored_types(store, table)
    if not types:
        raise SchemaMismatch(f"table {table} does not exist")
    problems, writable = [], []
    for column in columns:
        actual = types.get(column.name)
        if actual is None:
            if not column.optional:
                problems.append(f"missing column {column.name}")
        elif actual not in column.types:
            problems.append(f"{column.name} is {actual}, expected {' or '.join(sorted(column.types))}")
        else:
            writable.append(column.name)
    if problems:
        raise SchemaMismatch(f"table {table} cannot be used: " + "; ".join(problems))
    return tuple(writable)


def verify_signal_tables(store: Store) -> None:
    """Check `otel_logs` and the five metrics tables (raises `SchemaMismatch`); refreshes the
    columns `insert_columns` reports."""
    for table in TABLE_COLUMNS:
        _remember(store, table, verify_table(store, table))


_known: weakref.WeakKeyDictionary[Store, dict[str, tuple[str, ...]]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _remember(store: Store, table: str, columns: tuple[str, ...]) -> None:
    with _lock:
        _known.setdefault(store, {})[table] = columns


def insert_columns(store: Store, table: str) -> tuple[str, ...]:
    """The columns of `table` our inserts write, in insert order: every column we know but the
    optional ones the stored table lacks. Looked up once per store and table (`verify_signal_tables`
    looks again): a column added while running is written after the next start."""
    with _lock:
        found = _known.get(store, {}).get(table)
    if found is None:
        found = verify_table(store, table)
        _remember(store, table, found)
    return found


def logs_insert_columns(store: Store) -> tuple[str, ...]:
    """The `otel_logs` columns to write (without `EventName` in a table from before it existed)."""
    return insert_columns(store, LOGS_TABLE)
