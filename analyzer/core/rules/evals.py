"""Ingested evaluation results: low_eval_score.

An evaluation is low when its score is below its threshold (per name, else the
default), or, when it carries no score, its label says it failed.
"""

from __future__ import annotations

from agentmortem.analyzer.core.facts.content import json_or_none
from agentmortem.analyzer.core.model import Run, Signal
from agentmortem.analyzer.core.rule_context import RuleContext

FAILING_LABELS = frozenset(
    {"fail", "failed", "failure", "incorrect", "wrong", "hallucinated", "hallucination", "toxic", "unsafe", "bad",
     "irrelevant", "unhelpful", "false", "no"}
)


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def low_eval_score(run: Run, ctx: RuleContext) -> list[Signal]:
    """Evaluation results on the run's spans that are below threshold or labelled as failing."""
    signals = []
    for rs in run.spans:
        if not rs.span.evaluations:
            continue
        results = json_or_none(rs.span.evaluations)
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict):
                continue
            name = str(result.get("name", ""))
            score = _number(result.get("score"))
            label = str(result.get("label") or "")
            threshold = ctx.settings.eval_thresholds.get(name, ctx.settings.eval_score_threshold)
            low = score < threshold if score is not None else label.lower() in FAILING_LABELS
            if low:
                signals.append(Signal("low_eval_score", "warning", rs.span_id, {
                    "span_ids": [rs.span_id], "name": name, "score": score, "label": label,
                    "threshold": threshold, "explanation": str(result.get("explanation") or "")[:200],
                    "span_name": rs.span.span_name,
                }))
    return signals
