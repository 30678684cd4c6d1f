"""One run's details: its post-mortem (`agent_explanations`), its signals, and its spans as a tree.

Spans are read from the raw table through the semconv canonical SELECT (tenant-filtered
like everything else) and placed with the analyzer's own run building, so steps,
depths and orphans are exactly what the post-mortem cites.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import orjson

from agentmortem.analyzer.api.queries.scope import Scope, Where
from agentmortem.analyzer.core.model import Run
from agentmortem.analyzer.core.runs import trace_runs
from agentmortem.analyzer.engine.load import to_span
from agentmortem.analyzer.engine.tables import AGENT_EXPLANATIONS, AGENT_SIGNALS
from agentmortem.platform.schema import LOGS_TABLE, TRACES_TABLE
from agentmortem.platform.store import Store
from agentmortem.platform.tables import select_list
from agentmortem.semconv.model import CANONICAL_COLUMNS
from agentmortem.semconv.sql import RAW_TENANT, canonical_select

SIGNALS = AGENT_SIGNALS.final
_s, _e = AGENT_SIGNALS.c, AGENT_EXPLANATIONS.c
# API field -> SQL over `agent_signals`.
SIGNAL_COLUMNS = select_list({
    "run_id": _s.RunId, "seq": _s.Seq, "trace_id": _s.TraceId, "span_id": _s.SpanId, "agent_id": _s.AgentName,
    "started_ns": f"toUnixTimestamp64Nano({_s.Start})", "type": _s.Type, "severity": _s.Severity,
    "decisive": f"toBool({_s.Decisive})", "is_root_cause": f"toBool({_s.IsRootCause})", "evidence": _s.Evidence,
})
_EXPLANATION_COLUMNS = ", ".join((_e.RunId, _e.TraceId, _e.Headline, _e.Markdown, _e.Structured))


def get_explanation(store: Store, scope: Scope, run_id: str) -> dict | None:
    """The stored post-mortem of a run: headline, markdown and the structured JSON (parsed).
    `scope`: the run's own tenant (`Scope.of`), as two tenants' runs may share a run id."""
    w = Where(scope).add("RunId = {run_id:String}", run_id=run_id)
    rows = store.query(
        f"SELECT {_EXPLANATION_COLUMNS} FROM {AGENT_EXPLANATIONS.final} {w.sql()} LIMIT 1",
        w.params,
    )
    if not rows:
        return None
    rid, trace_id, headline, markdown, structured = rows[0]
    return {"run_id": rid, "trace_id": trace_id, "headline": headline, "markdown": markdown,
            "structured": orjson.loads(structured) if structured else {}}


@dataclass(frozen=True)
class SignalFilter:
    type: str | None = None
    severity: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    trace_id: str | None = None
    root_cause: bool | None = None
    decisive: bool | None = None
    since: datetime | None = None
    until: datetime | None = None


def signal_where(scope: Scope, f: SignalFilter) -> Where:
    w = Where(scope)
    w.when(f.type, "Type = {type:String}", type=f.type)
    w.when(f.severity, "Severity = {severity:String}", severity=f.severity)
    w.when(f.agent_id, "AgentName = {agent_id:String}", agent_id=f.agent_id)
    w.when(f.run_id, "RunId = {run_id:String}", run_id=f.run_id)
    w.when(f.trace_id, "TraceId = {trace_id:String}", trace_id=(f.trace_id or "").lower())
    if f.root_cause is not None:
        w.add("IsRootCause = {root_cause:UInt8}", root_cause=int(f.root_cause))
    if f.decisive is not None:
        w.add("Decisive = {decisive:UInt8}", decisive=int(f.decisive))
    w.between(f.since, f.until)
    return w


def list_signals(store: Store, scope: Scope, f: SignalFilter, *, limit: int, offset: int = 0) -> tuple[list[dict], int]:
    """A page of signals (newest runs first, then verdict order) and the total."""
    w = signal_where(scope, f)
    rows = store.query_dicts(
        f"SELECT {SIGNAL_COLUMNS} FROM {SIGNALS} {w.sql()} ORDER BY Start DESC, RunId, Seq"
        " LIMIT {limit:UInt32} OFFSET {offset:UInt32}",
        {**w.params, "limit": limit, "offset": offset},
    )
    total = int(store.query(f"SELECT count() FROM {SIGNALS} {w.sql()}", w.params)[0][0])
    for r in rows:
        r["evidence"] = orjson.loads(r["evidence"]) if r["evidence"] else {}
    return rows, total


# Content fields a tree or waterfall never shows. Spans that carry whole conversations make them
# the bulk of a trace (quadratic in the number of model calls); the light load reads every other column.
HEAVY_FIELDS = frozenset({"input_messages", "output_messages", "tool_definitions", "retrieved_documents",
                          "evaluations", "tool_arguments", "tool_result", "tool_calls"})
LIGHT_COLUMNS = tuple(c for c in CANONICAL_COLUMNS if c not in HEAVY_FIELDS)


@lru_cache(maxsize=4)
def _spans_sql(tenant_filtered: bool, light: bool) -> str:
    """The trace's spans with its GenAI log records folded into them (content, errors), as the analyzer reads them."""
    where = "TraceId = {trace_id:String}" + (f" AND {RAW_TENANT} = {{scope_tenant:String}}" if tenant_filtered else "")
    sql = canonical_select(TRACES_TABLE, where=where, columns=LIGHT_COLUMNS if light else None,
                           logs=LOGS_TABLE, logs_where=where)
    return sql + "\nORDER BY start_ns, span_id LIMIT {max_spans:UInt32}"  # past the limit: the earliest (parents first)


def load_trace_runs(store: Store, scope: Scope, trace_id: str, max_spans: int, light: bool = False) -> list[Run]:
    """Every run of one trace, built from the spans this scope may see (at most `max_spans` spans);
    `light` leaves the content fields (messages, tool payloads) empty. `scope`: one tenant's
    (`Scope.of`): a scope of every tenant would build runs of several tenants' spans."""
    w = Where(scope, tenant_column=RAW_TENANT)  # same tenant rule as every query; SQL is fixed per case
    params = {**w.params, "trace_id": trace_id, "max_spans": max_spans}
    rows = store.query(_spans_sql(scope.tenant is not None, light), params)
    return trace_runs([to_span(r) for r in rows])


def trace_start_ns(store: Store, scope: Scope, trace_id: str) -> int | None:
    """When the earliest stored span of a trace (visible to this scope) started."""
    w = Where(scope, tenant_column=RAW_TENANT).add("TraceId = {trace_id:String}", trace_id=trace_id)
    rows = store.query(f"SELECT toUnixTimestamp64Nano(min(Timestamp)), count() FROM {TRACES_TABLE} {w.sql()}",
                       w.params)
    return int(rows[0][0]) if rows and rows[0][1] else None
