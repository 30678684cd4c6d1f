"""Signal rules: pure functions `(run, ctx) -> list[Signal]`, registered in one literal list.

Rules do no I/O and keep no state; their order in `RULES` does not matter (the
root-cause ranking in `analyzer.core.rootcause` orders their findings). Each module holds
one family; `RuleContext` (settings, baseline, derived `RunView`) is in `analyzer.core.rule_context`.
"""

from __future__ import annotations

from collections.abc import Callable

from agentmortem.analyzer.core.facts.view import RunView
from agentmortem.analyzer.core.model import Baseline, Run, Signal
from agentmortem.analyzer.core.rule_context import RuleContext, RuleSettings
from agentmortem.analyzer.core.rules import (
    baseline,
    errors,
    evals,
    grounding,
    lifecycle,
    model_output,
    outcome,
    repetition,
    tools,
)

Rule = Callable[[Run, RuleContext], list[Signal]]

RULES: list[Rule] = [
    errors.error,
    errors.tool_error,
    errors.rate_limited,
    errors.auth_error,
    errors.timeout,
    model_output.context_overflow,
    model_output.content_filtered,
    model_output.empty_output,
    model_output.max_iterations,
    tools.invalid_tool_args,
    tools.unknown_tool,
    repetition.loop,
    repetition.retry_storm,
    lifecycle.abandoned,
    lifecycle.delegation_failure,
    lifecycle.error_swallowed,
    baseline.latency_outlier,
    baseline.cost_overspend,
    grounding.ungrounded_output,
    evals.low_eval_score,
    outcome.wrong_outcome,
]


def make_context(run: Run, settings: RuleSettings, baseline: Baseline | None = None,
                 view: RunView | None = None) -> RuleContext:
    return RuleContext(settings, baseline, view or RunView(run))


def detect(run: Run, ctx: RuleContext) -> list[Signal]:
    """Every rule's signals for the run."""
    return [signal for rule in RULES for signal in rule(run, ctx)]
