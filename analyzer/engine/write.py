"""Writing analysis results: `agent_runs`, `agent_signals`, `agent_explanations`.

Rows carry a `Version` (nanoseconds at analysis) in ReplacingMergeTree tables, so a
re-analysis replaces the previous one. Rows of the previous analysis that the new one
does not produce (a run that merged into another once its root arrived, fewer signals)
get tombstones (`Deleted = 1`), so `FINAL` readers see exactly the latest analysis.
Every row carries its trace's tenant, part of each table's key: one tenant's analysis of
a trace id never replaces (or tombstones) another's. One column-oriented insert per table
per batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from agentmortem.analyzer.core.analysis import Analyzed
from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.engine.load import keys_parameters, keys_where
from agentmortem.platform.store import Store

RUNS_TABLE = "agent_runs"
SIGNALS_TABLE = "agent_signals"
EXPLANATIONS_TABLE = "agent_explanations"
# The columns that identify a row (ORDER BY, plus the partition source) of each table.
KEYS: dict[str, tuple[str, ...]] = {
    RUNS_TABLE: ("RunId", "TraceId", "Tenant", "Start"),
    SIGNALS_TABLE: ("RunId", "Seq", "TraceId", "Tenant"),
    EXPLANATIONS_TABLE: ("RunId", "TraceId", "Tenant"),
}
_RESULTS_OF = keys_where("Tenant")  # the rows of some traces in a result table


# = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str), without building an
# encoder per call (one per run and one per signal).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def _json(value: Any) -> str:
    return _ENCODER.encode(value)


_conversation_id, _category, _status_code = (attrgetter(f) for f in ("conversation_id", "category", "status_code"))


def run_row(a: Analyzed, version: int, analyzed_at_ms: int) -> dict[str, Any]:
    """The `agent_runs` row of one analyzed run."""
    run, verdict, facts = a.run, a.verdict, a.explanation.structured.get("run", {})
    view = a.view
    leaves = view.llm_leaves
    root = view.root
    rc = verdict.root_cause
    culprit = view.by_id.get(rc.span_id) if rc else None
    err = next((rs.span for rs in (culprit, root) if rs is not None and rs.span.error_type), None)
    ci = verdict.cost_impact
    # From the explanation's facts when present (the view's fallbacks are not evaluated then).
    duration_ms = float(facts["duration_ms"] if "duration_ms" in facts else view.duration_ms)
    models = sorted({rs.span.response_model or rs.span.request_model for rs in leaves} - {""})
    # Per-span counts and the first session id, read in C over the spans (a run row per run).
    spans = [rs.span for rs in ((root,) if root else ()) + run.spans]
    steps = spans[1:] if root else spans
    return {
        "RunId": run.run_id, "TraceId": run.trace_id, "ParentRunId": run.parent_run_id,
        "RootSpanId": run.root_span_id,
        "Kind": "incomplete" if root is None else ("agent" if root.span.category == "agent" else "trace"),
        "Tenant": run.tenant, "ServiceName": run.service_name, "AgentName": run.agent_name,
        "Environment": run.environment,
        "SessionId": next(filter(None, map(_conversation_id, spans)), ""),
        "Start": run.start_ns,
        "End": run.end_ns if run.ended else run.start_ns + int(duration_ms * 1e6),
        "DurationMs": duration_ms, "Status": "ended" if run.ended else "abandoned",
        "Outcome": verdict.outcome, "FailureClass": verdict.failure_class,
        "RootCauseSpanId": rc.span_id if rc else "", "Steps": len(run.spans), "LlmCalls": len(leaves),
        "ToolCalls": list(map(_category, steps)).count("tool"),
        "ErrorSpans": list(map(_status_code, steps)).count("Error"),
        "SubRuns": len(run.sub_run_ids),
        "InputTokens": sum(rs.span.input_tokens or 0 for rs in leaves),
        "OutputTokens": sum(rs.span.output_tokens or 0 for rs in leaves),
        "TotalTokens": int(facts["tokens"] if "tokens" in facts else view.total_tokens), "CostUsd": facts.get("cost_usd"),
        "WastedTokens": ci.wasted_tokens if ci else 0, "WastedCostUsd": ci.wasted_cost_usd if ci else None,
        "WastedShare": (ci.share_cost if ci.share_cost is not None else ci.share_tokens) if ci else None,
        "HallucinationScore": verdict.hallucination_score, "Headline": a.explanation.headline,
        "Models": models, "SignalTypes": sorted({s.type for s in verdict.signals}),
        "ErrorType": err.error_type if err else "", "ErrorMessage": err.error_message if err else "",
        "AnalyzedAt": analyzed_at_ms * 1_000_000, "Version": version,
    }


def signal_rows(a: Analyzed, version: int) -> list[dict[str, Any]]:
    """The `agent_signals` rows of one analyzed run, in verdict order."""
    rc = a.verdict.root_cause
    return [
        {"RunId": a.run.run_id, "Seq": i, "TraceId": a.run.trace_id, "SpanId": s.span_id, "Tenant": a.run.tenant,
         "AgentName": a.run.agent_name, "Start": a.run.start_ns, "Type": s.type, "Severity": s.severity,
         "Decisive": int(s.decisive), "IsRootCause": int(s is rc), "Evidence": _json(s.evidence),
         "Version": version}
        for i, s in enumerate(a.verdict.signals)
    ]


def explanation_row(a: Analyzed, version: int) -> dict[str, Any]:
    """The `agent_explanations` row of one analyzed run."""
    e = a.explanation
    return {"RunId": a.run.run_id, "TraceId": a.run.trace_id, "Tenant": a.run.tenant, "Headline": e.headline,
            "Markdown": e.markdown, "Structured": _json(e.structured), "Version": version}


def _existing_keys(store: Store, table: str, traces: Sequence[TraceKey]) -> list[dict[str, Any]]:
    cols = ", ".join(
        "toUnixTimestamp64Nano(Start) AS Start" if c == "Start" else c for c in KEYS[table]
    )
    return store.query_dicts(f"SELECT {cols} FROM {table} FINAL WHERE {_RESULTS_OF}", keys_parameters(traces))


def _tombstones(store: Store, table: str, rows: list[dict], traces: Sequence[TraceKey], version: int) -> list[dict]:
    keys = KEYS[table]
    fresh = {tuple(r[k] for k in keys) for r in rows}
    return [
        {**old, "Version": version, "Deleted": 1}
        for old in _existing_keys(store, table, traces)
        if tuple(old[k] for k in keys) not in fresh
    ]


def _insert(store: Store, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    for group in _by_columns(rows):
        names = list(group[0])
        store.insert_columns(table, [[r[n] for r in group] for n in names], names)


def _by_columns(rows: list[dict]) -> list[list[dict]]:
    groups: dict[tuple[str, ...], list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r), []).append(r)
    return list(groups.values())


Tables = dict[str, list[dict[str, Any]]]  # rows per result table


def result_rows(analyzed: Sequence[Analyzed], version: int) -> Tables:
    """The rows of every result table for these analyzed runs (built where the analysis ran)."""
    now_ms = time.time_ns() // 1_000_000
    return {
        RUNS_TABLE: [run_row(a, version, now_ms) for a in analyzed],
        SIGNALS_TABLE: [row for a in analyzed for row in signal_rows(a, version)],
        EXPLANATIONS_TABLE: [explanation_row(a, version) for a in analyzed],
    }


def replace_results(store: Store, tables: Tables, traces: Sequence[TraceKey], version: int) -> None:
    """Replace the stored analysis of `traces` with `tables` (rows of runs of those traces)."""
    if not traces:
        return
    # Children before parents would not matter to FINAL readers; explanations last so that
    # an explanation never exists without its run row.
    for table in (SIGNALS_TABLE, RUNS_TABLE, EXPLANATIONS_TABLE):
        rows = tables[table]
        _insert(store, table, rows + _tombstones(store, table, rows, traces, version))

