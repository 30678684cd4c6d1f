"""Runs from `agent_runs`: list (filters, sort, offset and cursor pages), count, look-up by run or trace id.

Rows come back as dicts keyed by the API's field names (AgentMetrics names first, then
ours). The sort key is chosen from the closed `SORTS` table; cursors carry the last
row's sort value and run id (keyset pagination, stable under inserts).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from agentmortem.analyzer.api.agentmetrics import trace_id_for
from agentmortem.analyzer.api.queries.scope import Scope, Where
from agentmortem.platform.store import Store

RUNS = "agent_runs FINAL"
# AgentMetrics' run status from our outcome: timeouts, failures, everything else completed.
STATUS_SQL = "multiIf(FailureClass = 'timeout', 'timeout', Outcome = 'failed', 'failed', 'completed')"
RunStatus = Literal["running", "completed", "failed", "timeout"]

RUN_COLUMNS = f"""
    RunId AS run_id, AgentName AS agent_id, SessionId AS session_id, {STATUS_SQL} AS status,
    toUnixTimestamp64Nano(Start) AS started_ns, toUnixTimestamp64Nano(End) AS finished_ns,
    DurationMs AS duration_ms, InputTokens AS tokens_input, OutputTokens AS tokens_output,
    CostUsd AS estimated_cost_usd, Models[1] AS model, ErrorType AS error_type, ErrorMessage AS error_message,
    TraceId AS trace_id, ParentRunId AS parent_run_id, Outcome AS outcome, FailureClass AS failure_class,
    RootCauseSpanId AS root_cause_span_id, WastedCostUsd AS wasted_cost_usd,
    HallucinationScore AS hallucination_score, Headline AS headline,
    ServiceName AS service, Environment AS environment, Kind AS kind, RootSpanId AS root_span_id,
    Steps AS step_count, LlmCalls AS llm_call_count, ToolCalls AS tool_call_count, ErrorSpans AS error_span_count,
    SubRuns AS sub_run_count, TotalTokens AS tokens_total, WastedTokens AS wasted_tokens,
    WastedShare AS wasted_share, Models AS models, SignalTypes AS signal_types, Tenant AS tenant"""


@dataclass(frozen=True)
class SortKey:
    expr: str  # SQL over agent_runs columns
    param: str  # how a cursor value is compared with it
    value: str  # the SELECT expression of the value a cursor carries


SORTS: dict[str, SortKey] = {
    "started_at": SortKey("Start", "fromUnixTimestamp64Nano({cursor_value:Int64})", "toUnixTimestamp64Nano(Start)"),
    "duration_ms": SortKey("DurationMs", "{cursor_value:Float64}", "DurationMs"),
    "estimated_cost_usd": SortKey("ifNull(CostUsd, 0)", "{cursor_value:Float64}", "ifNull(CostUsd, 0)"),
    "wasted_cost_usd": SortKey("ifNull(WastedCostUsd, 0)", "{cursor_value:Float64}", "ifNull(WastedCostUsd, 0)"),
    "tokens_total": SortKey("TotalTokens", "{cursor_value:Float64}", "toFloat64(TotalTokens)"),
    "hallucination_score": SortKey(
        "ifNull(HallucinationScore, 0)", "{cursor_value:Float64}", "ifNull(HallucinationScore, 0)"
    ),
}
SORT_VALUES = tuple(f"{sign}{name}" for name in SORTS for sign in ("-", ""))


class BadCursor(ValueError):
    """The cursor is not one this API issued for this sort."""


@dataclass(frozen=True)
class RunFilter:
    """Every filter `GET /v1/runs` and the run list page accept."""

    agent_id: str | None = None
    status: str | None = None
    outcome: str | None = None
    failure_class: str | None = None
    model: str | None = None
    service: str | None = None
    environment: str | None = None
    trace_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_cost: float | None = None
    search: str | None = None
    top_level: bool = False  # only runs that are not sub-runs


def run_where(scope: Scope, f: RunFilter) -> Where:
    """The WHERE of a filtered run query (tenant first)."""
    w = Where(scope)
    w.when(f.agent_id, "AgentName = {agent_id:String}", agent_id=f.agent_id)
    w.when(f.status, f"{STATUS_SQL} = {{status:String}}", status=f.status)
    w.when(f.outcome, "Outcome = {outcome:String}", outcome=f.outcome)
    w.when(f.failure_class, "FailureClass = {failure_class:String}", failure_class=f.failure_class)
    w.when(f.model, "has(Models, {model:String})", model=f.model)
    w.when(f.service, "ServiceName = {service:String}", service=f.service)
    w.when(f.environment, "Environment = {environment:String}", environment=f.environment)
    w.when(f.trace_id, "TraceId = {trace_id:String}", trace_id=(f.trace_id or "").lower())
    w.between(f.since, f.until)
    w.when(f.min_cost, "ifNull(CostUsd, 0) >= {min_cost:Float64}", min_cost=f.min_cost)
    if f.search:
        w.add(
            "positionCaseInsensitiveUTF8(Headline, {q:String}) > 0"
            " OR positionCaseInsensitiveUTF8(AgentName, {q:String}) > 0"
            " OR positionCaseInsensitiveUTF8(ServiceName, {q:String}) > 0"
            " OR startsWith(RunId, lower({q:String})) OR startsWith(TraceId, lower({q:String}))"
            " OR RootCauseSpanId = lower({q:String})",
            q=f.search.strip(),
        )
    if f.top_level:
        w.add("ParentRunId = ''")
    return w


# -- cursors -----------------------------------------------------------------------------------


def encode_cursor(sort: str, value: Any, run_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"s": sort, "v": value, "id": run_id})).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[float | int, str]:
    """The (sort value, run id) a cursor carries; `BadCursor` when it is not ours or not for `sort`."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, run_id = data["v"], data["id"]
        ok = data["s"] == sort and isinstance(value, int | float) and isinstance(run_id, str)
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
        raise BadCursor("cursor is not valid") from exc
    if not ok:
        raise BadCursor("cursor belongs to another sort order")
    return value, run_id


def _sort(sort: str) -> tuple[str, SortKey, bool]:
    name = sort.lstrip("-")
    if name not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    return name, SORTS[name], sort.startswith("-")


# -- queries ---------------------------------------------------------------------------------------


def list_runs(
    store: Store, scope: Scope, f: RunFilter, *, limit: int, offset: int = 0, sort: str = "-started_at",
    cursor: str | None = None,
) -> tuple[list[dict], str | None]:
    """One page of runs and the cursor of the next page (None at the end)."""
    name, key, desc = _sort(sort)
    w = run_where(scope, f)
    if cursor:
        value, run_id = decode_cursor(cursor, sort)
        op = "<" if desc else ">"
        w.add(f"{key.expr} {op} {key.param} OR ({key.expr} = {key.param} AND RunId {op} {{cursor_id:String}})",
              cursor_value=value, cursor_id=run_id)
    direction = "DESC" if desc else "ASC"
    rows = store.query_dicts(
        f"SELECT {RUN_COLUMNS}, {key.value} AS _sort FROM {RUNS} {w.sql()}"
        f" ORDER BY {key.expr} {direction}, RunId {direction}"
        " LIMIT {limit:UInt32} OFFSET {offset:UInt32}",
        {**w.params, "limit": limit + 1, "offset": offset},
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(sort, rows[-1]["_sort"], rows[-1]["run_id"]) if more and rows else None
    for row in rows:
        row.pop("_sort", None)
    return rows, next_cursor


def count_runs(store: Store, scope: Scope, f: RunFilter) -> int:
    w = run_where(scope, f)
    return int(store.query(f"SELECT count() FROM {RUNS} {w.sql()}", w.params)[0][0])


def export_runs(store: Store, scope: Scope, f: RunFilter, *, limit: int, sort: str = "-started_at") -> list[dict]:
    """Up to `limit` runs in `sort` order, for CSV and NDJSON exports."""
    rows, _ = list_runs(store, scope, f, limit=limit, sort=sort)
    return rows


def id_candidates(ident: str, tenant: str = "") -> list[str]:
    """The ids a path segment may name: a run (span) id, a trace id, or an AgentMetrics run id of
    `tenant` (also as trace ids were derived before they depended on the tenant)."""
    text = ident.strip()
    plain = text.replace("-", "").lower()
    return sorted({text, text.lower(), plain, trace_id_for(text, tenant), trace_id_for(text)})


def get_run(store: Store, scope: Scope, ident: str) -> dict | None:
    """The run named by a run id, or the root run of a trace id (None when absent or another tenant's).

    A scope that sees every tenant (auth off, no key) may find runs of several tenants under one
    id: the caller's own tenant's ("" without a key) come first."""
    ids = id_candidates(ident, scope.own_tenant)
    w = Where(scope).add("RunId IN {ids:Array(String)} OR TraceId IN {ids:Array(String)}", ids=ids)
    rows = store.query_dicts(
        f"SELECT {RUN_COLUMNS} FROM {RUNS} {w.sql()}"
        " ORDER BY Tenant = {own:String} DESC, has({ids:Array(String)}, RunId) DESC, ParentRunId = '' DESC,"
        " Start ASC, Tenant LIMIT 1",
        {**w.params, "own": scope.own_tenant},
    )
    return rows[0] if rows else None
