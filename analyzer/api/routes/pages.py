"""HTML pages, server-rendered (Jinja2, no front-end build): the run list and a run's post-mortem."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from analyzer.api import present, waterfall
from analyzer.api.deps import ContextDep, PageDep, ScopeDep
from analyzer.api.queries.details import SignalFilter, get_explanation, list_signals
from analyzer.api.queries.runs import RunFilter, count_runs, list_runs
from analyzer.api.routes.common import run_or_404, run_tree_nodes

router = APIRouter(tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))


def _money(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 0.01:
        return f"${value:.6f}"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _duration(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _code(text: str | None) -> Markup:
    """Escape text, then show the post-mortem's `span names` and `ids` as inline code."""
    return Markup(_TICKS.sub(r"<code>\1</code>", str(escape(text or ""))))


_TICKS = re.compile(r"`([^`]+)`")
templates.env.filters["code"] = _code
templates.env.filters["money"] = _money
templates.env.filters["duration"] = _duration


def page_filter(request: Request) -> RunFilter:
    """The list page's filters from its form: empty fields are no filter, bad values are ignored."""
    q = {k: v.strip() for k, v in request.query_params.items() if v.strip()}
    try:
        min_cost = float(q["min_cost"]) if "min_cost" in q else None
    except ValueError:
        min_cost = None
    return RunFilter(agent_id=q.get("agent_id"), outcome=q.get("outcome"), failure_class=q.get("failure_class"),
                     environment=q.get("environment"), service=q.get("service"), search=q.get("search"),
                     min_cost=min_cost, trace_id=q.get("trace_id"))


def _key_params(request: Request) -> dict[str, str]:
    key = request.query_params.get("api_key")
    return {"api_key": key} if key else {}


@router.get("/", response_class=HTMLResponse)
def run_list(request: Request, ctx: ContextDep, scope: ScopeDep,
             f: Annotated[RunFilter, Depends(page_filter)], page: PageDep) -> HTMLResponse:
    """Newest runs first, with filters, failure-class badges, cost, duration and headline."""
    rows, _ = list_runs(ctx.store, scope, f, limit=page.limit, offset=page.offset)
    total = count_runs(ctx.store, scope, f)
    params = {k: v for k, v in request.query_params.items() if k != "offset" and v}
    newer = urlencode({**params, "offset": max(page.offset - page.limit, 0)}) if page.offset else None
    older = urlencode({**params, "offset": page.offset + page.limit}) if page.offset + len(rows) < total else None
    return templates.TemplateResponse(request, "runs.html", {
        "runs": [present.run_dict(r) for r in rows], "total": total, "page": page, "filters": f,
        "newer": newer, "older": older, "key_qs": urlencode(_key_params(request)),
    })


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, ctx: ContextDep, scope: ScopeDep, run_id: str,
             max_rows: Annotated[int, Query(ge=1, le=20_000)] = 5000) -> HTMLResponse:
    """A run's post-mortem: headline, What/Why/Where/Cost, waterfall, signals, token and cost breakdown."""
    row = run_or_404(ctx, scope, run_id)
    own = scope.of(row["tenant"])
    stored = get_explanation(ctx.store, own, row["run_id"])
    if stored is None:
        raise HTTPException(404, f"run {run_id} has no explanation yet")
    explanation = present.explanation_out(row, stored)
    signals, _ = list_signals(ctx.store, own, SignalFilter(run_id=row["run_id"]), limit=10_000)
    nodes = run_tree_nodes(ctx, scope, row, light=True)
    shown = nodes[:max_rows]
    rows, height = waterfall.rows(shown, row["root_cause_span_id"], signals)
    return templates.TemplateResponse(request, "run.html", {
        "run": present.run_dict(row), "x": explanation, "signals": signals, "rows": rows, "height": height,
        "hidden": len(nodes) - len(shown), "usage": waterfall.usage_by_model(nodes),
        "label_width": waterfall.LABEL_WIDTH, "row_height": waterfall.ROW_HEIGHT,
        "grafana": waterfall.grafana_trace_url(ctx.settings.grafana_url, row["trace_id"]),
        "key_qs": urlencode(_key_params(request)),
    })
