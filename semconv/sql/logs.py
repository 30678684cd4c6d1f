"""GenAI log events as span events: the rows the mapping reads, with their spans' log records folded in.

Instrumentations may write a span's GenAI content as log records (GenAI events) instead of span
attributes or span events. A record with a trace id, a span id and an event name (its `EventName`
column, else its `event.name` attribute) becomes one more event of that span, after the span's own:
named so, its attributes the record's attributes and, under `keys.LOG_BODY`, its body. The table's
event sources (`EventAttr`, `EventItems`, `EventJson`) then read it as they read any event. Records
come in time order; a record delivered twice counts once. A record whose span is not among the rows
read (it never arrived, or lies beyond a trace's span bound) is left out: its content belongs to a
call the analysis cannot see, and put on another span it would speak for that span.

The records read are those passing a caller's condition (the traces being loaded: `TraceId` first,
for the logs table's bloom filter index), grouped per span, and joined to the span rows in one query.
"""

from __future__ import annotations

from agentmortem.semconv import keys as k
from agentmortem.semconv.sql.row import RAW_TENANT, READ
from agentmortem.semconv.sql.text import check_name, lit

_EVENTS = (k.EVENT_NAMES, k.EVENT_ATTRIBUTES)
# The event name of a log record, over the logs table's own columns.
LOG_EVENT_NAME = (f"if(`{k.LOG_EVENT_NAME}` != '', `{k.LOG_EVENT_NAME}`, "
                  f"`{k.LOG_ATTRIBUTES}`[{lit(k.LOG_EVENT_NAME_ATTRIBUTE)}])")


def log_events(logs: str, where: str) -> str:
    """Per (tenant, trace id, span id): the names and attributes of the span's log events in `logs` (rows
    passing trusted SQL `where`), each record once, in time order (ties broken by content)."""
    check_name(logs)
    attrs = f"mapUpdate(CAST(`{k.LOG_ATTRIBUTES}`, 'Map(String, String)'), map({lit(k.LOG_BODY)}, `{k.LOG_BODY_COLUMN}`))"
    records = (f"SELECT DISTINCT {RAW_TENANT} AS _tenant, TraceId, SpanId, Timestamp, {LOG_EVENT_NAME} AS _name, "
               f"{attrs} AS _attrs FROM {logs} WHERE ({where}) AND TraceId != '' AND SpanId != '' AND _name != ''")
    ordered = "arraySort(e -> (e.1, e.2, mapKeys(e.3), mapValues(e.3)), groupArray((Timestamp, _name, _attrs)))"
    return (f"SELECT _tenant, TraceId, SpanId, arrayMap(e -> e.2, _e) AS _names, arrayMap(e -> e.3, _e) AS _attrs "
            f"FROM (SELECT _tenant, TraceId, SpanId, {ordered} AS _e FROM ({records}) GROUP BY _tenant, TraceId, SpanId)")


def rows_with_log_events(source: str, where: str, logs: str, logs_where: str) -> str:
    """A SELECT of the raw columns the mapping reads (`row.READ`) of the rows of `source` passing `where`,
    each span's events followed by its log events (`log_events(logs, logs_where)`). Both conditions are
    trusted SQL over the raw columns, as for `canonical_select`."""
    check_name(source)
    plain = ", ".join(f"s.`{c}` AS `{c}`" for c in k.COLUMNS_READ if c not in _EVENTS)
    names = f"arrayConcat(CAST(s.`{k.EVENT_NAMES}`, 'Array(String)'), l._names) AS `{k.EVENT_NAMES}`"
    attrs = (f"arrayConcat(CAST(s.`{k.EVENT_ATTRIBUTES}`, 'Array(Map(String, String))'), l._attrs) "
             f"AS `{k.EVENT_ATTRIBUTES}`")
    filtered = f" WHERE {where}" if where.strip() else ""
    return (f"SELECT {plain}, {names}, {attrs} FROM (SELECT {READ}, {RAW_TENANT} AS _tenant FROM {source}{filtered}) AS s "
            f"LEFT JOIN ({log_events(logs, logs_where)}) AS l "
            "ON s._tenant = l._tenant AND s.TraceId = l.TraceId AND s.SpanId = l.SpanId")
