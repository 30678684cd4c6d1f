"""What the model (or the agent) answered: context_overflow, content_filtered/refusal,
empty_output (including polite non-answers) and max_iterations markers.
"""

from __future__ import annotations

import re
from dataclasses import replace

from agentmortem.analyzer.core.facts.content import assistant_text, is_non_answer, is_refusal, message_text, messages
from agentmortem.analyzer.core.model import Run, RunSpan, Signal
from agentmortem.analyzer.core.rule_context import RuleContext
from agentmortem.analyzer.core.rules.errors import failure_signal

TRUNCATED_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "model_length"})
FILTERED_REASONS = frozenset(
    {"content_filter", "content_filtered", "safety", "blocked", "blocklist", "prohibited_content", "spii",
     "recitation", "refusal", "guardrail_intervened"}
)
_ITERATION_MARKER = re.compile(
    r"Agent stopped due to (?:iteration limit|max iterations)|Recursion limit of \d+ reached|"
    r"Max turns \(\d+\) exceeded|MaxTurnsExceeded|GraphRecursionError|"
    r"need more steps to process this request|AgentMaxStepsError|Reached max steps",
    re.I,
)
# The instruction a framework gives its model when it stops the agent loop at its limit and asks for
# a last answer (CrewAI's max_iter, smolagents' max_steps): that model call ends a run that hit its limit.
_TAIL = 4096  # characters of a prompt's raw text that hold its last message, for the phrase search
_FORCED_FINAL_ANSWER = re.compile(
    r"you MUST give your absolute best final answer|"
    r"Based on the above, please provide an answer to the following user task",
    re.I,
)


def _any_reason(rs: RunSpan, reasons: frozenset[str]) -> bool:
    """A finish reason of the span is one of `reasons` (case-insensitive); tested in C, no set built."""
    return not reasons.isdisjoint(map(str.lower, rs.span.finish_reasons))


def _grouped(name: str, spans: list[RunSpan], severity: str, **evidence: object) -> list[Signal]:
    if not spans:
        return []
    ids = [rs.span_id for rs in spans]
    first = spans[0].span
    return [Signal(name, severity, ids[0],  # type: ignore[arg-type]
                   {"span_ids": ids, "count": len(ids), "span_name": first.span_name, **evidence})]


def context_overflow(run: Run, ctx: RuleContext) -> list[Signal]:
    """Context-length errors; outputs cut at the token limit; inputs filling ≥ 95 % of the window."""
    signals = [failure_signal(f, "error", reason="error") for f in ctx.view.failures_of("context_overflow")]
    leaves = ctx.view.llm_leaves
    truncated = [rs for rs in leaves if _any_reason(rs, TRUNCATED_REASONS)]
    signals += _grouped("context_overflow", truncated, "warning", reason="output_truncated",
                        finish_reasons=sorted({r for rs in truncated for r in rs.span.finish_reasons}))
    full = []
    windows: dict[str, int | None] = {}  # by model: a run calls one or two models many times
    for rs in leaves:
        if not rs.span.input_tokens:
            continue  # no window to look up
        model = rs.span.request_model or rs.span.response_model
        if model not in windows:
            windows[model] = ctx.settings.context_window(model)
        window = windows[model]
        if window and rs.span.input_tokens >= ctx.settings.context_window_fraction * window:
            full.append((rs, window))
    if full:
        signals += _grouped("context_overflow", [rs for rs, _ in full], "warning", reason="window_nearly_full",
                            input_tokens=max(rs.span.input_tokens or 0 for rs, _ in full), window=full[0][1])
    return signals


def _has_refusal(output_messages: str) -> bool:
    """A message carries a `refusal` (a key the raw text must spell, unless \\u-escaped)."""
    if "refusal" not in output_messages and "\\u" not in output_messages:
        return False
    return any(m.get("refusal") for m in messages(output_messages))


def _at_guardrail(signal: Signal, ctx: RuleContext) -> Signal:
    """A tripwire recorded on the span around a guardrail (the Agents SDK records it on the turn or
    the agent) is located at the guardrail that tripped: the one the error names, else the last."""
    rs = ctx.view.by_id.get(signal.span_id)
    if rs is None or rs.span.category == "guardrail":
        return signal
    guards = [d for d in ctx.view.descendants(rs.span_id) if d.span.category == "guardrail"]
    if not guards:
        return signal
    text = str(signal.evidence.get("message", ""))
    guard = next((g for g in reversed(guards) if g.span.span_name and g.span.span_name in text), guards[-1])
    return replace(signal, span_id=guard.span_id, evidence={
        **signal.evidence, "span_ids": [guard.span_id, *signal.evidence.get("span_ids", [])],
        "guardrail": guard.span.span_name, "span_name": guard.span.span_name})


def content_filtered(run: Run, ctx: RuleContext) -> list[Signal]:
    """Provider content filters and guardrails (errors or finish reasons), and model refusals."""
    signals = [_at_guardrail(failure_signal(f, "error", reason="error"), ctx)
               for f in ctx.view.failures_of("content_filtered")]
    leaves = ctx.view.llm_leaves
    filtered = [rs for rs in leaves if _any_reason(rs, FILTERED_REASONS)]
    signals += _grouped("content_filtered", filtered, "error", reason="finish_reason",
                        finish_reasons=sorted({r for rs in filtered for r in rs.span.finish_reasons}))
    refused = [
        rs for rs in leaves if rs not in filtered and (
            _has_refusal(rs.span.output_messages)
            or (rs is ctx.view.final_answer[0] and is_refusal(ctx.view.final_answer[1]))
        )
    ]
    signals += _grouped("content_filtered", refused, "error", reason="refusal",
                        text=assistant_text(refused[0].span.output_messages)[:200] if refused else "")
    return signals


def empty_output(run: Run, ctx: RuleContext) -> list[Signal]:
    """The run's final answer is empty, or a polite non-answer (content must have been captured)."""
    rs, text = ctx.view.final_answer
    if rs is None or not ctx.view.content_captured or not run.ended:
        return []
    if not text and not rs.span.tool_calls:
        return _grouped("empty_output", [rs], "error", reason="empty")
    if is_non_answer(text) and not is_refusal(text):
        return _grouped("empty_output", [rs], "warning", reason="non_answer", text=text[:200])
    return []


def max_iterations(run: Run, ctx: RuleContext) -> list[Signal]:
    """Framework iteration limits: LangGraph recursion limit, LangChain iteration limit,
    Agents SDK MaxTurnsExceeded — raised, returned as the agent's output, or a forced final answer
    (once per run: the loop rule asks too)."""
    return ctx.view.memo("max_iterations", lambda: _max_iterations(run, ctx))


def _max_iterations(run: Run, ctx: RuleContext) -> list[Signal]:
    signals = [failure_signal(f, "error", reason="error") for f in ctx.view.failures_of("max_iterations")]
    if signals:
        return signals
    marked = [
        rs for rs in run.spans  # (no output, no marker: most spans need no parsing)
        if rs.span.output_messages and rs.span.category != "llm"
        and _ITERATION_MARKER.search(assistant_text(rs.span.output_messages))
    ]
    if marked:  # the deepest span that says so produced it (the spans above only pass it on)
        origin = max(marked, key=lambda rs: (rs.depth, rs.step))
        return _grouped("max_iterations", [origin], "error", reason="output_marker",
                        text=assistant_text(origin.span.output_messages)[:200])
    # The phrase is searched in the raw text's tail first (it is the last message): scanning or parsing
    # every prompt of every run costs too much.
    forced = [rs for rs in ctx.view.llm_leaves if _may_be_forced(rs.span.input_messages[-_TAIL:])
              and _last_is_forced(rs.span.input_messages)]
    return _grouped("max_iterations", forced[-1:], "error", reason="forced_final_answer",
                    text=assistant_text(forced[-1].span.output_messages)[:200] if forced else "")


def _may_be_forced(tail: str) -> bool:
    """A plain substring test for the phrases (in C), before any regex or parsing."""
    return "final answer" in tail or "please provide an answer" in tail


def _last_is_forced(input_messages: str) -> bool:
    """The model call's last input message is a framework's forced-final-answer instruction."""
    listed = messages(input_messages)
    return bool(listed) and bool(_FORCED_FINAL_ANSWER.search(message_text(listed[-1])))
