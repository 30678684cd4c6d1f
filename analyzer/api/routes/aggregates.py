"""`/v1/agents`, `/v1/stats`, `/v1/tools`: aggregates computed in ClickHouse."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from agentmortem.analyzer.api import present, schemas
from agentmortem.analyzer.api.deps import ContextDep, ScopeDep
from agentmortem.analyzer.api.queries.aggregates import list_agents, run_stats, tool_stats
from agentmortem.analyzer.api.queries.runs import RunFilter

agents_router = APIRouter(prefix="/v1/agents", tags=["agents"])
stats_router = APIRouter(prefix="/v1/stats", tags=["stats"])
tools_router = APIRouter(prefix="/v1/tools", tags=["tools"])


@agents_router.get("", response_model=list[schemas.AgentStats])
def agents(ctx: ContextDep, scope: ScopeDep, since: datetime | None = None,
           environment: str | None = None) -> list[schemas.AgentStats]:
    """Every agent with its run counts, failure rate, latency, cost and most frequent failure class."""
    rows = list_agents(ctx.store, scope, RunFilter(since=since, environment=environment))
    return [present.agent_out(r) for r in rows]


@stats_router.get("", response_model=schemas.Stats)
def stats(ctx: ContextDep, scope: ScopeDep, agent_id: str | None = None, since: datetime | None = None,
          until: datetime | None = None, environment: str | None = None) -> schemas.Stats:
    """Totals, failure rate, cost, tokens, p50/p95/p99 latency, distributions by status / outcome / class / model."""
    f = RunFilter(agent_id=agent_id, since=since, until=until, environment=environment)
    return schemas.Stats(**run_stats(ctx.store, scope, f))


@tools_router.get("", response_model=list[schemas.ToolStats])
def tools(ctx: ContextDep, scope: ScopeDep, agent_id: str | None = None, since: datetime | None = None,
          until: datetime | None = None) -> list[schemas.ToolStats]:
    """Calls, successes, failures, error rate and latency per tool (from the tool spans)."""
    rows = tool_stats(ctx.store, scope, RunFilter(agent_id=agent_id, since=since, until=until))
    return [schemas.ToolStats(**r) for r in rows]
