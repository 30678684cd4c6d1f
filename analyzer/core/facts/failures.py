"""What kind of failure a span shows: one classifier over status, error type and message.

Every failing span gets exactly one kind, the most specific that matches:
unknown_tool, rate_limited, auth_error, timeout, context_overflow, content_filtered,
max_iterations, invalid_tool_args (a tool that refused its arguments), tool_error, or plain
error. Tool spans that end OK but return an
error as their result (frameworks that catch tool exceptions) are "soft" failures.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from agentmortem.analyzer.core.facts.content import json_or_none
from agentmortem.semconv.model import CanonicalSpan

# Ordered: the first kind whose pattern matches the span's error text wins.
KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("max_iterations", re.compile(
        r"GraphRecursionError|recursion limit|MaxTurnsExceeded|max(imum)?[ _]?turns|AgentMaxStepsError|"
        r"iteration limit|max(imum)?[ _]?iterations|max(imum)?[ _]steps|UsageLimitExceeded|request_limit|"
        r"stopped after \d+ (?:iterations|steps|turns)", re.I)),
    ("unknown_tool", re.compile(
        r"unknown tool|tool not found|tool ['\"]?[\w.-]+['\"]? (?:was |is )?not found|no such tool|"
        r"is not a valid tool|UnknownTool|ToolNotFound", re.I)),
    ("rate_limited", re.compile(
        r"RateLimit|rate[ _-]?limit|too many requests|\b429\b|RESOURCE_EXHAUSTED|quota exceeded|"
        r"throttl", re.I)),
    ("auth_error", re.compile(
        r"AuthenticationError|PermissionDenied|Unauthori[sz]ed|Forbidden|\b40[13]\b|invalid[ _]api[ _]key|"
        r"incorrect api key|UNAUTHENTICATED|PERMISSION_DENIED|access denied", re.I)),
    ("context_overflow", re.compile(
        r"context[ _]length|context[ _]window|maximum context|ContextWindowExceeded|prompt is too long|"
        r"input is too long|too many tokens|max_tokens|token limit", re.I)),
    ("content_filtered", re.compile(
        r"content[ _]filter|content management policy|ResponsibleAIPolicyViolation|safety system|"
        r"blocked by (the )?(safety|guardrail)|PROHIBITED_CONTENT|GuardrailTripwireTriggered|"
        r"guardrail", re.I)),
    ("timeout", re.compile(
        r"timeout|timed out|DEADLINE_EXCEEDED|deadline exceeded|\b40[8]\b|\b504\b|gateway time", re.I)),
)

_SOFT_ERROR = re.compile(r"^\s*(error|exception|traceback \(most recent call last\))\b|^\s*\w*(Error|Exception):", re.I)
# Every soft error needs one of these in the result's raw text (an error key or an error word;
# only a \u escape could spell one in JSON without them), so most results need no JSON parsing.
_SOFT_ERROR_HINT = re.compile(r"rror|xception|raceback|\\u", re.I)
# A result object that states its failure without an error word: `"success": false`, `"ok": false`,
# an HTTP error status (CrewAI's ToolFailure: `{"message": …, "code": "404"}`).
_STATED_FAILURE = re.compile(r'"(?:success|ok)"\s*:\s*false|"(?:code|status|status_code)"\s*:\s*"?[45]\d\d\b')
_STATUS_CODE = re.compile(r"(?:error code|status(?: code)?|http)[^0-9]{0,4}(\d{3})\b", re.I)


def span_end(span: CanonicalSpan) -> int:
    return span.start_ns + span.duration_ns


def error_text(span: CanonicalSpan) -> str:
    """The span's own error description: type, message and status message, each said once.

    SDKs often set the status message to "Type: message", so a part contained in another
    part is left out ("ConnectionError" + "unreachable" + "ConnectionError: unreachable"
    → "ConnectionError: unreachable").
    """
    parts = list(dict.fromkeys(p for p in (span.error_type, span.error_message, span.status_message) if p))
    return ": ".join(p for p in parts if not any(p != q and p in q for q in parts))


def _may_name_error(text: str) -> bool:
    """`_SOFT_ERROR_HINT` matches; for ASCII text, by plain substring tests on its lower case."""
    if not text.isascii():
        return bool(_SOFT_ERROR_HINT.search(text))
    low = text.lower()
    return "rror" in low or "xception" in low or "raceback" in low or "\\u" in low


def soft_error(span: CanonicalSpan) -> str:
    """The error a tool returned as its result while its span ended OK, or ""."""
    result_text = span.tool_result
    if span.category != "tool" or not result_text or not (_may_name_error(result_text) or (
            ("false" in result_text or '"code"' in result_text or '"status' in result_text)
            and _STATED_FAILURE.search(result_text))):
        return ""
    result = json_or_none(span.tool_result)
    if isinstance(result, dict):
        err = result.get("error")
        if err and (isinstance(err, str | dict)) and not result.get("result"):
            return err if isinstance(err, str) else str(err.get("message", err))
        if result.get("isError") is True or result.get("is_error") is True:
            return span.tool_result[:300]
        said = result.get("message") or result.get("detail") or result.get("reason")
        if result.get("success") is False or result.get("ok") is False or _error_status(result):
            return str(said)[:300] if said else span.tool_result[:300]
        return ""
    text = result if isinstance(result, str) else span.tool_result
    return text.strip()[:300] if _SOFT_ERROR.search(text) else ""


# Exceptions that end a task without its failing: cancellation, generator exits (frameworks record
# them as exception events on spans that end well).
_BOOKKEEPING = re.compile(r"CancelledError|GeneratorExit|StopAsyncIteration|StopIteration", re.I)
# Exceptions frameworks raise to route control, recorded as errors by some instrumentations: a
# LangGraph handoff to another graph (`ParentCommand`), an interrupt bubbling up.
_CONTROL_FLOW = re.compile(r"\b(?:langgraph\.errors\.)?(?:ParentCommand|GraphBubbleUp|GraphInterrupt)\b")


def _error_status(result: dict[str, Any]) -> bool:
    """A result object that states an HTTP error status (`{"code": "404", "message": …}`)."""
    for key in ("status_code", "status", "code"):
        value = result.get(key)
        if isinstance(value, int | str) and str(value).isdigit() and 400 <= int(value) <= 599:
            return True
    return False


def failure_text(span: CanonicalSpan) -> str:
    """Why the span failed, or "" when it did not fail.

    The status is the truth: an exception recorded on a span whose status is OK was handled, and a
    cancellation without an error status is bookkeeping."""
    if span.error_type and _CONTROL_FLOW.search(span.error_type):
        return ""
    if span.status_code == "Error" or (span.error_type and span.status_code != "Ok"
                                       and not _BOOKKEEPING.search(span.error_type)):
        return error_text(span) or "error"
    # soft_error's first test, repeated here: asked of every span of every run, most of them not tools.
    return soft_error(span) if span.category == "tool" else ""


# A tool execution refused the arguments it was called with (Python's own call errors, pydantic's
# validation of a tool's argument model): the model's call was wrong, not the tool.
_BAD_ARGUMENTS = re.compile(
    r"unexpected keyword argument|missing \d+ required (?:positional |keyword-only )?argument|"
    r"validation errors? for \w*(?:args|arguments|input)\b|invalid (?:tool )?arguments|invalid tool call|"
    r"arguments are not valid JSON", re.I)


def failure_kind(span: CanonicalSpan, text: str) -> str:
    """The one kind of a failing span's failure (see module doc)."""
    kind = _kind_in(text)
    if span.category == "tool" and kind in ("", "error") and _BAD_ARGUMENTS.search(text):
        return "invalid_tool_args"
    return kind or ("tool_error" if span.category == "tool" else "error")


@lru_cache(maxsize=4096)
def _kind_in(text: str) -> str:
    """The first kind whose pattern matches an error text, or "" (cached: errors repeat)."""
    return next((kind for kind, pattern in KIND_PATTERNS if pattern.search(text)), "")


def status_code_in(text: str) -> int | None:
    """An HTTP status code quoted in an error text ("Error code: 429 …"), if any."""
    match = _STATUS_CODE.search(text)
    return int(match.group(1)) if match else None
