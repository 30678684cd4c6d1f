"""Query rows and analyzer objects → the API's response models (shared by JSON routes, exports and pages)."""

from __future__ import annotations

from typing import Any

from agentmortem.analyzer.api import schemas
from agentmortem.analyzer.api.timefmt import iso
from agentmortem.analyzer.api.tree import Capped, Node, nested
from agentmortem.semconv.model import CANONICAL_COLUMNS

# AgentMetrics event type of each span category.
EVENT_TYPES = {"llm": "assistant_message", "tool": "tool_call", "agent": "run_start"}
CSV_COLUMNS = tuple(name for name in schemas.Run.model_fields)


def run_dict(row: dict) -> dict[str, Any]:
    """A run query row in API form (ISO times, no internal columns)."""
    out = dict(row)
    out["started_at"] = iso(out.pop("started_ns", None))
    out["finished_at"] = iso(out.pop("finished_ns", None))
    return out


def run_out(row: dict) -> schemas.Run:
    return schemas.Run(**run_dict(row))


def explanation_out(run: dict, stored: dict) -> schemas.Explanation:
    s = stored["structured"]
    return schemas.Explanation(
        run_id=stored["run_id"], trace_id=stored["trace_id"], headline=stored["headline"],
        outcome=s.get("outcome") or run["outcome"], failure_class=s.get("failure_class", run["failure_class"]),
        root_cause_span_id=s.get("root_cause_span_id", run["root_cause_span_id"]),
        what=s.get("what"), why=s.get("why"), where=s.get("where"), cost_impact=s.get("cost_impact"),
        next_step=s.get("next_step"), warnings=s.get("warnings") or [], hallucination_score=s.get("hallucination_score"),
        signals=s.get("signals") or [], truncated=s.get("truncated"), markdown=stored["markdown"], structured=s,
    )


def _is_error(node: Node) -> bool:
    return node.span.status_code == "Error" or bool(node.span.error_type)


def event_out(node: Node) -> schemas.Event:
    span = node.span
    tool = span.category == "tool"
    kind = "error" if _is_error(node) and not tool else EVENT_TYPES.get(span.category, span.category)
    canonical = {name: getattr(span, name) for name in CANONICAL_COLUMNS}
    canonical["finish_reasons"] = list(span.finish_reasons)
    return schemas.Event(
        event_id=span.span_id, run_id=node.run_id, type=kind, timestamp=iso(span.start_ns),
        tool_name=span.tool_name or None if tool else None,
        tool_duration_ms=span.duration_ns / 1e6 if tool else None,
        tool_success=(not _is_error(node)) if tool else None,
        span_id=span.span_id, parent_span_id=node.parent_id, name=span.span_name, category=span.category,
        step=node.step, depth=node.depth, orphan=node.orphan, duration_ms=span.duration_ns / 1e6,
        status_code=span.status_code, cost_usd=node.cost_usd, canonical=canonical,
    )


def signal_types_by_span(signals: list[dict]) -> dict[str, list[str]]:
    """Which signal types name each span (the signal's own span and its evidence spans)."""
    out: dict[str, list[str]] = {}
    for s in signals:
        ids = {s.get("span_id", "")} | set((s.get("evidence") or {}).get("span_ids") or [])
        for sid in ids - {""}:
            out.setdefault(sid, [])
            if s["type"] not in out[sid]:
                out[sid].append(s["type"])
    return out


def tree_out(run: dict, tree: list[Node], shown: Capped, path: list[str], signals: list[dict],
             limit_reached: bool, measurements: dict[str, dict[str, float]] | None = None) -> schemas.RunTree:
    """`tree` (the run's, or a subtree of it) nested as far as `shown` goes; `path` is the run's critical path."""
    nodes = shown.nodes
    on_path = set(path)
    flagged = signal_types_by_span(signals)
    t0 = min((n.span.start_ns for n in tree), default=0)
    rc = run["root_cause_span_id"]

    def to_dict(n: Node) -> dict:
        return {
            "span_id": n.span_id, "run_id": n.run_id, "name": n.span.span_name, "category": n.span.category,
            "step": n.step, "depth": n.depth, "start_offset_ms": (n.span.start_ns - t0) / 1e6,
            "duration_ms": n.span.duration_ns / 1e6, "status_code": n.span.status_code,
            "error_type": n.span.error_type, "orphan": n.orphan, "on_critical_path": n.span_id in on_path,
            "is_root_cause": n.span_id == rc, "signal_types": flagged.get(n.span_id, []),
            "hidden_descendants": shown.hidden_below.get(n.span_id, 0),
            "measurements": (measurements or {}).get(n.span_id, {}),
        }

    return schemas.RunTree(
        run_id=run["run_id"], trace_id=run["trace_id"], span_count=len(tree), critical_path=path,
        root_cause_span_id=rc, roots=[schemas.TreeNode(**d) for d in nested(nodes, to_dict)],
        shown_span_count=len(nodes), hidden_span_count=shown.hidden, hidden_levels=shown.hidden_levels,
        max_depth=shown.max_depth, span_limit_reached=limit_reached, truncated=bool(shown.hidden) or limit_reached,
    )


def signal_out(row: dict) -> schemas.SignalOut:
    out = dict(row)
    out["started_at"] = iso(out.pop("started_ns", None))
    return schemas.SignalOut(**out)


def agent_out(row: dict) -> schemas.AgentStats:
    out = dict(row)
    out["last_run_at"] = iso(out.pop("last_run_ns", None))
    return schemas.AgentStats(**out)
