"""How the run as a whole went: abandoned, delegation_failure, error_swallowed.

Sub-agents are separate runs; their outcomes reach the parent through
`Run.sub_runs` (filled by the pipeline, children analyzed first). When the pipeline
has not analyzed them, a sub-agent span present in the parent's tree is judged by
its own status and output.
"""

from __future__ import annotations

from dataclasses import replace

from agentmortem.analyzer.core.facts.content import acknowledges_failure, all_text, assistant_text
from agentmortem.analyzer.core.facts.failures import span_end
from agentmortem.analyzer.core.model import Run, RunSpan, Signal
from agentmortem.analyzer.core.rule_context import RuleContext

_SNIPPET = 60


def abandoned(run: Run, ctx: RuleContext) -> list[Signal]:
    """The run's root never ended (the process died or the trace was cut off); points at the last span seen."""
    if run.ended:
        return []
    last = max((rs for rs in run.spans if rs.span_id != run.root_span_id), key=lambda rs: span_end(rs.span),
               default=None)
    at = last.span_id if last else run.root_span_id
    return [Signal("abandoned", "error", at, {
        "span_ids": [at], "spans_seen": len(run.spans),
        "last_span_id": last.span_id if last else "", "last_span_name": last.span.span_name if last else "",
    })]


def delegation_failure(run: Run, ctx: RuleContext) -> list[Signal]:
    """A sub-agent failed or returned nothing, and the parent went on (or failed with it).

    The cause is where the sub-run's own failure began (its root cause, a span of the sub-run);
    the delegating span in this run places it in time (`span_ids` lists it first). A parent that
    went on past the failure (a model call of its own after the sub-run ended) gets
    `delegation_failure`; one that stopped there (an orchestration root, a handoff that was the
    last step) fails with the sub-run's own failure."""
    signals = []
    for sub in run.sub_runs:
        if sub.outcome != "failed" and sub.answered:
            continue
        at = sub.parent_span_id if sub.parent_span_id in ctx.view.by_id else run.root_span_id
        rc = sub.root_cause
        went_on = any(rs.span.start_ns >= sub.end_ns for rs in ctx.view.llm_leaves) if sub.end_ns else True
        if rc is not None and not went_on:
            signals.append(replace(rc, evidence={
                **rc.evidence, "span_ids": [at, *rc.evidence.get("span_ids", [rc.span_id])], "delegated_at": at,
                "sub_agent": sub.agent_name, "sub_run_id": sub.run_id, "cause_span_name": sub.root_cause_span_name,
            }))
            continue
        cause = rc.span_id if rc is not None else at
        signals.append(Signal("delegation_failure", "error", cause, {
            "span_ids": [at] + ([cause] if cause != at else []), "sub_run_id": sub.run_id, "sub_agent": sub.agent_name,
            "sub_outcome": sub.outcome, "sub_failure_class": sub.failure_class, "answered": sub.answered,
            "sub_root_cause": rc.type if rc is not None else "", "delegated_at": at,
            "cause_span_name": sub.root_cause_span_name,
            "span_name": ctx.view.by_id[at].span.span_name if at in ctx.view.by_id else "",
        }))
    if run.sub_runs:
        return signals
    for rs in run.spans:
        if rs.span_id == run.root_span_id or rs.span.category != "agent" or rs.span.agent_name == run.agent_name:
            continue  # (the run's own agent, another span of it: a step, not a delegation)
        failed = bool(ctx.view.failure(rs))
        silent = ctx.view.content_captured and bool(rs.span.output_messages) and not assistant_text(
            rs.span.output_messages)
        if failed or silent:
            signals.append(Signal("delegation_failure", "error", rs.span_id, {
                "span_ids": [rs.span_id], "sub_run_id": rs.span_id, "sub_agent": rs.span.agent_name,
                "sub_outcome": "failed", "answered": not silent, "span_name": rs.span.span_name,
            }))
    return signals


def _snippets(rs: RunSpan, text: str) -> list[str]:
    out = [text.strip()[:_SNIPPET]]
    if rs.span.error_message:
        out.append(rs.span.error_message.strip()[:_SNIPPET])
    return [s for s in out if len(s) >= 12]


def error_swallowed(run: Run, ctx: RuleContext) -> list[Signal]:
    """An unrecovered failure's text reached a later model call, and the run answered as if all was well
    (its answer does not tell the user something failed)."""
    if ctx.view.ended_badly or acknowledges_failure(ctx.view.final_answer[1]):
        return []
    signals = []
    for failure in ctx.view.failures:
        first = failure.first
        snippets = _snippets(first, failure.text)
        later = [rs for rs in ctx.view.llm_leaves if rs.step > first.step]
        readers = [rs for rs in later if rs.span.input_messages
                   and any(s in all_text(rs.span.input_messages) for s in snippets)]
        if not readers and later and ctx.view.final_answer[1]:
            # The model had a turn after the failure and answered without a word of it; frameworks often
            # hand it a different text than the span recorded (a redacted or reworded error).
            readers = later[:1]
        if readers:
            signals.append(Signal("error_swallowed", "error", first.span_id, {
                "span_ids": [first.span_id, *(rs.span_id for rs in readers)], "failure_kind": failure.kind,
                "message": failure.text[:200], "read_by": readers[0].span_id, "span_name": first.span.span_name,
                "tool": first.span.tool_name,
            }))
    return signals
