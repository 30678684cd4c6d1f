"""Assertions shared by the library tests: canonical spans against the scripted scenario."""

from __future__ import annotations

import json
from collections.abc import Callable

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from agentmortem.semconv.model import CanonicalSpan
from tests.support import conversation as sc


def of_category(spans: list[CanonicalSpan], category: str) -> list[CanonicalSpan]:
    """Spans of one category, in start order."""
    return sorted((s for s in spans if s.category == category), key=lambda s: s.start_ns)


def messages(text: str) -> list[dict]:
    return json.loads(text) if text else []


def assert_tokens(span: CanonicalSpan, turn: dict, cached: bool = True) -> None:
    assert (span.input_tokens, span.output_tokens) == (turn["input"], turn["output"])
    if cached:
        assert span.cached_tokens == turn["cached"]


def assert_tool_call_turn(span: CanonicalSpan, call_id: bool = True) -> None:
    """The first model turn: it asked for the weather tool with the scripted arguments."""
    calls = json.loads(span.tool_calls)
    assert [c["name"] for c in calls] == [sc.TOOL_NAME]
    assert json.loads(calls[0]["arguments"]) == sc.TOOL_ARGS
    if call_id:
        assert calls[0]["id"] == sc.TOOL_CALL_ID
    assert {"role": "user", "content": sc.USER_PROMPT} in messages(span.input_messages)


def assert_final_turn(span: CanonicalSpan) -> None:
    """The second model turn: it saw the tool result and answered."""
    assert span.tool_calls == ""
    assert messages(span.output_messages) == [{"role": "assistant", "content": sc.FINAL_ANSWER}]
    assert sc.TOOL_RESULT in [m["content"] for m in messages(span.input_messages)]


def assert_tool_definitions(span: CanonicalSpan) -> None:
    defs = json.loads(span.tool_definitions)
    assert [(d["name"], d["description"]) for d in defs] == [(sc.TOOL_NAME, sc.TOOL_DESCRIPTION)]
    assert defs[0]["parameters"]["properties"] == sc.TOOL_PARAMETERS["properties"]


def assert_agent_loop(spans: list[CanonicalSpan], cached: bool = True) -> tuple[CanonicalSpan, ...]:
    """One agent, two model turns, one tool execution, with the scripted values."""
    (agent,) = of_category(spans, "agent")
    first, final = of_category(spans, "llm")
    (tool,) = of_category(spans, "tool")
    assert agent.agent_name == sc.AGENT_NAME
    assert first.request_model == sc.MODEL
    assert_tokens(first, sc.TOOL_TURN_USAGE, cached)
    assert_tokens(final, sc.FINAL_TURN_USAGE, cached)
    assert_tool_call_turn(first)
    assert_final_turn(final)
    assert_tool_definitions(first)
    assert tool.tool_name == sc.TOOL_NAME
    assert tool.tool_result == sc.TOOL_RESULT
    assert {s.trace_id for s in spans} == {agent.trace_id}
    assert {first.parent_span_id, final.parent_span_id, tool.parent_span_id} == {agent.span_id}
    return agent, first, final, tool


def handmade(build: Callable[[Tracer], None], service: str = "") -> bytes:
    """Serialized spans that `build` creates with a plain SDK tracer (for spec-shaped spans), of
    service `service` when given (else the SDK's default name)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service})) if service else TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    build(provider.get_tracer("handmade"))
    provider.force_flush()
    return encode_spans(exporter.get_finished_spans()).SerializeToString()


def unknown_model_span() -> bytes:
    """One chat span of a model no price table knows (and an attribute no convention maps)."""
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "acme", "gen_ai.request.model": sc.UNKNOWN_MODEL,
             "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 10, "gen_ai.mystery.flag": "on"}
    return handmade(lambda tracer: tracer.start_span(f"chat {sc.UNKNOWN_MODEL}", attributes=attrs).end())
