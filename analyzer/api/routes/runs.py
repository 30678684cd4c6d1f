"""`/v1/runs`: list (filters, sort, pages, cursor, CSV/NDJSON export), one run, its events, tree, explanation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import PlainTextResponse, Response

from agentmortem.analyzer.api import export, present, schemas
from agentmortem.analyzer.api.deps import ContextDep, PageDep, ScopeDep
from agentmortem.analyzer.api.queries.details import SignalFilter, get_explanation, list_signals
from agentmortem.analyzer.api.queries.runs import SORT_VALUES, BadCursor, RunFilter, count_runs, list_runs
from agentmortem.analyzer.api.routes.common import run_or_404, run_tree, run_tree_nodes, tree_measurements
from agentmortem.analyzer.api.tree import cap, critical_path, subtree

router = APIRouter(prefix="/v1/runs", tags=["runs"])
Sort = Literal[SORT_VALUES]  # type: ignore[valid-type]


def run_filter(
    agent_id: str | None = None,
    status: Literal["running", "completed", "failed", "timeout"] | None = None,
    outcome: Literal["failed", "degraded", "ok"] | None = None,
    failure_class: str | None = None,
    model: str | None = None,
    service: str | None = None,
    environment: str | None = None,
    trace_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_cost: Annotated[float | None, Query(ge=0)] = None,
    search: Annotated[str | None, Query(max_length=200, description="matches names, headlines and ids")] = None,
    top_level: Annotated[bool, Query(description="only runs that are not sub-runs")] = False,
) -> RunFilter:
    return RunFilter(agent_id, status, outcome, failure_class, model, service, environment, trace_id, since, until,
                     min_cost, search, top_level)


FilterDep = Annotated[RunFilter, Depends(run_filter)]
EXPORT_CONTENT = {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}


@router.get("", response_model=schemas.RunPage, responses={200: {"content": EXPORT_CONTENT}})
def runs(
    ctx: ContextDep, scope: ScopeDep, f: FilterDep, page: PageDep,
    sort: Sort = "-started_at",  # type: ignore[valid-type]
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    format: Literal["json", "csv", "ndjson"] = "json",
) -> schemas.RunPage | Response:
    """Runs, newest first by default; `?format=csv|ndjson` exports every match (up to the export limit)."""
    if format != "json":
        rows, _ = list_runs(ctx.store, scope, f, limit=ctx.api.export_max_rows, sort=sort)
        return export.response([present.run_dict(r) for r in rows], format)
    try:
        rows, next_cursor = list_runs(ctx.store, scope, f, limit=page.limit, offset=page.offset, sort=sort,
                                      cursor=cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from exc
    total = count_runs(ctx.store, scope, f)
    return schemas.RunPage(data=[present.run_out(r) for r in rows], total=total, limit=page.limit,
                           offset=page.offset, has_more=next_cursor is not None, next_cursor=next_cursor)


@router.get("/{run_id}", response_model=schemas.Run)
def run(ctx: ContextDep, scope: ScopeDep, run_id: str) -> schemas.Run:
    """One run by run id, or a trace's root run by trace id (AgentMetrics run ids work too)."""
    return present.run_out(run_or_404(ctx, scope, run_id))


@router.get("/{run_id}/events", response_model=list[schemas.Event])
def events(ctx: ContextDep, scope: ScopeDep, run_id: str) -> list[schemas.Event]:
    """The run's steps (its spans and its sub-runs'), in tree order, with canonical fields."""
    row = run_or_404(ctx, scope, run_id)
    return [present.event_out(n) for n in run_tree_nodes(ctx, scope, row)]


@router.get("/{run_id}/tree", response_model=schemas.RunTree)
def tree(
    ctx: ContextDep, scope: ScopeDep, run_id: str,
    span_id: Annotated[str | None, Query(max_length=64, description="start the tree at this span of the run")] = None,
    max_depth: Annotated[int | None, Query(ge=1, description="levels to nest (at most the server's cap)")] = None,
) -> schemas.RunTree:
    """The run's span tree with the critical path, the root cause and signal spans marked.

    Nested at most `AGENTMORTEM_API_TREE_MAX_DEPTH` levels deep: deeper spans are counted on
    their last shown ancestor (`hidden_descendants`) and in `hidden_span_count`; `?span_id=`
    returns the tree from that span down."""
    row = run_or_404(ctx, scope, run_id)
    loaded = run_tree(ctx, scope, row, light=True)
    part = loaded.nodes if span_id is None else subtree(loaded.nodes, span_id)
    if part is None:
        raise HTTPException(404, f"span {span_id} is not in run {row['run_id']}")
    depth = min(max_depth or ctx.api.api_tree_max_depth, ctx.api.api_tree_max_depth)
    signals, _ = list_signals(ctx.store, scope.of(row["tenant"]), SignalFilter(run_id=row["run_id"]), limit=10_000)
    return present.tree_out(row, part, cap(part, depth, ctx.api.api_max_spans), critical_path(loaded.nodes), signals,
                            loaded.limit_reached, tree_measurements(ctx, scope, row, part))


@router.get("/{run_id}/explanation", response_model=schemas.Explanation,
            responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}})
def explanation(
    ctx: ContextDep, scope: ScopeDep, run_id: str, format: Literal["json", "markdown"] = "json",
) -> schemas.Explanation | Response:
    """The post-mortem: JSON (with `failure_class` and `root_cause_span_id`) or `?format=markdown`."""
    row = run_or_404(ctx, scope, run_id)
    stored = get_explanation(ctx.store, scope.of(row["tenant"]), row["run_id"])
    if stored is None:
        raise HTTPException(404, f"run {run_id} has no explanation yet")
    if format == "markdown":
        return PlainTextResponse(stored["markdown"], media_type="text/markdown")
    return present.explanation_out(row, stored)
