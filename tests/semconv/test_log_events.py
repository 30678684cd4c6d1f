"""GenAI log events (`otel_logs` records) read as events of their spans: the table's event sources
apply to them, body-carried content included, and SQL and the Python reference agree.

Observed with the real `opentelemetry-instrumentation-openai-v2` (2.4b0, util-genai 1.1b0) in
`EVENT_ONLY` mode, with or without `gen_ai_latest_experimental`: one record per model call, event
name `gen_ai.client.inference.operation.details` in the `EventName` field, an empty body, and the
call's attributes plus `gen_ai.input.messages` / `gen_ai.output.messages` as structured values
(system messages inside the input messages; no tool definitions, no per-message events).
The per-message events (`gen_ai.user.message`, `gen_ai.choice`, …, content in the body) follow
the 1.28-1.36 conventions and are exercised with hand-built records.
"""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentmortem.semconv import keys as k
from tests.support.canonical_spans import diff, load, python_spans, sql_spans
from tests.support.demo_traces import SharedIds, store_spans
from tests.support.log_rows import LogRecord, insert_logs, records_from_request

EVENT_ONLY = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY"}
LATEST = {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"}
SPAN_ONLY = {**LATEST, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"}
CONTENT = ("input_messages", "output_messages", "tool_calls", "tool_definitions", "error_type", "evaluations")


def _agreeing(store):
    """The canonical spans with log events read, after checking SQL and Python agree on each."""
    from_sql, from_python = sql_spans(store, logs=True), python_spans(store, logs=True)
    assert [s.span_id for s in from_sql] == [s.span_id for s in from_python]
    for a, b in zip(from_sql, from_python):
        assert a == b, f"SQL and Python disagree on span {a.span_name!r}:\n{diff(a, b)}"
    return from_sql


def _content(spans) -> list[tuple]:
    return [tuple(getattr(s, f) for f in CONTENT) for s in sorted(spans, key=lambda s: s.start_ns)]


@pytest.mark.parametrize("mode", [EVENT_ONLY, {**EVENT_ONLY, **LATEST}], ids=["event_only", "event_only_latest"])
def test_openai_v2_event_mode_gives_the_content_of_span_mode(store, produce, produce_with_logs, mode):
    spans, logs = produce_with_logs("openai_v2_logs", **mode)
    records = records_from_request(logs)
    assert {r.event_name for r in records} == {k.EVENT_OPERATION_DETAILS} and len(records) == 4
    load(store, spans)
    assert not any(s.input_messages for s in sql_spans(store))  # the spans alone hold no content
    insert_logs(store, records)
    from_logs = _agreeing(store)
    store.command("TRUNCATE TABLE otel_traces")
    store.command("TRUNCATE TABLE otel_logs")
    load(store, produce("openai_v2", **SPAN_ONLY))
    on_spans = sql_spans(store)
    assert _content(from_logs) == _content(on_spans)
    assert any("Paris" in s.input_messages for s in from_logs) and any(s.tool_calls for s in from_logs)


TRACE, SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
_CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}


def _one_llm_span(store) -> None:
    """One model-call span without content (its content comes from log records)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(id_generator=SharedIds(TRACE, SPAN))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("chat gpt-4o", attributes={k.GEN_AI_OPERATION_NAME: "chat"}):
        pass
    store_spans(store, list(exporter.get_finished_spans()))


def _at(i: int) -> int:
    return 1_750_000_000 * 10**9 + i


def test_per_message_events_carry_their_content_in_the_body(store):
    _one_llm_span(store)
    insert_logs(store, [
        LogRecord(TRACE, SPAN, "gen_ai.system.message", body={"content": "Be brief."}, timestamp_ns=_at(1)),
        LogRecord(TRACE, SPAN, "gen_ai.user.message", body={"content": "Weather in Paris?"}, timestamp_ns=_at(2),
                  name_as_attribute=True),
        LogRecord(TRACE, SPAN, "gen_ai.assistant.message", body={"content": None, "tool_calls": [_CALL]},
                  timestamp_ns=_at(3)),
        LogRecord(TRACE, SPAN, "gen_ai.tool.message", body={"content": "18C, sunny", "id": "call_1"},
                  timestamp_ns=_at(4)),
        LogRecord(TRACE, SPAN, "gen_ai.choice", timestamp_ns=_at(5), body={
            "index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": "Checking.", "tool_calls": [_CALL]}}),
        LogRecord(TRACE, SPAN, "gen_ai.user.message", body={"content": "Weather in Paris?"}, timestamp_ns=_at(2),
                  name_as_attribute=True),  # delivered twice: counts once
    ])
    [span] = _agreeing(store)
    assert json.loads(span.input_messages) == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": ""}, {"role": "tool", "content": "18C, sunny"}]
    assert json.loads(span.output_messages) == [{"role": "assistant", "content": "Checking."}]
    assert json.loads(span.tool_calls) == [{"id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}]


@pytest.mark.parametrize("event", [k.EVENT_EXCEPTION, k.EVENT_OPERATION_EXCEPTION, k.EVENT_INFERENCE_EXCEPTION,
                                   k.EVENT_EXECUTE_TOOL_EXCEPTION])
def test_exception_events_give_the_error(store, event):
    _one_llm_span(store)
    insert_logs(store, [LogRecord(TRACE, SPAN, event, {k.EXCEPTION_TYPE: "RateLimitError",
                                                       k.EXCEPTION_MESSAGE: "429 Too Many Requests"})])
    [span] = _agreeing(store)
    assert (span.error_type, span.error_message) == ("RateLimitError", "429 Too Many Requests")


def test_details_and_evaluation_events_equal_the_same_content_on_the_span(store):
    details = {
        k.GEN_AI_SYSTEM_INSTRUCTIONS: json.dumps([{"type": "text", "content": "Be brief."}]),
        k.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]),
        k.GEN_AI_OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": [
            {"type": "text", "content": "Hello"}, {"type": "tool_call", "id": "c1", "name": "f", "arguments": {}}]}]),
        k.GEN_AI_TOOL_DEFINITIONS: json.dumps([{"type": "function", "name": "f", "parameters": {"type": "object"}}]),
    }
    evaluation = {k.GEN_AI_EVALUATION_NAME: "relevance", k.GEN_AI_EVALUATION_SCORE_VALUE: "0.25",
                  k.GEN_AI_EVALUATION_SCORE_LABEL: "bad", k.GEN_AI_EVALUATION_EXPLANATION: "off topic"}
    _one_llm_span(store)
    insert_logs(store, [LogRecord(TRACE, SPAN, k.EVENT_OPERATION_DETAILS, details),
                        LogRecord(TRACE, SPAN, k.EVENT_EVALUATION_RESULT, evaluation, timestamp_ns=_at(9))])
    [from_logs] = _agreeing(store)
    store.command("TRUNCATE TABLE otel_traces")
    exporter = InMemorySpanExporter()
    provider = TracerProvider(id_generator=SharedIds("1" * 32, "2" * 16))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span(
            "chat gpt-4o", attributes={k.GEN_AI_OPERATION_NAME: "chat", **details}) as span:
        span.add_event(k.EVENT_EVALUATION_RESULT, evaluation)
    store_spans(store, list(exporter.get_finished_spans()))
    [on_span] = sql_spans(store)
    assert _content([from_logs]) == _content([on_span])
    assert json.loads(from_logs.input_messages)[0] == {"role": "system", "content": "Be brief."}
    assert json.loads(from_logs.evaluations)[0]["score"] == 0.25
