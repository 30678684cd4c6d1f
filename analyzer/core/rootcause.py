"""Outcome and root cause: which signal explains the run.

Outcome: `failed` when a decisive signal is an error (or worse), `degraded` when the
worst decisive signal is a warning, else `ok` (info notes never fail a run).

Root cause: the earliest decisive signal on the causal path to the outcome. A
signal's moment is when its problem showed — the end of its span (an exception ends
its span; a loop shows once its first call is done) — while run-level symptoms
(abandoned, latency, cost, evaluations) sit at the run's end, so any step-level cause
wins over them. For a failed run the candidates are the error-level signals plus
warnings on the same span as one of them (a truncated output that produced invalid
arguments); for a degraded run, its warnings. Ties break by depth (deeper first),
then by `PRECEDENCE` (the origin before its consequences: a tool error before the
loop it starts), then by start time.
"""

from __future__ import annotations

from collections.abc import Iterable

from agentmortem.analyzer.core.facts.failures import span_end
from agentmortem.analyzer.core.facts.view import RunView
from agentmortem.analyzer.core.model import SEVERITY_RANK, Outcome, Signal

RUN_LEVEL = frozenset({"abandoned", "latency_outlier", "cost_overspend", "low_eval_score"})

PRECEDENCE: tuple[str, ...] = (
    "error_swallowed", "delegation_failure", "auth_error", "rate_limited", "timeout", "context_overflow",
    "content_filtered", "unknown_tool", "invalid_tool_args", "tool_error", "error", "max_iterations",
    "retry_storm", "loop", "empty_output", "ungrounded_output", "wrong_outcome", "low_eval_score", "abandoned",
    "cost_overspend", "latency_outlier",
)
_RANK = {name: i for i, name in enumerate(PRECEDENCE)}


def anchor(signal: Signal, view: RunView) -> str:
    """The span of this run that places the signal: its own, or else the first of its evidence's spans
    in the run (a sub-run's failure is placed by the span that delegated to it)."""
    if signal.span_id in view.by_id:
        return signal.span_id
    return next((sid for sid in signal.evidence.get("span_ids", ()) if sid in view.by_id), signal.span_id)


def moment(signal: Signal, view: RunView) -> int:
    """When the signal's problem showed (ns); run-level symptoms after every span."""
    at = anchor(signal, view)
    if signal.type in RUN_LEVEL or at not in view.by_id:
        return max(view.last_end, view.run.end_ns) + 1
    return span_end(view.by_id[at].span)


def order_key(signal: Signal, view: RunView) -> tuple[int, int, int, int, str]:
    rs = view.by_id.get(anchor(signal, view))
    depth = rs.depth if rs else 0
    start = rs.span.start_ns if rs else 0
    return (moment(signal, view), -depth, _RANK.get(signal.type, len(_RANK)), start, signal.type)


def ordered(signals: Iterable[Signal], view: RunView) -> tuple[Signal, ...]:
    """Signals in causal order (see module doc)."""
    return tuple(sorted(signals, key=lambda s: order_key(s, view)))


def decide_outcome(signals: Iterable[Signal]) -> Outcome:
    worst = max((SEVERITY_RANK[s.severity] for s in signals if s.decisive), default=0)
    if worst >= SEVERITY_RANK["error"]:
        return "failed"
    return "degraded" if worst == SEVERITY_RANK["warning"] else "ok"


def root_cause(signals: tuple[Signal, ...], view: RunView, outcome: Outcome) -> Signal | None:
    """The earliest decisive signal on the causal path to the outcome; None for ok runs."""
    if outcome == "ok":
        return None
    decisive = [s for s in signals if s.decisive]
    if outcome == "failed":
        errors = [s for s in decisive if SEVERITY_RANK[s.severity] >= SEVERITY_RANK["error"]]
        error_spans = {sid for s in errors for sid in s.evidence.get("span_ids", [s.span_id])}
        candidates = errors + [
            s for s in decisive if s.severity == "warning" and s.span_id in error_spans and s.type not in RUN_LEVEL
        ]
    else:
        candidates = [s for s in decisive if s.severity == "warning"]
    return min(candidates, key=lambda s: order_key(s, view), default=None)
