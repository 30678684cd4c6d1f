"""AgentMetrics ingest: `POST /v1/runs` and `POST /v1/runs/{run_id}/events`, written as spans.

The payload becomes an OTLP request (`analyzer.api.agentmetrics`) and goes through the
collector's `Ingest.export` — the same validation, group commit and durable write as
OTLP itself — so the answer (202) comes only once the spans are stored.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.analyzer.api import schemas
from agentmortem.analyzer.api.agentmetrics import (
    AgentRunIn,
    RunEventIn,
    event_request,
    run_end_request,
    run_request,
)
from agentmortem.analyzer.api.deps import ApiContext, ContextDep, ScopeDep
from agentmortem.analyzer.api.queries.details import trace_start_ns
from agentmortem.analyzer.api.queries.scope import Scope
from agentmortem.analyzer.engine.find import trace_id_for
from agentmortem.collector.ingest import Overloaded, Unavailable

router = APIRouter(prefix="/v1/runs", tags=["ingest"])


async def _write(ctx: ApiContext, scope: Scope, request: ExportTraceServiceRequest) -> int:
    if ctx.ingest is None:
        raise HTTPException(503, "ingest is not available in this process", headers={"Retry-After": "5"})
    try:
        result = await ctx.ingest.export(request, None, request.ByteSize(), scope.write_tenant, "agentmetrics")
    except Overloaded as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from exc
    except Unavailable as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": str(ctx.ingest.retry_after_seconds)}) from exc
    return result.accepted


@router.post("", status_code=202, response_model=schemas.IngestResponse)
async def ingest_run(ctx: ContextDep, scope: ScopeDep, run: AgentRunIn) -> schemas.IngestResponse:
    """Receive a completed AgentMetrics run; it is analyzed like any trace once stored."""
    spans = await _write(ctx, scope, run_request(run, scope.own_tenant))
    return schemas.IngestResponse(run_id=run.run_id, trace_id=trace_id_for(run.run_id, scope.own_tenant), spans=spans)


@router.post("/{run_id}/events", status_code=202, response_model=schemas.IngestResponse)
async def ingest_event(ctx: ContextDep, scope: ScopeDep, run_id: str, event: RunEventIn) -> schemas.IngestResponse:
    """Receive one streamed event; `run_end` closes the run (its root span) so it gets analyzed."""
    tenant = scope.own_tenant
    trace_id = trace_id_for(run_id, tenant)
    if event.type == "run_end":
        start = await asyncio.to_thread(trace_start_ns, ctx.store, scope.of(tenant), trace_id)
        request, count = run_end_request(run_id, tenant, event, start), 1
    else:
        request, count = event_request(run_id, tenant, event)
    spans = await _write(ctx, scope, request) if count else 0
    return schemas.IngestResponse(run_id=run_id, trace_id=trace_id, spans=spans)
