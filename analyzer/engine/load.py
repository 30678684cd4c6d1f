"""Reading what the analysis needs: canonical spans of given traces, and agent baselines.

The canonical mapping runs inside ClickHouse (`semconv.sql.canonical_select`), so
Python receives typed columns ready to become `CanonicalSpan`s. They travel as one
`JSONCompactColumns` document (`spans_payload`), decoded by orjson (`spans_from_payload`):
as fast as the driver's own decoding, and the bytes can be handed to an analysis worker
process as they are, so the decoding happens there instead of in the querying process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import orjson

from agentmortem.analyzer.core.model import Baseline, BaselineKey, TraceKey
from agentmortem.analyzer.engine.tables import AGENT_BASELINES
from agentmortem.platform.schema import LOGS_TABLE, TRACES_TABLE
from agentmortem.platform.store import Store
from agentmortem.semconv.model import CANONICAL_COLUMNS, CanonicalSpan
from agentmortem.semconv.sql import RAW_TENANT, canonical_select, span_attributes_key

# The canonical columns the analysis reads: all but these few. Its SELECT gives the others as their
# defaults (typed constants), so ClickHouse never maps them.
ANALYSIS_COLUMNS = tuple(c for c in CANONICAL_COLUMNS
                         if c not in {"convention", "operation", "agent_id", "user_id", "reasoning_tokens"})
_new_span = tuple.__new__  # a CanonicalSpan straight from a tuple of its values, in one step
_COLUMN_INDEX = {name: i for i, name in enumerate(CANONICAL_COLUMNS)}
_FINISH = _COLUMN_INDEX["finish_reasons"]  # an array, so a list in the payload: a tuple in the span


def key_column(name: str) -> str:
    """The column that holds a by-key field's key (`analysis_select(…, by_key=…)`)."""
    return f"_key_{name}"


def analysis_select(source: str, where: str, gather_by: str = "", by_key: Sequence[str] = (),
                    logs: str = "", logs_where: str = "") -> str:
    """The canonical SELECT the analysis reads: `canonical_select` of `ANALYSIS_COLUMNS`, in
    `CANONICAL_COLUMNS` order (with `logs`: the GenAI log events of `logs` rows passing `logs_where`
    read as events of their spans).

    Fields in `by_key` are not read (they come out empty); after the canonical columns, each has
    its `key_column`: `semconv.sql.span_attributes_key`, for mapping it once per distinct key."""
    keys = {key_column(name): span_attributes_key(name) for name in by_key}
    return canonical_select(source, where=where, gather_by=gather_by, extra=keys,
                            columns=[c for c in ANALYSIS_COLUMNS if c not in by_key], logs=logs, logs_where=logs_where)


def logs_where(ids: str, *keys: str) -> str:
    """Log records of some traces: trace ids in the SQL set `ids` (the logs table's bloom filter index
    skips granules), (tenant, trace id) in one of the SQL sets `keys`."""
    return f"TraceId IN {ids} AND ({' OR '.join(f'({RAW_TENANT}, TraceId) IN {k}' for k in keys)})"


def keys_where(tenant: str) -> str:
    """The rows of some traces (each a tenant and a trace id; parameters: `keys_parameters`) in a
    table whose tenant is the SQL `tenant` (a column, or `RAW_TENANT` in the raw table): trace ids
    alone first (their bloom filter index skips granules), then the pairs, so one tenant's trace
    never reads another tenant's rows."""
    return f"TraceId IN {{ids:Array(String)}} AND ({tenant}, TraceId) IN {{keys:Array(Tuple(String, String))}}"


def keys_parameters(keys: Sequence[TraceKey], bounded: Mapping[TraceKey, int] | None = None,
                    max_spans: int = 0) -> dict[str, Any]:
    """The parameters of `keys_where`, or of `traces_where` with the traces in `bounded` (their
    stored span counts) bounded to `max_spans` spans each."""
    bounded = bounded or {}
    params: dict[str, Any] = {"ids": sorted({k.trace_id for k in keys}),
                              "keys": [tuple(k) for k in keys if k not in bounded]}
    if bounded:
        params.update(big_ids=sorted({k.trace_id for k in bounded}), big_keys=[tuple(k) for k in bounded],
                      max_spans=max_spans)
    return params


def traces_where(source: str, ids: str, keys: str, big_ids: str = "", big_keys: str = "") -> str:
    """Raw rows of `source` of some traces: trace ids in the SQL set `ids`, (tenant, trace id) in `keys`;
    and, when given, of the traces in `big_keys` (trace ids `big_ids`, also in `ids`) only the first
    `{max_spans:UInt32}` spans by start time (each span id once: duplicate deliveries count once).

    The bound reads span ids and times alone to choose the spans, so a trace of any size is never
    loaded whole (`AGENTMORTEM_ANALYZER_MAX_SPANS_PER_TRACE`)."""
    if not big_keys:
        return f"TraceId IN {ids} AND ({RAW_TENANT}, TraceId) IN {keys}"
    first = (f"SELECT t, i, s FROM (SELECT {RAW_TENANT} AS t, TraceId AS i, SpanId AS s, min(Timestamp) AS ts "
             f"FROM {source} WHERE TraceId IN {big_ids} AND ({RAW_TENANT}, TraceId) IN {big_keys} GROUP BY t, i, s) "
             "ORDER BY ts, s LIMIT {max_spans:UInt32} BY t, i")
    return (f"TraceId IN {ids} AND (({RAW_TENANT}, TraceId) IN {keys} OR "
            f"({RAW_TENANT}, TraceId, SpanId) IN ({first}))")


_PARAMETER_SETS = ("{ids:Array(String)}", "{keys:Array(Tuple(String, String))}")
_BIG_PARAMETER_SETS = ("{big_ids:Array(String)}", "{big_keys:Array(Tuple(String, String))}")


@lru_cache(maxsize=8)
def _spans_sql(source: str, for_analysis: bool, bounded: bool = False, logs: str = LOGS_TABLE) -> str:
    where = traces_where(source, *_PARAMETER_SETS, *(_BIG_PARAMETER_SETS if bounded else ()))
    records = logs_where(_PARAMETER_SETS[0], _PARAMETER_SETS[1], *(_BIG_PARAMETER_SETS[1:] if bounded else ())) if logs else ""
    gather_by = "TraceId"
    if for_analysis:
        return analysis_select(source, where, gather_by, logs=logs, logs_where=records)
    return canonical_select(source, where, gather_by, logs=logs, logs_where=records)


def span_counts(store: Store, keys: Sequence[TraceKey], source: str = TRACES_TABLE) -> dict[TraceKey, int]:
    """How many distinct spans each of these traces holds (duplicate deliveries count once)."""
    if not keys:
        return {}
    rows = store.query(f"SELECT {RAW_TENANT} AS t, TraceId, uniqExact(SpanId) FROM {source} "
                       f"WHERE {keys_where(RAW_TENANT)} GROUP BY t, TraceId", keys_parameters(keys))
    return {TraceKey(t, i): int(n) for t, i, n in rows}


def oversized(store: Store, keys: Sequence[TraceKey], max_spans: int, source: str = TRACES_TABLE) -> dict[TraceKey, int]:
    """The traces among `keys` with more than `max_spans` spans, and their span counts."""
    return {k: n for k, n in span_counts(store, keys, source).items() if n > max_spans}


def _reasons(value: Sequence[str] | None) -> tuple[str, ...]:
    """`finish_reasons` as the span holds them (a tuple) from the query's array (a list)."""
    return tuple(value) if value else ()


def to_span(row: Sequence) -> CanonicalSpan:
    """A `CanonicalSpan` from one row of the canonical SELECT (columns in contract order)."""
    return _new_span(CanonicalSpan, (*row[:_FINISH], _reasons(row[_FINISH]), *row[_FINISH + 1:]))


# JSON output that decodes to what the driver gives: 64-bit numbers as numbers. Text that is not
# UTF-8 goes out as it is (having the engine check every byte of every payload cost CPU on each
# round for the rare payload that needs it), and that rare payload is decoded with each bad
# sequence replaced (U+FFFD), as orjson accepts only UTF-8 (`_decode_payload`).
_PAYLOAD_SETTINGS = {"output_format_json_quote_64bit_integers": 0, "output_format_json_quote_64bit_floats": 0,
                     "output_format_json_validate_utf8": 0}
_PAYLOAD_FORMAT = "JSONCompactColumns"


def spans_payload(store: Store, keys: Sequence[TraceKey], source: str = TRACES_TABLE, for_analysis: bool = False,
                  bounded: Mapping[TraceKey, int] | None = None, max_spans: int = 0, logs: str = LOGS_TABLE) -> bytes:
    """The canonical spans of these traces, encoded (see `spans_from_payload`); of the traces in
    `bounded` (those of `keys` with more than `max_spans` spans), the first `max_spans` only. The
    GenAI log events of their spans in `logs` ("" for none) count as the spans' events."""
    if not keys:
        return b""
    wanted = set(keys)
    bounded = {k: n for k, n in (bounded or {}).items() if k in wanted}
    return query_payload(store, _spans_sql(source, for_analysis, bool(bounded), logs),
                         keys_parameters(keys, bounded, max_spans))


def query_payload(store: Store, sql: str, parameters: dict[str, Any]) -> bytes:
    """The rows of `sql` (a SELECT giving `CANONICAL_COLUMNS` in order) as a spans payload."""
    return store.query_bytes(sql, parameters, _PAYLOAD_FORMAT, _PAYLOAD_SETTINGS)


def keyed_payload(spans: bytes, values: bytes, fields: Sequence[str]) -> bytes:
    """A spans payload whose `fields` hold keys (`spans`: a `query_payload`), with `values` (the same
    format, columns field name, key, value) giving each key's value."""
    # One copy of the (large) spans: JSON allows the query output's trailing newline where it lands.
    return b"".join((b'{"fields":', orjson.dumps(list(fields)), b',"values":', values if values.strip() else
                     b"[[],[],[]]", b',"spans":', spans, b"}"))


def _decode_payload(payload: bytes) -> Any:
    """The payload's JSON; text in it that is not UTF-8 gets U+FFFD for each bad sequence."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:  # text that is not UTF-8 (only inside strings: the rest is ASCII)
        return orjson.loads(payload.decode("utf-8", "replace"))


def spans_from_payload(payload: bytes) -> list[CanonicalSpan]:
    """The spans of a `spans_payload` (one list per column, in `CANONICAL_COLUMNS` order), or of
    a `keyed_payload` (its keys replaced by their values)."""
    if not payload.strip():
        return []
    doc = _decode_payload(payload)
    if isinstance(doc, dict):
        values = {(name, key): value for name, key, value in zip(*doc["values"])}
        fields, doc = doc["fields"], doc["spans"]
        for name in fields:  # a key without a value is a staging bug: KeyError, not a wrong span
            i = _COLUMN_INDEX[name]
            doc[i] = [values[name, key] for key in doc[i]]
    doc[_FINISH] = list(map(_reasons, doc[_FINISH]))
    return [_new_span(CanonicalSpan, row) for row in zip(*doc)]


def load_spans(store: Store, keys: Sequence[TraceKey], source: str = TRACES_TABLE,
               for_analysis: bool = False, logs: str = LOGS_TABLE) -> list[CanonicalSpan]:
    """Every stored span of these traces (duplicates included; run building drops them), with the
    GenAI log events of `logs` ("" for none) as its events. `for_analysis` leaves the fields the
    analysis never reads at their defaults, for speed."""
    return spans_from_payload(spans_payload(store, keys, source, for_analysis, logs=logs))


def trace_keys(store: Store, trace_ids: Sequence[str] | None = None, source: str = TRACES_TABLE) -> list[TraceKey]:
    """The traces stored under these trace ids (default: every trace id), one per tenant that sent
    spans under it, sorted (small stores and single traces: tests, tools, `explain`)."""
    where = "TraceId != ''" + (" AND TraceId IN {ids:Array(String)}" if trace_ids is not None else "")
    rows = store.query(f"SELECT DISTINCT {RAW_TENANT}, TraceId FROM {source} WHERE {where} ORDER BY 1, 2",
                       {"ids": list(trace_ids or ())})
    return [TraceKey(tenant, trace_id) for tenant, trace_id in rows]


def load_baselines(store: Store) -> dict[BaselineKey, Baseline]:
    """The latest baseline of every agent."""
    b = AGENT_BASELINES.c
    cols = (b.Tenant, b.AgentName, b.Runs, b.DurationMsP50, b.DurationMsP95, b.DurationMsMad, b.TokensP50,
            b.TokensP95, b.CostUsdP50, b.CostUsdP95, b.CostUsdMad)
    rows = store.query(f"SELECT {', '.join(cols)} FROM {AGENT_BASELINES.final}")
    return {
        (tenant, agent): Baseline(agent, int(runs), d50, d95, dmad, t50, t95, c50, c95, cmad)
        for tenant, agent, runs, d50, d95, dmad, t50, t95, c50, c95, cmad in rows
    }
