"""Failing spans: error/exception, tool_error, rate_limited, auth_error, timeout.

One signal per (kind, target) group of unrecovered, non-propagated failures (see
`analyzer.core.facts.view`), so five 429s on the same model step are one `rate_limited`
with count 5. Failures a later call recovered from produce no signal here.
"""

from __future__ import annotations

from typing import Any

from agentmortem.analyzer.core.facts.failures import status_code_in
from agentmortem.analyzer.core.facts.view import Failure
from agentmortem.analyzer.core.model import Run, Severity, Signal
from agentmortem.analyzer.core.rule_context import RuleContext

_MAX_TEXT = 200


def failure_signal(failure: Failure, severity: Severity, **extra: object) -> Signal:
    """The signal for one failure group, with its evidence."""
    first = failure.first.span
    evidence: dict[str, Any] = {
        "span_ids": [rs.span_id for rs in failure.spans],
        "count": len(failure.spans),
        "span_name": first.span_name,
        "error_type": first.error_type,
        "message": failure.text[:_MAX_TEXT],
    }
    if first.tool_name:
        evidence["tool"] = first.tool_name
    if first.request_model:
        evidence["model"] = first.request_model
    code = status_code_in(failure.text)
    if code is not None:
        evidence["status_code"] = code
    evidence.update(extra)
    return Signal(failure.kind, severity, first.span_id, evidence)


def _signals(ctx: RuleContext, kind: str, severity: Severity = "error") -> list[Signal]:
    return [failure_signal(f, severity) for f in ctx.view.failures_of(kind)]


def error(run: Run, ctx: RuleContext) -> list[Signal]:
    """Spans that ended in an error or exception no more specific rule explains."""
    return _signals(ctx, "error")


def tool_error(run: Run, ctx: RuleContext) -> list[Signal]:
    """Tool executions that raised, or returned an error as their result, and were not retried successfully."""
    return [
        failure_signal(f, "error", soft=f.first.span.status_code != "Error" and not f.first.span.error_type)
        for f in ctx.view.failures_of("tool_error")
    ]


def rate_limited(run: Run, ctx: RuleContext) -> list[Signal]:
    """HTTP 429, `*RateLimitError`, RESOURCE_EXHAUSTED — not followed by a successful call."""
    return _signals(ctx, "rate_limited")


def auth_error(run: Run, ctx: RuleContext) -> list[Signal]:
    """HTTP 401/403, `AuthenticationError`, `PermissionDeniedError`, invalid API keys."""
    return _signals(ctx, "auth_error", "critical")


def timeout(run: Run, ctx: RuleContext) -> list[Signal]:
    """Timeouts and exceeded deadlines (408/504, `*Timeout*`, DEADLINE_EXCEEDED)."""
    return _signals(ctx, "timeout")
