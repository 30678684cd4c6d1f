"""The post-mortem's wording: one template per signal type (and reason), filled from evidence.

Keys are `type` or `type:reason` (the more specific wins). `SHORT` names the problem
in the headline, `WHAT` states the finding, `WHY` explains the mechanism, `NEXT`
suggests the first thing to try. Placeholders are evidence keys; missing ones render
empty, so every text is a deterministic function of the evidence.
"""

from __future__ import annotations

from typing import Any

from agentmortem.analyzer.core.model import Signal

SHORT: dict[str, str] = {
    "error": "`{span_name}` raised {error_type}",
    "tool_error": "tool `{tool}` failed",
    "rate_limited": "the model provider rate-limited the agent",
    "auth_error": "the provider refused the credentials",
    "timeout": "`{span_name}` timed out",
    "context_overflow": "the context window overflowed",
    "context_overflow:output_truncated": "the model's output was cut at the token limit",
    "content_filtered": "a content filter blocked the model",
    "content_filtered:refusal": "the model refused to answer",
    "empty_output": "the final answer was empty",
    "empty_output:non_answer": "the agent gave a non-answer",
    "max_iterations": "the agent hit its iteration limit",
    "invalid_tool_args": "the model sent invalid arguments to `{tool}`",
    "unknown_tool": "the model called `{tool}`, a tool it was never offered",
    "loop": "the agent looped on `{tool}`",
    "loop:cycle": "the agent cycled between tools",
    "loop:identical_prompts": "the agent repeated the same prompt",
    "retry_storm": "a retry storm hit `{target}`",
    "abandoned": "the run never finished",
    "delegation_failure": "sub-agent `{sub_agent}` failed",
    "error_swallowed": "the failure of `{span_name}` was swallowed",
    "latency_outlier": "the run was unusually slow",
    "cost_overspend": "the run overspent",
    "ungrounded_output": "the answer states facts no source supports",
    "low_eval_score": "evaluation `{name}` scored low",
    "wrong_outcome": "`{agent}` brought in `{fact}`, which nothing given supports",
}

WHAT: dict[str, str] = {
    "error": "`{span_name}` ended with {error_type}: {message}",
    "tool_error": "Tool `{tool}` failed {count}×: {message}",
    "rate_limited": "{count} model call(s) were rejected with a rate limit: {message}",
    "auth_error": "{count} call(s) were refused for authentication or permission: {message}",
    "timeout": "`{span_name}` timed out {count}×: {message}",
    "context_overflow": "The prompt exceeded the model's context window: {message}",
    "context_overflow:output_truncated": "{count} model output(s) stopped at the token limit ({finish_reasons})",
    "context_overflow:window_nearly_full": "The input reached {input_tokens} tokens of a {window}-token window",
    "content_filtered": "A content filter or guardrail rejected the call: {message}",
    "content_filtered:finish_reason": "The provider filtered the response (finish reason {finish_reasons})",
    "content_filtered:refusal": "The model refused: “{text}”",
    "empty_output": "The run's final answer was empty",
    "empty_output:non_answer": "The final answer answers nothing: “{text}”",
    "max_iterations": "The agent stopped at its iteration limit: {message}{text}",
    "invalid_tool_args": "The model called `{tool}` with invalid arguments ({problem}) {count}×",
    "unknown_tool": "The model called `{tool}` {count}×; offered were only {offered}",
    "loop": "The agent called `{tool}` {count}× in a row with identical arguments",
    "loop:cycle": "The agent repeated the cycle {tools} ({count} calls)",
    "loop:identical_prompts": "The model received the same prompt {count}×",
    "retry_storm": "`{target}` was called {count}× and failed {failed}×",
    "abandoned": "The run never ended; the last span seen was `{last_span_name}`",
    "delegation_failure": "Sub-agent `{sub_agent}` ended {sub_outcome} {sub_failure_class}",
    "error_swallowed": "`{span_name}` failed ({message}); the model read the error and the run answered anyway",
    "latency_outlier": "The run took {duration_ms} ms against a median of {p50_ms} ms (z = {z})",
    "cost_overspend": "The run cost ${cost_usd}, over its budget of ${budget_usd}",
    "cost_overspend:baseline": "The run cost ${cost_usd} against a median of ${p50_usd} (z = {z})",
    "cost_overspend:near_budget": "The run used {share_pct} of its ${budget_usd} budget",
    "ungrounded_output": "{ungrounded} of {claims} facts in the answer appear in no input, tool result or document "
                         "(e.g. {examples}); hallucination score {score}",
    "low_eval_score": "Evaluation `{name}` gave {score}{label} (threshold {threshold})",
    "wrong_outcome": "The final answer rests on `{fact}`, first stated by `{agent}` (\"{quote}\") and in neither the task nor the expected answer",
}

WHY: dict[str, str] = {
    "error": "the step raised an exception nothing recovered from",
    "tool_error": "the tool failed and no later call to it succeeded",
    "rate_limited": "the provider's rate limit was hit and no retry succeeded",
    "auth_error": "the credentials were rejected, so no call could succeed",
    "timeout": "the step exceeded its time limit and was not retried successfully",
    "context_overflow": "the conversation grew past what the model accepts",
    "context_overflow:output_truncated": "the model ran out of output tokens mid-answer",
    "content_filtered": "the input or output tripped a safety filter",
    "empty_output": "the last model call returned no text",
    "empty_output:non_answer": "the agent gave up but reported success",
    "max_iterations": "the agent never converged on an answer",
    "invalid_tool_args": "the model's arguments did not match the tool's schema",
    "unknown_tool": "the model hallucinated a tool",
    "loop": "the agent repeated the same action without progress",
    "retry_storm": "retries kept hitting the same failing target",
    "abandoned": "the process stopped or the trace was cut before the run ended",
    "delegation_failure": "the sub-agent's failure was not handled by the parent",
    "error_swallowed": "the error was hidden from the outcome instead of stopping or retrying",
    "latency_outlier": "the run spent far more time than this agent usually does",
    "cost_overspend": "the run consumed more tokens than its budget or history allow",
    "ungrounded_output": "the model stated facts that none of its tools or inputs returned",
    "low_eval_score": "an evaluator judged the result poor",
    "wrong_outcome": "an agent stated a fact the others relied on without checking it",
}

NEXT: dict[str, str] = {
    "error": "Open span `{span_id}`, fix the {error_type} and add handling for it.",
    "tool_error": "Fix or harden tool `{tool}` and have the agent report tool failures instead of retrying blindly.",
    "rate_limited": "Add exponential backoff with jitter, lower concurrency, or raise the provider quota.",
    "auth_error": "Check the API key and its permissions for this provider and model.",
    "timeout": "Raise the timeout of `{span_name}` or make the call cheaper; retry with backoff.",
    "context_overflow": "Trim or summarise the history before each model call.",
    "context_overflow:output_truncated": "Raise max_tokens or ask for shorter output.",
    "content_filtered": "Review the input that tripped the filter; adjust the prompt or guardrail.",
    "empty_output": "Check the last prompt and finish reason; reject empty answers before returning.",
    "empty_output:non_answer": "Find which step left the agent without data; treat non-answers as failures.",
    "max_iterations": "Find why the agent does not converge; raise the limit only if progress is real.",
    "invalid_tool_args": "Tighten `{tool}`'s schema and description, and return validation errors to the model.",
    "unknown_tool": "Offer `{tool}` or reject unknown tool calls explicitly and tell the model which tools exist.",
    "loop": "Add a stop condition for repeated calls and make `{tool}`'s result tell the agent what to do next.",
    "retry_storm": "Cap retries with exponential backoff and stop retrying non-retryable errors.",
    "abandoned": "Check the process for crashes or kills after `{last_span_name}`; make sure spans are flushed.",
    "delegation_failure": "Open sub-run `{sub_run_id}`; make the parent check the sub-agent's result.",
    "error_swallowed": "Make the agent stop or retry when `{span_name}` fails, and tell the user.",
    "latency_outlier": "Compare with a typical run and look for the slowest spans.",
    "cost_overspend": "Look for the costliest model calls; cap steps or use a cheaper model.",
    "ungrounded_output": "Require the answer to cite tool results; check {examples}.",
    "low_eval_score": "Read evaluator `{name}`'s explanation and the answer at span `{span_id}`.",
    "wrong_outcome": "Check where `{agent}` got `{fact}`; make the next agent verify such facts against a source.",
}


class _Evidence(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _display(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(f"`{v}`" if isinstance(v, str) else str(v) for v in value[:5])
    return str(value)


def render(table: dict[str, str], signal: Signal) -> str:
    """The table's text for a signal, its placeholders filled from the evidence."""
    reason = signal.evidence.get("reason", "")
    template = table.get(f"{signal.type}:{reason}", table.get(signal.type, signal.type))
    values = _Evidence({k: _display(v) for k, v in signal.evidence.items() if v not in (None, "")})
    values.setdefault("span_id", signal.span_id)
    if "share" in signal.evidence:
        values["share_pct"] = f"{signal.evidence['share']:.0%}"
    if signal.evidence.get("label"):
        values["label"] = f" ({signal.evidence['label']})"
    if not signal.evidence.get("error_type"):
        values["error_type"] = "an error"
    text = template.format_map(values)
    return " ".join(text.replace("``", "").split()).replace(" :", ":").replace(" )", ")")
