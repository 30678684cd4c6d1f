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
from typing import Any

import orjson

from agentmortem.analyzer.api.queries.scope import Scope, Where
from agentmortem.analyzer.engine.find import find_runs
from agentmortem.analyzer.engine.tables import AGENT_RUNS
from agentmortem.platform.store import Store
from agentmortem.platform.tables import select_list

RUNS = AGENT_RUNS.final
# AgentMetrics' run status from our outcome: timeouts, failures, everything else completed.
STATUS_SQL = "multiIf(FailureClass = 'timeout', 'timeout', Outcome = 'failed', 'failed', 'completed')"

_r = AGENT_RUNS.c
# API field -> SQL over `agent_runs` (AgentMetrics' names first, then ours).
RUN_FIELDS: dict[str, str] = {
    "run_id": _r.RunId, "agent_id": _r.AgentName, "session_id": _r.SessionId, "status": STATUS_SQL,
    "started_ns": f"toUnixTimestamp64Nano({_r.Start})", "finished_ns": f"toUnixTimestamp64Nano({_r.End})",
    "duration_ms": _r.DurationMs, "tokens_input": _r.InputTokens, "tokens_output": _r.OutputTokens,
    "estimated_cost_usd": _r.CostUsd, "model": f"{_r.Models}[1]", "error_type": _r.ErrorType,
    "error_message": _r.ErrorMessage,
    "trace_id": _r.TraceId, "parent_run_id": _r.ParentRunId, "outcome": _r.Outcome, "failure_class": _r.FailureClass,
    "root_cause_span_id": _r.RootCauseSpanId, "wasted_cost_usd": _r.WastedCostUsd,
    "hallucination_score": _r.HallucinationScore, "headline": _r.Headline,
    "service": _r.ServiceName, "environment": _r.Environment, "kind": _r.Kind, "root_span_id": _r.RootSpanId,
    "step_count": _r.Steps, "llm_call_count": _r.LlmCalls, "tool_call_count": _r.ToolCalls,
    "error_span_count": _r.ErrorSpans, "sub_run_count": _r.SubRuns, "tokens_total": _r.TotalTokens,
    "wasted_tokens": _r.WastedTokens, "wasted_share": _r.WastedShare, "models": _r.Models,
    "signal_types": _r.SignalTypes, "tenant": _r.Tenant,
}
RUN_COLUMNS = select_list(RUN_FIELDS)


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


def get_run(store: Store, scope: Scope, ident: str) -> dict | None:
    """The run named by a run id, a trace id (its root run) or an AgentMetrics run id of the caller's
    tenant (None when absent or another tenant's).

    A scope that sees every tenant (auth off, no key) may find runs of several tenants under one
    id: the caller's own tenant's ("" without a key) come first."""
    rows = find_runs(store, ident, RUN_COLUMNS, tenant=scope.tenant, id_tenants=(scope.own_tenant,),
                     best_for=scope.own_tenant, limit=1)
    return rows[0] if rows else None
