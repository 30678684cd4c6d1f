"""Helpers several routers share: finding a run in scope (or 404) and loading its tree."""

from __future__ import annotations

from fastapi import HTTPException

from analyzer.api.deps import ApiContext
from analyzer.api.queries.details import load_trace_runs
from analyzer.api.queries.runs import get_run
from analyzer.api.queries.scope import Scope
from analyzer.api.tree import Node, run_nodes


def run_or_404(ctx: ApiContext, scope: Scope, ident: str) -> dict:
    """The run a path names (run id, trace id or AgentMetrics run id) within the caller's scope."""
    row = get_run(ctx.store, scope, ident)
    if row is None:
        raise HTTPException(404, f"run {ident} not found")
    return row


def run_tree_nodes(ctx: ApiContext, scope: Scope, run: dict, light: bool = False) -> list[Node]:
    """The run's spans (and its sub-runs') in tree order, from its own tenant's spans alone;
    `light`: without message/tool contents."""
    runs = load_trace_runs(ctx.store, scope.of(run["tenant"]), run["trace_id"], ctx.api.api_max_spans, light)
    return run_nodes(runs, run["run_id"])
