"""Layout of a run page: waterfall rows (SVG geometry and marks), token/cost breakdown, Grafana link.

Everything the template draws is computed here once, in Python, as plain numbers and
class names, so the template stays a loop and a 2,000-span run renders in milliseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from agentmortem.analyzer.api.present import signal_types_by_span
from agentmortem.analyzer.api.tree import Capped, Node, critical_path

ROW_HEIGHT = 20
LABEL_WIDTH = 380  # px of the 1200-px-wide viewBox kept for span names
LABEL_PAD, CHAR_WIDTH = 22, 7.3  # px around a name (its indent, the root-cause mark) and per character
INDENT, MAX_INDENT_LEVELS = 12, 20  # px per level, levels indented
CHART_WIDTH = 800
GRAFANA_DATASOURCE_UID = "agentmortem-clickhouse"  # dashboards/provisioning/datasources/clickhouse.yaml


@dataclass(frozen=True)
class Row:
    span_id: str
    y: int
    x: float
    width: float
    indent: int
    label: str
    title: str
    classes: str
    below: int = 0  # spans under this row that are not drawn


def _duration(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


_FIGURES = {"time_to_first_chunk": "first chunk after", "time_per_output_chunk": "per chunk"}


def rows(tree: list[Node], shown: Capped, root_cause: str, signals: list[dict],
         measurements: dict[str, dict[str, float]] | None = None) -> tuple[list[Row], int]:
    """One row per shown span (tree order; times on the scale of the whole `tree`) and the SVG height;
    `measurements` (span id → figure → seconds, from metric exemplars) join the span's title."""
    nodes = shown.nodes
    if not nodes:
        return [], ROW_HEIGHT
    t0 = min(n.span.start_ns for n in tree)
    t1 = max(n.end_ns for n in tree)
    scale = CHART_WIDTH / max(t1 - t0, 1)
    on_path = set(critical_path(tree))
    flagged = signal_types_by_span(signals)
    out = []
    for i, n in enumerate(nodes):
        marks = ["span", n.span.category]
        if n.span_id == root_cause:
            marks.append("root-cause")
        if n.span_id in flagged:
            marks.append("signal")
        if n.span_id in on_path:
            marks.append("critical")
        if n.span.status_code == "Error" or n.span.error_type:
            marks.append("error")
        ms = n.span.duration_ns / 1e6
        tags = ", ".join(flagged.get(n.span_id, []))
        below = shown.hidden_below.get(n.span_id, 0)
        figures = "".join(f" · {_FIGURES.get(k, k)} {_duration(v * 1000)}"
                          for k, v in sorted((measurements or {}).get(n.span_id, {}).items()))
        title = (f"step {n.step} · {n.span.span_name} · {_duration(ms)}{figures} · {n.span_id}"
                 + (f" · {tags}" if tags else "")
                 + (f" · {below:,} spans below not drawn" if below else ""))
        indent = min(n.depth, MAX_INDENT_LEVELS) * INDENT
        room = min(48, int((LABEL_WIDTH - LABEL_PAD - indent) / CHAR_WIDTH))  # past it, the bar would cover the name
        label = n.span.span_name if len(n.span.span_name) <= room else n.span.span_name[:room - 1] + "…"
        out.append(Row(
            span_id=n.span_id, y=i * ROW_HEIGHT, x=round(LABEL_WIDTH + (n.span.start_ns - t0) * scale, 2),
            width=round(max((n.end_ns - n.span.start_ns) * scale, 1.5), 2), indent=indent,
            label=label, title=title, classes=" ".join(marks), below=below,
        ))
    return out, len(nodes) * ROW_HEIGHT


@dataclass(frozen=True)
class ModelUsage:
    model: str
    calls: int
    tokens_input: int
    tokens_output: int
    cost_usd: float | None


def usage_by_model(nodes: list[Node]) -> list[ModelUsage]:
    """Model calls where usage is counted (leaf model calls), grouped by model."""
    category = {n.span_id: n.span.category for n in nodes}
    groups: dict[str, list[Node]] = {}
    for n in nodes:
        if n.span.category == "llm" and not any(category.get(c) == "llm" for c in n.children):
            groups.setdefault(n.span.response_model or n.span.request_model or "(unknown)", []).append(n)
    out = []
    for model, calls in sorted(groups.items()):
        costs = [c.cost_usd for c in calls if c.cost_usd is not None]
        out.append(ModelUsage(model, len(calls), sum(c.span.input_tokens or 0 for c in calls),
                              sum(c.span.output_tokens or 0 for c in calls), sum(costs) if costs else None))
    return out


def grafana_trace_url(grafana_url: str | None, trace_id: str) -> str | None:
    """Grafana Explore on the ClickHouse datasource's trace view of this trace (None without Grafana)."""
    if not grafana_url:
        return None
    query = {"refId": "A", "datasource": {"type": "grafana-clickhouse-datasource", "uid": GRAFANA_DATASOURCE_UID},
             "editorType": "builder", "queryType": "traces",
             "builderOptions": {"queryType": "traces", "meta": {"isTraceIdMode": True, "traceId": trace_id}}}
    panes = {"trace": {"datasource": GRAFANA_DATASOURCE_UID, "queries": [query], "range": {"from": "now-30d", "to": "now"}}}
    return f"{grafana_url.rstrip('/')}/explore?schemaVersion=1&panes={quote(json.dumps(panes, separators=(',', ':')))}"
