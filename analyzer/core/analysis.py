"""The analyzer's per-run entry point: signals → outcome → root cause → cost impact → post-mortem.

`analyze_run` is pure (no I/O, no clock, no randomness): the same run, baseline and
settings always give the same verdict and the same text.
"""

from __future__ import annotations

from agentmortem.analyzer.core.facts.view import RunView
from agentmortem.analyzer.core.impact import cost_impact
from agentmortem.analyzer.core.model import Baseline, Explanation, Run, Verdict
from agentmortem.analyzer.core.postmortem import explain
from agentmortem.analyzer.core.rootcause import decide_outcome, ordered, root_cause
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.core.rules import detect, make_context
from agentmortem.analyzer.core.rules.grounding import hallucination_score


def analyze_run(run: Run, baseline: Baseline | None, settings: RuleSettings,
                view: RunView | None = None) -> tuple[Verdict, Explanation]:
    """Judge one run and explain it (`view`: the run's `RunView`, when the caller keeps it)."""
    ctx = make_context(run, settings, baseline, view)
    signals = ordered(detect(run, ctx), ctx.view)
    outcome = decide_outcome(signals)
    root = root_cause(signals, ctx.view, outcome)
    verdict = Verdict(
        outcome=outcome,
        failure_class=root.type if root else "",
        root_cause=root,
        signals=signals,
        cost_impact=cost_impact(ctx.view, root, signals),
        hallucination_score=hallucination_score(ctx.view),
    )
    return verdict, explain(run, ctx.view, verdict)
