"""`/v1/signals`: the analyzer's findings across runs, filterable."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from agentmortem.analyzer.api import present, schemas
from agentmortem.analyzer.api.deps import ContextDep, PageDep, ScopeDep
from agentmortem.analyzer.api.queries.details import SignalFilter, list_signals

router = APIRouter(prefix="/v1/signals", tags=["signals"])


@router.get("", response_model=schemas.SignalPage)
def signals(
    ctx: ContextDep, scope: ScopeDep, page: PageDep, type: str | None = None, severity: str | None = None,
    agent_id: str | None = None, run_id: str | None = None, trace_id: str | None = None,
    root_cause: bool | None = None, decisive: bool | None = None, since: datetime | None = None,
    until: datetime | None = None,
) -> schemas.SignalPage:
    """Signals, newest runs first, in each run's verdict order (`root_cause=true`: only root causes)."""
    f = SignalFilter(type, severity, agent_id, run_id, trace_id, root_cause, decisive, since, until)
    rows, total = list_signals(ctx.store, scope, f, limit=page.limit, offset=page.offset)
    return schemas.SignalPage(data=[present.signal_out(r) for r in rows], total=total, limit=page.limit,
                              offset=page.offset, has_more=page.offset + len(rows) < total)
