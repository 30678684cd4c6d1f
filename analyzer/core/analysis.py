"""The analyzer's per-run entry point: signals → outcome → root cause → cost impact → post-mortem.

`analyze_run` is pure (no I/O, no clock, no randomness): the same run, baseline and
settings always give the same verdict and the same text. `analyze_runs` judges many
runs, each trace's sub-runs first, so each parent sees what its sub-agents came to
(`Run.sub_runs`).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from agentmortem.analyzer.core.facts.content import assistant_text
from agentmortem.analyzer.core.facts.view import RunView
from agentmortem.analyzer.core.impact import cost_impact
from agentmortem.analyzer.core.model import (
    Baseline,
    BaselineKey,
    Explanation,
    Run,
    SubRunOutcome,
    TraceKey,
    Verdict,
)
from agentmortem.analyzer.core.postmortem import render_postmortem
from agentmortem.analyzer.core.rootcause import decide_outcome, ordered, root_cause
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.core.rules import detect, make_context
from agentmortem.analyzer.core.rules.grounding import hallucination_score
from agentmortem.analyzer.core.runs import build_runs
from agentmortem.semconv.model import CanonicalSpan


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
    return verdict, render_postmortem(run, ctx.view, verdict)


@dataclass(frozen=True)
class Analyzed:
    """One run with its verdict and post-mortem."""

    run: Run  # sub_runs filled
    verdict: Verdict
    explanation: Explanation
    view: RunView  # the one the analysis derived its facts from (the result rows read it too)


def _span_name(view: RunView, span_id: str) -> str:
    rs = view.by_id.get(span_id)
    return rs.span.span_name if rs else ""


_ANSWER_CHARS = 20_000  # of a sub-agent's answer kept for the parent's provenance


def _outcome(parent: Run, parent_ids: Container[str], sub: Analyzed) -> SubRunOutcome:
    root = sub.view.root
    output = root.span.output_messages if root is not None else ""
    caller = root.span.parent_span_id if root is not None else ""
    return SubRunOutcome(
        run_id=sub.run.run_id, parent_span_id=caller if caller in parent_ids else parent.root_span_id,
        agent_name=sub.run.agent_name, outcome=sub.verdict.outcome, failure_class=sub.verdict.failure_class,
        answered=not output or bool(assistant_text(output)),
        root_cause=sub.verdict.root_cause,
        root_cause_span_name=_span_name(sub.view, sub.verdict.root_cause.span_id) if sub.verdict.root_cause else "",
        end_ns=sub.run.end_ns or sub.view.last_end,
        start_ns=root.span.start_ns if root is not None else 0,
        answer=sub.view.final_answer[1][:_ANSWER_CHARS],
    )


def analyze_runs(runs: Sequence[Run], baselines: Mapping[BaselineKey, Baseline], rules: RuleSettings) -> list[Analyzed]:
    """Analyze runs (any traces), every sub-run before its parent run; results in input order.
    Runs are told apart by trace (tenant and trace id) and run id: two tenants' runs may share ids."""
    done: dict[tuple[TraceKey, str], Analyzed] = {}
    for run in reversed(runs):  # `build_runs` lists parents before their sub-runs
        key = run.key
        ids = run.by_id() if run.sub_run_ids else {}  # once per run: per sub-run, wide trees went quadratic
        subs = tuple(_outcome(run, ids, done[key, r]) for r in run.sub_run_ids if (key, r) in done)
        if subs:
            run = replace(run, sub_runs=subs)
        view = RunView(run)
        verdict, explanation = analyze_run(run, baselines.get((run.tenant, run.agent_name)), rules, view)
        done[key, run.run_id] = Analyzed(run, verdict, explanation, view)
    return [done[r.key, r.run_id] for r in runs]


def analyze_spans(spans: Iterable[CanonicalSpan], baselines: Mapping[BaselineKey, Baseline],
                  rules: RuleSettings) -> list[Analyzed]:
    """Build and analyze the runs of every trace among `spans`."""
    return analyze_runs(build_runs(spans), baselines, rules)
