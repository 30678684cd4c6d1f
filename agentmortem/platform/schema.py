"""The `otel_traces` contract: the columns we write and how we check a table we did not create.

Column names and accepted types follow the OTel Collector contrib clickhouseexporter;
older exporter releases wrote `Duration Int64`, which we accept too.
"""

from __future__ import annotations

from agentmortem.platform.store import Store, StoreError

TRACES_TABLE = "otel_traces"
LOGS_TABLE = "otel_logs"  # log records (collector migration 0004); GenAI events in it are read as span events

# Insert order; nested columns use their flattened names.
INSERT_COLUMNS: tuple[str, ...] = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
)

_ATTRS = "Map(LowCardinality(String), String)"
ACCEPTED_TYPES: dict[str, frozenset[str]] = {
    "Timestamp": frozenset({"DateTime64(9)"}),
    "TraceId": frozenset({"String"}),
    "SpanId": frozenset({"String"}),
    "ParentSpanId": frozenset({"String"}),
    "TraceState": frozenset({"String"}),
    "SpanName": frozenset({"LowCardinality(String)"}),
    "SpanKind": frozenset({"LowCardinality(String)"}),
    "ServiceName": frozenset({"LowCardinality(String)"}),
    "ResourceAttributes": frozenset({_ATTRS}),
    "ScopeName": frozenset({"String"}),
    "ScopeVersion": frozenset({"String"}),
    "SpanAttributes": frozenset({_ATTRS}),
    "Duration": frozenset({"UInt64", "Int64"}),
    "StatusCode": frozenset({"LowCardinality(String)"}),
    "StatusMessage": frozenset({"String"}),
    "Events.Timestamp": frozenset({"Array(DateTime64(9))"}),
    "Events.Name": frozenset({"Array(LowCardinality(String))"}),
    "Events.Attributes": frozenset({f"Array({_ATTRS})"}),
    "Links.TraceId": frozenset({"Array(String)"}),
    "Links.SpanId": frozenset({"Array(String)"}),
    "Links.TraceState": frozenset({"Array(String)"}),
    "Links.Attributes": frozenset({f"Array({_ATTRS})"}),
}

# Enum spellings as the exporter writes them (pdata's String() forms).
SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")


class SchemaMismatch(StoreError):
    """An existing `otel_traces` lacks a column we write, or has an incompatible type."""


def verify_otel_traces(store: Store, table: str = TRACES_TABLE) -> None:
    """Raise `SchemaMismatch` naming every problem when `table` cannot take our inserts."""
    rows = store.query(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}",
        {"t": table},
    )
    types = dict(rows)
    problems = []
    for column, accepted in ACCEPTED_TYPES.items():
        actual = types.get(column)
        if actual is None:
            problems.append(f"missing column {column}")
        elif actual not in accepted:
            problems.append(f"{column} is {actual}, expected {' or '.join(sorted(accepted))}")
    if problems:
        raise SchemaMismatch(f"table {table} cannot be used: " + "; ".join(problems))
