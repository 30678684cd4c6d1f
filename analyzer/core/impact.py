"""Cost impact: what the failure cost — tokens, money and time spent from the root cause
onward plus inside loops and retry storms ("wasted"), as amounts and shares of the run.

Tokens and money are counted on leaf model calls only (never twice through wrappers).
Time is the length of the union of [root-cause span start, run end] and the wasted
repeats' intervals. A run-level root cause (abandoned, latency, cost, evaluations)
wastes the whole run.
"""

from __future__ import annotations

from agentmortem.analyzer.core.facts.failures import span_end
from agentmortem.analyzer.core.facts.view import RunView
from agentmortem.analyzer.core.model import CostImpact, Signal
from agentmortem.analyzer.core.rootcause import RUN_LEVEL, anchor

_REPEAT_TYPES = frozenset({"loop", "retry_storm"})


def _union_ms(intervals: list[tuple[int, int]]) -> float:
    total, cur_start, cur_end = 0, None, None
    for start, end in sorted(intervals):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start  # type: ignore[operator]
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start  # type: ignore[operator]
    return total / 1e6


def wasted_span_ids(view: RunView, root: Signal, signals: tuple[Signal, ...]) -> set[str]:
    """Spans from the root cause onward, plus every repeat inside loops and retry storms."""
    run = view.run
    rc = view.by_id.get(anchor(root, view))
    if root.type in RUN_LEVEL or rc is None:
        return {rs.span_id for rs in run.spans}
    wasted = {rc.span_id} | {d.span_id for d in view.descendants(rc.span_id)}
    wasted |= {rs.span_id for rs in run.spans if rs.span.start_ns >= rc.span.start_ns and rs.step >= rc.step}
    for s in signals:
        if s.type in _REPEAT_TYPES and s.decisive:
            wasted |= set(s.evidence.get("wasted_span_ids", []))
    return wasted & set(view.by_id)


def cost_impact(view: RunView, root: Signal | None, signals: tuple[Signal, ...]) -> CostImpact | None:
    """The cost impact of the root cause, or None when there is none."""
    if root is None:
        return None
    run = view.run
    ids = wasted_span_ids(view, root, signals)
    leaves = [rs for rs in view.llm_leaves if rs.span_id in ids]
    tokens = sum(view.tokens(rs) for rs in leaves)
    costs = [rs.cost_usd for rs in run.spans if rs.span_id in ids and rs.cost_usd is not None]
    cost = round(sum(costs), 8) if view.total_cost is not None else None
    rc = view.by_id.get(anchor(root, view))
    run_end = max([run.end_ns, *(span_end(rs.span) for rs in run.spans)])
    if root.type in RUN_LEVEL or rc is None:
        intervals = [(min(rs.span.start_ns for rs in run.spans), run_end)] if run.spans else []
    else:
        intervals = [(rc.span.start_ns, run_end)]
    intervals += [(view.by_id[i].span.start_ns, span_end(view.by_id[i].span)) for i in ids]
    total_cost = view.total_cost
    return CostImpact(
        wasted_tokens=tokens,
        wasted_cost_usd=cost,
        wasted_ms=round(_union_ms(intervals), 3),
        share_tokens=round(tokens / view.total_tokens, 4) if view.total_tokens else 0.0,
        share_cost=round(cost / total_cost, 4) if cost is not None and total_cost else None,
        span_ids=tuple(rs.span_id for rs in run.spans if rs.span_id in ids),
    )
