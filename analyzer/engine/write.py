"""Writing analysis results: `agent_runs`, `agent_signals`, `agent_explanations`.

Rows carry a `Version` (nanoseconds at analysis) in ReplacingMergeTree tables, so a
re-analysis replaces the previous one. Rows of the previous analysis that the new one
does not produce (a run that merged into another once its root arrived, fewer signals)
get tombstones (`Deleted = 1`), so `FINAL` readers see exactly the latest analysis.
Every row carries its trace's tenant, part of each table's key: one tenant's analysis of
a trace id never replaces (or tombstones) another's. One column-oriented insert per table
per batch.

`replace_results` also tells which runs entered a new verdict: written for the first time, or
with an outcome, failure class or agent that differ from their stored row (read with the
tombstones' keys, so it costs no query of its own). Re-analysis that confirms a verdict (late
spans that change nothing, a forced re-run) enters nothing: what the run metrics count.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from agentmortem.analyzer.core.analysis import Analyzed
from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.engine.load import keys_parameters, keys_where
from agentmortem.analyzer.engine.tables import AGENT_EXPLANATIONS, AGENT_RUNS, AGENT_SIGNALS, RESULT_TABLES
from agentmortem.platform.store import Store
from agentmortem.platform.tables import Table

RUNS_TABLE, SIGNALS_TABLE, EXPLANATIONS_TABLE = AGENT_RUNS.name, AGENT_SIGNALS.name, AGENT_EXPLANATIONS.name
# What a tombstone carries: the columns that identify a row (its sorting key, which holds the partition
# source), and the trace id the stored rows of a trace are found by.
KEYS: dict[str, tuple[str, ...]] = {t.name: (*t.order_by, t.c.TraceId) for t in RESULT_TABLES}
_RESULTS_OF = keys_where(AGENT_RUNS.c.Tenant)  # the rows of some traces in a result table
R, S, E = AGENT_RUNS.c, AGENT_SIGNALS.c, AGENT_EXPLANATIONS.c
# A run's verdict as the metrics see it (`RunVerdict`), and where it is read from a stored row.
VERDICT_COLUMNS = (R.AgentName, R.Outcome, R.FailureClass)


class RunVerdict(NamedTuple):
    """A run's verdict as the run metrics count it."""

    tenant: str
    agent: str
    outcome: str
    failure_class: str


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
        R.RunId: run.run_id, R.TraceId: run.trace_id, R.ParentRunId: run.parent_run_id,
        R.RootSpanId: run.root_span_id,
        R.Kind: "incomplete" if root is None else ("agent" if root.span.category == "agent" else "trace"),
        R.Tenant: run.tenant, R.ServiceName: run.service_name, R.AgentName: run.agent_name,
        R.Environment: run.environment,
        R.SessionId: next(filter(None, map(_conversation_id, spans)), ""),
        R.Start: run.start_ns,
        R.End: run.end_ns if run.ended else run.start_ns + int(duration_ms * 1e6),
        R.DurationMs: duration_ms, R.Status: "ended" if run.ended else "abandoned",
        R.Outcome: verdict.outcome, R.FailureClass: verdict.failure_class,
        R.RootCauseSpanId: rc.span_id if rc else "", R.Steps: len(run.spans), R.LlmCalls: len(leaves),
        R.ToolCalls: list(map(_category, steps)).count("tool"),
        R.ErrorSpans: list(map(_status_code, steps)).count("Error"),
        R.SubRuns: len(run.sub_run_ids),
        R.InputTokens: sum(rs.span.input_tokens or 0 for rs in leaves),
        R.OutputTokens: sum(rs.span.output_tokens or 0 for rs in leaves),
        R.TotalTokens: int(facts["tokens"] if "tokens" in facts else view.total_tokens), R.CostUsd: facts.get("cost_usd"),
        R.WastedTokens: ci.wasted_tokens if ci else 0, R.WastedCostUsd: ci.wasted_cost_usd if ci else None,
        R.WastedShare: (ci.share_cost if ci.share_cost is not None else ci.share_tokens) if ci else None,
        R.HallucinationScore: verdict.hallucination_score, R.Headline: a.explanation.headline,
        R.Models: models, R.SignalTypes: sorted({s.type for s in verdict.signals}),
        R.ErrorType: err.error_type if err else "", R.ErrorMessage: err.error_message if err else "",
        R.AnalyzedAt: analyzed_at_ms, R.Version: version,  # DateTime64(3): milliseconds
    }


def signal_rows(a: Analyzed, version: int) -> list[dict[str, Any]]:
    """The `agent_signals` rows of one analyzed run, in verdict order."""
    rc = a.verdict.root_cause
    return [
        {S.RunId: a.run.run_id, S.Seq: i, S.TraceId: a.run.trace_id, S.SpanId: s.span_id, S.Tenant: a.run.tenant,
         S.AgentName: a.run.agent_name, S.Start: a.run.start_ns, S.Type: s.type, S.Severity: s.severity,
         S.Decisive: int(s.decisive), S.IsRootCause: int(s is rc), S.Evidence: _json(s.evidence),
         S.Version: version}
        for i, s in enumerate(a.verdict.signals)
    ]


def explanation_row(a: Analyzed, version: int) -> dict[str, Any]:
    """The `agent_explanations` row of one analyzed run."""
    e = a.explanation
    return {E.RunId: a.run.run_id, E.TraceId: a.run.trace_id, E.Tenant: a.run.tenant, E.Headline: e.headline,
            E.Markdown: e.markdown, E.Structured: _json(e.structured), E.Version: version}


def _existing(store: Store, table: Table, traces: Sequence[TraceKey], extra: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The stored rows of `traces`: their keys, plus the `extra` columns."""
    # Times come back as nanoseconds, as the rows carry them.
    cols = ", ".join(f"toUnixTimestamp64Nano({c}) AS {c}" if table.type_of(c) == "DateTime64(9)" else c
                     for c in (*KEYS[table.name], *extra))
    return store.query_dicts(f"SELECT {cols} FROM {table.final} WHERE {_RESULTS_OF}", keys_parameters(traces))


def _tombstones(table: Table, rows: list[dict], existing: list[dict], version: int) -> list[dict]:
    keys = KEYS[table.name]
    fresh = {tuple(r[k] for k in keys) for r in rows}
    return [
        {**{k: old[k] for k in keys}, table.version: version, table.deleted: 1}
        for old in existing
        if tuple(old[k] for k in keys) not in fresh
    ]


def entered_verdicts(rows: list[dict], existing: list[dict]) -> Counter[RunVerdict]:
    """The verdicts of the `agent_runs` rows that differ from their stored rows (`existing`, read
    with `VERDICT_COLUMNS`), or that have none: runs counted once per verdict they reach."""
    stored = {(old[R.Tenant], old[R.RunId]): tuple(old[c] for c in VERDICT_COLUMNS) for old in existing}
    entered: Counter[RunVerdict] = Counter()
    for r in rows:
        verdict = tuple(r[c] for c in VERDICT_COLUMNS)
        if stored.get((r[R.Tenant], r[R.RunId])) != verdict:
            entered[RunVerdict(r[R.Tenant], *verdict)] += 1
    return entered


def _insert(store: Store, table: Table, rows: list[dict]) -> None:
    """Rows of one shape (fresh rows, tombstones) in one insert each; every column must be declared."""
    for group in _by_columns(rows):
        table.insert(store, {n: [r[n] for r in group] for n in group[0]})


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


def replace_results(store: Store, tables: Tables, traces: Sequence[TraceKey], version: int) -> Counter[RunVerdict]:
    """Replace the stored analysis of `traces` with `tables` (rows of runs of those traces);
    returns the verdicts runs entered (`entered_verdicts`)."""
    entered: Counter[RunVerdict] = Counter()
    if not traces:
        return entered
    # Children before parents would not matter to FINAL readers; explanations last so that
    # an explanation never exists without its run row.
    for table in (AGENT_SIGNALS, AGENT_RUNS, AGENT_EXPLANATIONS):
        rows = tables[table.name]
        existing = _existing(store, table, traces, VERDICT_COLUMNS if table is AGENT_RUNS else ())
        if table is AGENT_RUNS:
            entered = entered_verdicts(rows, existing)
        _insert(store, table, rows + _tombstones(table, rows, existing, version))
    return entered

