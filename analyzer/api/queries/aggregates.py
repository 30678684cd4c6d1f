"""Aggregates computed in ClickHouse: per-agent stats, overall stats with latency percentiles, per-tool stats.

`agent_runs` feeds agents and stats (one scan each, distributions via `sumMap`); tool
stats read the raw spans through the semconv canonical SELECT, so they count every
tool span whatever convention produced it. Empty aggregates give None, never NaN.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from agentmortem.analyzer.api.queries.runs import RUNS, STATUS_SQL, RunFilter, run_where
from agentmortem.analyzer.api.queries.scope import Scope, Where
from agentmortem.platform.schema import TRACES_TABLE
from agentmortem.platform.store import Store
from agentmortem.semconv.compile import canonical_select
from agentmortem.semconv.keys import RAW_TENANT


def finite(value: Any) -> Any:
    """None for NaN/inf (empty aggregates), the value otherwise."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _as_map(pair: tuple[list, list], drop_empty: bool = True) -> dict[str, int]:
    keys, values = pair
    return {str(key): int(v) for key, v in zip(keys, values) if key != "" or not drop_empty}


def list_agents(store: Store, scope: Scope, f: RunFilter) -> list[dict]:
    """One row per agent: AgentMetrics' fields plus failure rate, p95 latency, tokens, waste and top failure."""
    w = run_where(scope, f)
    rows = store.query_dicts(
        f"""SELECT AgentName AS agent_id, count() AS run_count,
               countIf(Outcome != 'failed') AS success_count, countIf(Outcome = 'failed') AS failure_count,
               avg(DurationMs) AS avg_duration_ms, quantile(0.95)(DurationMs) AS p95_duration_ms,
               sum(CostUsd) AS total_cost_usd, sum(WastedCostUsd) AS wasted_cost_usd,
               sum(TotalTokens) AS tokens_total, toUnixTimestamp64Nano(max(Start)) AS last_run_ns,
               countIf(Outcome = 'degraded') AS degraded_count,
               topKIf(1)(FailureClass, FailureClass != '') AS top_failure
           FROM {RUNS} {w.sql()}
           GROUP BY AgentName ORDER BY max(Start) DESC, AgentName LIMIT 10000""",
        w.params,
    )
    for r in rows:
        r["failure_rate"] = r["failure_count"] / r["run_count"] if r["run_count"] else None
        r["top_failure_class"] = r.pop("top_failure")[0] if r["top_failure"] else None
        for name in ("avg_duration_ms", "p95_duration_ms"):
            r[name] = finite(r[name])
    return rows


def run_stats(store: Store, scope: Scope, f: RunFilter) -> dict:
    """Totals, failure rate, cost, tokens, p50/p95/p99 latency and distributions, in one scan."""
    w = run_where(scope, f)
    row = store.query_dicts(
        f"""SELECT count() AS total_runs, countIf(status = 'completed') AS completed,
               countIf(status = 'failed') AS failed, countIf(status = 'timeout') AS timeout,
               countIf(Outcome = 'degraded') AS degraded,
               avg(DurationMs) AS avg_duration_ms, quantiles(0.5, 0.95, 0.99)(DurationMs) AS q,
               sum(InputTokens) AS total_tokens_input, sum(OutputTokens) AS total_tokens_output,
               sum(TotalTokens) AS total_tokens, sum(CostUsd) AS total_cost_usd,
               sum(WastedCostUsd) AS total_wasted_cost_usd, avg(HallucinationScore) AS avg_hallucination_score,
               sumMap([status], [toUInt64(1)]) AS by_status, sumMap([Outcome], [toUInt64(1)]) AS by_outcome,
               sumMap([FailureClass], [toUInt64(1)]) AS by_failure_class,
               sumMap(Models, arrayMap(m -> toUInt64(1), Models)) AS by_model
           FROM (SELECT *, {STATUS_SQL} AS status FROM {RUNS} {w.sql()})""",
        w.params,
    )[0]
    p50, p95, p99 = (finite(v) for v in row.pop("q"))
    total = row["total_runs"]
    return {
        **{key: finite(value) for key, value in row.items() if not key.startswith("by_")},
        "failure_rate": (row["failed"] + row["timeout"]) / total if total else None,
        "p50_duration_ms": p50, "p95_duration_ms": p95, "p99_duration_ms": p99,
        "by_status": _as_map(row["by_status"]), "by_outcome": _as_map(row["by_outcome"]),
        "by_failure_class": _as_map(row["by_failure_class"]), "by_model": _as_map(row["by_model"]),
    }


@lru_cache(maxsize=8)
def _canonical(where: str) -> str:
    return canonical_select(TRACES_TABLE, where=where)


def tool_stats(store: Store, scope: Scope, f: RunFilter) -> list[dict]:
    """Calls, successes, failures, error rate and latency per tool, from the raw spans."""
    raw = Where(scope, tenant_column=RAW_TENANT)
    raw.between(f.since, f.until, column="Timestamp")
    if f.agent_id:
        runs = run_where(scope, RunFilter(agent_id=f.agent_id))
        raw.add(f"({RAW_TENANT}, TraceId) IN (SELECT Tenant, TraceId FROM {RUNS} {runs.sql()})", **runs.params)
    inner = _canonical(" AND ".join(f"({c})" for c in raw.clauses) or "1")
    rows = store.query_dicts(
        f"""SELECT tool_name, count() AS call_count,
               countIf(status_code != 'Error' AND error_type = '') AS success_count,
               countIf(status_code = 'Error' OR error_type != '') AS failure_count,
               avg(duration_ns) / 1e6 AS avg_duration_ms, quantile(0.95)(duration_ns) / 1e6 AS p95_duration_ms
           FROM ({inner}) WHERE category = 'tool' AND tool_name != ''
           GROUP BY tool_name ORDER BY call_count DESC, tool_name LIMIT 10000""",
        raw.params,
    )
    for r in rows:
        r["error_rate"] = r["failure_count"] / r["call_count"] if r["call_count"] else None
        r["avg_duration_ms"], r["p95_duration_ms"] = finite(r["avg_duration_ms"]), finite(r["p95_duration_ms"])
    return rows
