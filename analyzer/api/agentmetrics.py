"""AgentMetrics ingest payloads (`POST /v1/runs`, `POST /v1/runs/{run_id}/events`) as OTLP spans.

An AgentMetrics run becomes one trace, like any other input, written to `otel_traces`
by the collector's durable path: the run is an `invoke_agent` root span, each event a
child span in GenAI semantic-convention attributes — `assistant_message` → `chat`
(output message, token usage), `tool_call`/`tool_result` → `execute_tool`, `api_error`
→ a failed `chat`, `error` → a failed step. Ids are derived from the AgentMetrics ids
within the sender's tenant (a UUID run id *is* the trace id; another run id is hashed
with the tenant), so resending a run or an event rewrites the same span ids and the
analyzer counts it once, and no tenant can write into another's run, whatever run id it
names (the analyzer also keeps each tenant's spans of one trace id apart). Streamed events hang under the root's id
before the root exists; the run is analyzed once the root arrives (`POST /v1/runs` or a
`run_end` event), or judged abandoned if it never does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NamedTuple

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from agentmortem.analyzer.api.timefmt import to_ns
from agentmortem.analyzer.engine.find import trace_id_for
from agentmortem.semconv import keys as k

EventType = Literal[
    "run_start", "assistant_message", "thinking", "tool_call", "tool_result", "error", "api_error", "run_end",
    "stream_event", "system_message", "user_message",
]
SCOPE_NAME = "agentmortem.agentmetrics"
_EARLIEST, _LATEST = datetime(1970, 1, 2, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
MAX_DURATION_MS = 366 * 24 * 3600 * 1000.0  # a year: longer durations are not agent runs


def _in_range(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not _EARLIEST <= aware < _LATEST:
        raise ValueError("timestamp must be between 1970-01-02 and 2200-01-01")
    return aware


Moment = Annotated[datetime, AfterValidator(_in_range)]
Duration = Annotated[float, Field(ge=0, le=MAX_DURATION_MS)]
MAX_SUMMARY_SPANS = 1000  # tool-call summaries expanded into at most this many spans per tool


class TokenUsage(BaseModel):
    input: int = Field(0, ge=0)
    output: int = Field(0, ge=0)
    cache_read: int = Field(0, ge=0)
    cache_write: int = Field(0, ge=0)


class ErrorInfo(BaseModel):
    type: str = Field("Error", max_length=500)
    message: str = Field("", max_length=20_000)
    stack: str | None = None


class ToolCallSummary(BaseModel):
    tool: str = Field(min_length=1, max_length=500)
    count: int = Field(0, ge=0)
    total_duration_ms: Duration = 0
    success_count: int = Field(0, ge=0)
    failure_count: int = Field(0, ge=0)


class RunEventIn(BaseModel):
    """One AgentMetrics `RunEvent` (unknown fields are ignored, as the spec asks)."""

    model_config = ConfigDict(extra="ignore")

    event_id: str = Field(min_length=1, max_length=200)
    type: EventType
    timestamp: Moment
    sequence_number: int = 0
    tool_name: str | None = Field(None, max_length=500)
    tool_id: str | None = Field(None, max_length=200)
    tool_input: dict[str, Any] | None = None
    tool_output: str | None = None
    tool_duration_ms: Duration | None = None
    tool_success: bool | None = None
    content: str | None = None
    thinking: str | None = None
    model: str | None = Field(None, max_length=200)
    tokens: TokenUsage | None = None
    error: ErrorInfo | None = None


class AgentRunIn(BaseModel):
    """A completed AgentMetrics run (`POST /v1/runs`)."""

    model_config = ConfigDict(extra="ignore")

    run_id: str = Field(min_length=1, max_length=200)
    agent_id: str | None = Field(None, max_length=200)
    session_id: str | None = Field(None, max_length=200)
    started_at: Moment
    finished_at: Moment | None = None
    duration_ms: Duration | None = None
    status: Literal["running", "completed", "failed", "timeout"] = "completed"
    error: ErrorInfo | None = None
    tokens: TokenUsage = Field(default_factory=TokenUsage)
    cost_usd: float | None = Field(None, ge=0)
    estimated_cost_usd: float | None = Field(None, ge=0)
    model: str | None = Field(None, max_length=200)
    tool_calls: list[ToolCallSummary] = Field(default_factory=list)
    events: list[RunEventIn] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    prompt: str | None = None


# -- ids (a run's trace id: `engine.find.trace_id_for`, which look-ups derive too) ----------------


def span_id_for(run_id: str, part: str) -> str:
    """A stable, non-zero 16-hex span id for one part of a run (`root`, an event or tool id)."""
    digest = hashlib.sha256(f"{run_id}\x00{part}".encode()).hexdigest()[:16]
    return digest if digest != "0" * 16 else "0" * 15 + "1"


def root_span_id(run_id: str) -> str:
    return span_id_for(run_id, "root")


class RunKey(NamedTuple):
    """An AgentMetrics run as its sender's tenant names it ("" without a key)."""

    run_id: str
    tenant: str = ""


# -- attributes ------------------------------------------------------------------------------------


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    return AnyValue(string_value=json.dumps(value, separators=(",", ":"), default=str))


def _attrs(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_value(v)) for key, v in values.items() if v is not None and v != ""]


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}], ensure_ascii=False)


def _span(run: RunKey, part: str, name: str, start: int, end: int, attrs: dict[str, Any],
          error: ErrorInfo | None = None, parent: str | None = None) -> Span:
    run_id = run.run_id
    span = Span(
        trace_id=bytes.fromhex(trace_id_for(run_id, run.tenant)), span_id=bytes.fromhex(span_id_for(run_id, part)),
        parent_span_id=bytes.fromhex(parent if parent is not None else root_span_id(run_id)),
        name=name, kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=start, end_time_unix_nano=max(end, start),
        attributes=_attrs(attrs),
    )
    if error is not None:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=f"{error.type}: {error.message}"))
        span.attributes.append(KeyValue(key=k.ERROR_TYPE, value=_value(error.type)))
        event = span.events.add(time_unix_nano=max(end, start), name=k.EVENT_EXCEPTION)
        event.attributes.extend(_attrs({k.EXCEPTION_TYPE: error.type, k.EXCEPTION_MESSAGE: error.message,
                                        "exception.stacktrace": error.stack}))
    return span


# -- events ----------------------------------------------------------------------------------------


def _usage(tokens: TokenUsage | None) -> dict[str, Any]:
    if tokens is None:
        return {}
    return {k.GEN_AI_USAGE_INPUT_TOKENS: tokens.input + tokens.cache_read + tokens.cache_write,
            k.GEN_AI_USAGE_OUTPUT_TOKENS: tokens.output,
            k.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: tokens.cache_read or None}


def event_span(run: RunKey, event: RunEventIn, model: str | None = None) -> Span | None:
    """The span of one event, or None for types that only mark the run's own start/end or stream noise."""
    at = to_ns(event.timestamp)
    model = event.model or model or ""
    base = {"agentmetrics.event_id": event.event_id, "agentmetrics.event_type": event.type}
    if event.type in ("assistant_message", "api_error"):
        attrs = {**base, k.GEN_AI_OPERATION_NAME: "chat", k.GEN_AI_REQUEST_MODEL: model, **_usage(event.tokens)}
        if event.content:
            attrs[k.GEN_AI_OUTPUT_MESSAGES] = _messages("assistant", event.content)
        error = event.error or (ErrorInfo(type="APIError", message=event.content or "") if event.type == "api_error"
                                else None)
        return _span(run, event.event_id, f"chat {model}".strip(), at, at, attrs, error)
    if event.type in ("tool_call", "tool_result"):
        duration = int((event.tool_duration_ms or 0) * 1e6)
        part = f"tool:{event.tool_id}" if event.tool_id else event.event_id
        attrs = {**base, k.GEN_AI_OPERATION_NAME: "execute_tool", k.GEN_AI_TOOL_NAME: event.tool_name or "",
                 k.GEN_AI_TOOL_CALL_ID: event.tool_id,
                 k.GEN_AI_TOOL_CALL_ARGUMENTS: json.dumps(event.tool_input) if event.tool_input is not None else None,
                 k.GEN_AI_TOOL_CALL_RESULT: event.tool_output}
        error = event.error
        if error is None and event.tool_success is False:
            error = ErrorInfo(type="ToolError", message=event.tool_output or "tool reported failure")
        start = at - duration if event.type == "tool_result" else at
        return _span(run, part, f"execute_tool {event.tool_name or ''}".strip(), start, start + duration,
                     attrs, error)
    if event.type == "error":
        error = event.error or ErrorInfo(type="Error", message=event.content or "")
        return _span(run, event.event_id, f"error {error.type}", at, at, base, error)
    return None  # run_start, run_end, thinking, stream_event, system/user messages


# -- runs ------------------------------------------------------------------------------------------


def _run_error(run: AgentRunIn) -> ErrorInfo | None:
    if run.error is not None:
        return run.error
    if run.status == "timeout":
        return ErrorInfo(type="TimeoutError", message="the run timed out")
    if run.status == "failed":
        return ErrorInfo(type="Error", message="the run failed")
    return None


def _summary_spans(run: AgentRunIn, key: RunKey, start: int, end: int, have_tools: bool,
                   have_usage: bool) -> list[Span]:
    """Spans for what the run reports only as totals: model usage and tool-call counts."""
    spans: list[Span] = []
    tokens, cost = run.tokens, run.cost_usd if run.cost_usd is not None else run.estimated_cost_usd
    if not have_usage and (tokens.input or tokens.output or cost is not None):
        attrs = {k.GEN_AI_OPERATION_NAME: "chat", k.GEN_AI_REQUEST_MODEL: run.model or "", **_usage(tokens),
                 k.OI_COST_TOTAL: cost, "agentmetrics.summary": True}
        spans.append(_span(key, "usage", f"chat {run.model or ''}".strip(), start, end, attrs))
    if not have_tools:
        for summary in run.tool_calls:
            n = min(summary.count, MAX_SUMMARY_SPANS)
            each = int(summary.total_duration_ms * 1e6 / max(summary.count, 1))
            for i in range(n):
                failed = i < summary.failure_count
                attrs = {k.GEN_AI_OPERATION_NAME: "execute_tool", k.GEN_AI_TOOL_NAME: summary.tool,
                         "agentmetrics.summary": True}
                error = ErrorInfo(type="ToolError", message="tool reported failure") if failed else None
                spans.append(_span(key, f"toolsum:{summary.tool}:{i}", f"execute_tool {summary.tool}",
                                   start, start + each, attrs, error))
    return spans


def run_request(run: AgentRunIn, tenant: str = "") -> ExportTraceServiceRequest:
    """The OTLP request carrying tenant `tenant`'s completed run: its root span, its events, its summaries."""
    key = RunKey(run.run_id, tenant)
    start = to_ns(run.started_at)
    if run.finished_at is not None:
        end = to_ns(run.finished_at)
    elif run.duration_ms is not None:
        end = start + int(run.duration_ms * 1e6)
    else:
        end = max([start] + [to_ns(e.timestamp) for e in run.events])
    agent = run.agent_id or "agent"
    root_attrs = {
        k.GEN_AI_OPERATION_NAME: "invoke_agent", k.GEN_AI_AGENT_NAME: agent, k.GEN_AI_AGENT_ID: run.agent_id,
        k.GEN_AI_CONVERSATION_ID: run.session_id, k.GEN_AI_REQUEST_MODEL: run.model,
        k.GEN_AI_INPUT_MESSAGES: _messages("user", run.prompt) if run.prompt else None,
        "agentmetrics.run_id": run.run_id, "agentmetrics.status": run.status,
        **{f"agentmetrics.metadata.{key}": value for key, value in run.metadata.items()},
    }
    answers = [e for e in run.events if e.type == "assistant_message" and e.content]
    if answers:
        root_attrs[k.GEN_AI_OUTPUT_MESSAGES] = _messages("assistant", answers[-1].content or "")
    spans = [_span(key, "root", f"invoke_agent {agent}", start, end, root_attrs, _run_error(run), parent="")]
    events = [s for s in (event_span(key, e, run.model) for e in _merged_tools(run.events)) if s is not None]
    spans += events
    have_tools = any(e.type in ("tool_call", "tool_result") for e in run.events)
    have_usage = any(e.tokens is not None for e in run.events)
    spans += _summary_spans(run, key, start, end, have_tools, have_usage)
    return spans_request(spans, run.agent_id, run.metadata)


def _merged_tools(events: list[RunEventIn]) -> list[RunEventIn]:
    """Events with each `tool_result` folded into its `tool_call` (same tool id) so one span carries both."""
    results = {e.tool_id: e for e in events if e.type == "tool_result" and e.tool_id}
    calls = {e.tool_id for e in events if e.type == "tool_call" and e.tool_id}
    out = []
    for e in events:
        if e.type == "tool_result" and e.tool_id in calls:
            continue
        if e.type == "tool_call" and e.tool_id in results:
            r = results[e.tool_id]
            e = e.model_copy(update={
                "tool_output": r.tool_output, "tool_duration_ms": r.tool_duration_ms or e.tool_duration_ms,
                "tool_success": r.tool_success, "error": r.error or e.error,
            })
        out.append(e)
    return out


def event_request(run_id: str, tenant: str, event: RunEventIn) -> tuple[ExportTraceServiceRequest, int]:
    """The OTLP request for one streamed event of tenant `tenant`'s run and how many spans it holds
    (0 for marker events)."""
    span = event_span(RunKey(run_id, tenant), event)
    if span is None:
        return ExportTraceServiceRequest(), 0
    return spans_request([span], None, {}), 1


def spans_request(spans: list[Span], agent_id: str | None, metadata: dict[str, Any]) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    service = metadata.get("service") if isinstance(metadata.get("service"), str) else None
    resource_spans.resource.attributes.extend(_attrs({k.RESOURCE_SERVICE_NAME: service or agent_id or "agentmetrics",
                                                      "telemetry.sdk.name": "agentmetrics"}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = SCOPE_NAME
    scope_spans.spans.extend(spans)
    return request


def run_end_request(run_id: str, tenant: str, event: RunEventIn, start_ns: int | None) -> ExportTraceServiceRequest:
    """The root span a streamed `run_end` of tenant `tenant`'s run closes: from the run's earliest
    stored span to the event."""
    end = to_ns(event.timestamp)
    start = min(start_ns, end) if start_ns else end
    attrs = {k.GEN_AI_OPERATION_NAME: "invoke_agent", k.GEN_AI_AGENT_NAME: "agent", "agentmetrics.run_id": run_id}
    if event.content:
        attrs[k.GEN_AI_OUTPUT_MESSAGES] = _messages("assistant", event.content)
    root = _span(RunKey(run_id, tenant), "root", "invoke_agent agent", start, end, attrs, event.error, parent="")
    return spans_request([root], None, {})
