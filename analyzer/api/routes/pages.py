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

from agentmortem.analyzer.api import present, waterfall
from agentmortem.analyzer.api.deps import ContextDep, PageDep, ScopeDep
from agentmortem.analyzer.api.queries.details import SignalFilter, get_explanation, list_signals
from agentmortem.analyzer.api.queries.runs import RunFilter, count_runs, list_runs
from agentmortem.analyzer.api.routes.common import run_or_404, run_tree, tree_measurements
from agentmortem.analyzer.api.tree import cap

router = APIRouter(tags=["pages"], include_in_schema=False)
MAX_ROWS, MAX_DEPTH = 20_000, 100_000  # the most a run page's ?max_rows= / ?max_depth= may ask for
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


def _brief(evidence: dict) -> dict:
    """A signal's evidence for reading: long lists (the span ids of a loop thousands of steps long)
    keep their first `_MAX_LISTED` items and say how many more there are; the JSON API has them all."""
    return {k: v[:_MAX_LISTED] + [f"… {len(v) - _MAX_LISTED:,} more"] if isinstance(v, list) and len(v) > _MAX_LISTED
            else v for k, v in evidence.items()}


_TICKS = re.compile(r"`([^`]+)`")
_MAX_LISTED = 20
templates.env.filters["code"] = _code
templates.env.filters["brief"] = _brief
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
             max_rows: Annotated[int | None, Query(ge=1, le=MAX_ROWS)] = None,
             max_depth: Annotated[int | None, Query(ge=1, le=MAX_DEPTH)] = None) -> HTMLResponse:
    """A run's post-mortem: headline, What/Why/Where/Cost, waterfall, signals, token and cost breakdown.

    The waterfall draws the top `max_depth` levels (`AGENTMORTEM_API_TREE_MAX_DEPTH`) and at most
    `max_rows` rows (`AGENTMORTEM_API_PAGE_MAX_ROWS`), always with the root-cause span, and says what it left out."""
    row = run_or_404(ctx, scope, run_id)
    own = scope.of(row["tenant"])
    stored = get_explanation(ctx.store, own, row["run_id"])
    if stored is None:
        raise HTTPException(404, f"run {run_id} has no explanation yet")
    explanation = present.explanation_out(row, stored)
    signals, _ = list_signals(ctx.store, own, SignalFilter(run_id=row["run_id"]), limit=10_000)
    loaded = run_tree(ctx, scope, row, light=True)
    nodes = loaded.nodes
    shown = cap(nodes, max_depth or ctx.api.api_tree_max_depth, max_rows or ctx.api.api_page_max_rows,
                keep=frozenset({row["root_cause_span_id"]}))
    rows, height = waterfall.rows(nodes, shown, row["root_cause_span_id"], signals,
                                  tree_measurements(ctx, scope, row, nodes))
    return templates.TemplateResponse(request, "run.html", {
        "run": present.run_dict(row), "x": explanation, "signals": signals, "rows": rows, "height": height,
        "hidden": shown.hidden, "shown": shown, "total": len(nodes), "limit_reached": loaded.limit_reached,
        "max_spans": ctx.api.api_max_spans, "usage": waterfall.usage_by_model(nodes),
        "deeper_qs": urlencode({**request.query_params, "max_depth": min(shown.max_depth + shown.hidden_levels, MAX_DEPTH)}),
        "more_qs": urlencode({**request.query_params, "max_rows": min(len(nodes), MAX_ROWS)}),
        "label_width": waterfall.LABEL_WIDTH, "row_height": waterfall.ROW_HEIGHT,
        "grafana": waterfall.grafana_trace_url(ctx.api.grafana_url, row["trace_id"]),
        "key_qs": urlencode(_key_params(request)),
    })
