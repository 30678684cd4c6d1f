"""The run against the agent's own history and budget: latency_outlier and cost_overspend.

Outliers use the robust z-score `0.6745 · (x − median) / MAD` against the agent's
baseline (judged only once it holds `baseline_min_runs` runs, and only upwards).
When the MAD is 0 the p50–p95 spread stands in for it. A per-agent budget
(`AGENTMORTEM_AGENT_BUDGETS_USD`) turns an over-budget run into a warning signal
and a run past `budget_warn_fraction` of it into an info note (not a failure).
"""

from __future__ import annotations

from agentmortem.analyzer.core.model import Baseline, Run, Signal
from agentmortem.analyzer.core.rule_context import RuleContext

_MAD_TO_SIGMA = 0.6745
_P95_SIGMAS = 1.645


def robust_z(value: float, median: float, mad: float, p95: float | None = None) -> float | None:
    """Robust z-score of `value`; None when the spread is unknown or zero."""
    if mad > 0:
        return _MAD_TO_SIGMA * (value - median) / mad
    if p95 is not None and p95 > median:
        return _P95_SIGMAS * (value - median) / (p95 - median)
    return None


def _usable(baseline: Baseline | None, ctx: RuleContext) -> Baseline | None:
    return baseline if baseline is not None and baseline.runs >= ctx.settings.baseline_min_runs else None


def latency_outlier(run: Run, ctx: RuleContext) -> list[Signal]:
    """The run took far longer than this agent usually does."""
    baseline = _usable(ctx.baseline, ctx)
    if baseline is None or not run.ended:
        return []
    duration = ctx.view.duration_ms
    z = robust_z(duration, baseline.duration_ms_p50, baseline.duration_ms_mad, baseline.duration_ms_p95)
    if z is None or z < ctx.settings.latency_z_threshold:
        return []
    return [Signal("latency_outlier", "warning", run.root_span_id, {
        "span_ids": [run.root_span_id], "duration_ms": round(duration, 1), "p50_ms": baseline.duration_ms_p50,
        "p95_ms": baseline.duration_ms_p95, "z": round(z, 2), "baseline_runs": baseline.runs,
    })]


def cost_overspend(run: Run, ctx: RuleContext) -> list[Signal]:
    """The run cost more than the agent's budget, or far more than it usually does."""
    cost = ctx.view.total_cost
    if cost is None:
        return []
    signals = []
    budget = ctx.settings.agent_budgets_usd.get(run.agent_name)
    if budget is not None and cost > budget:
        signals.append(Signal("cost_overspend", "warning", run.root_span_id, {
            "span_ids": [run.root_span_id], "reason": "budget", "cost_usd": round(cost, 6), "budget_usd": budget,
        }))
    elif budget is not None and cost >= ctx.settings.budget_warn_fraction * budget:
        signals.append(Signal("cost_overspend", "info", run.root_span_id, {
            "span_ids": [run.root_span_id], "reason": "near_budget", "cost_usd": round(cost, 6),
            "budget_usd": budget, "share": round(cost / budget, 3),
        }, decisive=False))
    baseline = _usable(ctx.baseline, ctx)
    if baseline is not None and baseline.cost_usd_p50 is not None and not signals:
        z = robust_z(cost, baseline.cost_usd_p50, baseline.cost_usd_mad or 0.0, baseline.cost_usd_p95)
        if z is not None and z >= ctx.settings.cost_z_threshold:
            signals.append(Signal("cost_overspend", "warning", run.root_span_id, {
                "span_ids": [run.root_span_id], "reason": "baseline", "cost_usd": round(cost, 6),
                "p50_usd": baseline.cost_usd_p50, "z": round(z, 2), "baseline_runs": baseline.runs,
            }))
    return signals
