"""Helpers several routers share: finding a run in scope (or 404), loading its tree and the figures metrics add to it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException

from agentmortem.analyzer.api.deps import ApiContext
from agentmortem.analyzer.api.queries.details import load_trace_runs
from agentmortem.analyzer.api.queries.measurements import span_measurements
from agentmortem.analyzer.api.queries.runs import get_run
from agentmortem.analyzer.api.queries.scope import Scope
from agentmortem.analyzer.api.tree import Node, run_nodes


def run_or_404(ctx: ApiContext, scope: Scope, ident: str) -> dict:
    """The run a path names (run id, trace id or AgentMetrics run id) within the caller's scope."""
    row = get_run(ctx.store, scope, ident)
    if row is None:
        raise HTTPException(404, f"run {ident} not found")
    return row


@dataclass(frozen=True)
class LoadedTree:
    nodes: list[Node]  # the run's spans (and its sub-runs'), in tree order
    limit_reached: bool  # `api_max_spans` spans of the trace were loaded: it may have more


def run_tree(ctx: ApiContext, scope: Scope, run: dict, light: bool = False) -> LoadedTree:
    """The run's tree as loaded, from its own tenant's spans alone; `light`: without message/tool contents."""
    runs = load_trace_runs(ctx.store, scope.of(run["tenant"]), run["trace_id"], ctx.api.api_max_spans, light)
    loaded = sum(len(r.spans) for r in runs)
    return LoadedTree(run_nodes(runs, run["run_id"]), loaded >= ctx.api.api_max_spans)


def tree_measurements(ctx: ApiContext, scope: Scope, run: dict, nodes: list[Node]) -> dict[str, dict[str, float]]:
    """Per-span figures the metrics' exemplars add to the run's spans (`queries.measurements`)."""
    if not nodes:
        return {}
    start = min(n.span.start_ns for n in nodes)
    end = max(n.end_ns for n in nodes)
    return span_measurements(ctx.store, scope.of(run["tenant"]), run["trace_id"], start, end)


def run_tree_nodes(ctx: ApiContext, scope: Scope, run: dict, light: bool = False) -> list[Node]:
    """The run's spans (and its sub-runs') in tree order, from its own tenant's spans alone;
    `light`: without message/tool contents."""
    return run_tree(ctx, scope, run, light).nodes
