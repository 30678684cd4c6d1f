"""Spans of the GenAI conventions as semantic-conventions-genai defines them, next to the older forms.

Inference (`gen_ai.client.inference` spans: `{operation} {model}`), agents (remote and in-process
`invoke_agent`, `create_agent`, `plan`), workflows, and memory operations, each by
`gen_ai.operation.name` and by span name alone; SQL and Python agree on every span (the `loaded`
fixture checks it).
"""

from __future__ import annotations

import json

import pytest
from opentelemetry.trace import SpanKind, Tracer

from tests.support import conversation as sc
from tests.support.conversation_checks import handmade

MEMORY_RECORDS = [{"id": "mem_1", "content": "User prefers dark mode", "score": 0.95},
                  {"content": {"preference": "vegetarian"}, "metadata": {"source": "profile"}}]
MEMORY_WRITES = ("create_memory", "update_memory", "upsert_memory", "delete_memory", "create_memory_store",
                 "delete_memory_store")


def _spans(tracer: Tracer) -> None:
    with tracer.start_as_current_span("invoke_workflow trip_planner", attributes={
            "gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "trip_planner"}):
        with tracer.start_as_current_span("create_agent researcher", attributes={
                "gen_ai.operation.name": "create_agent", "gen_ai.agent.name": "researcher",
                "gen_ai.provider.name": "openai"}):
            pass
        with tracer.start_as_current_span("invoke_agent researcher", kind=SpanKind.INTERNAL, attributes={
                "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher",
                "gen_ai.agent.id": "agent_7", "gen_ai.conversation.id": "conv_1"}):
            with tracer.start_as_current_span("plan researcher", attributes={
                    "gen_ai.operation.name": "plan", "gen_ai.agent.name": "researcher"}):
                pass
            with tracer.start_as_current_span(f"chat {sc.MODEL}", kind=SpanKind.CLIENT, attributes={
                    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": sc.MODEL, "gen_ai.usage.input_tokens": 120,
                    "gen_ai.usage.output_tokens": 30, "gen_ai.usage.cache_read.input_tokens": 100,
                    "gen_ai.usage.reasoning.output_tokens": 10, "gen_ai.response.finish_reasons": ("stop",),
                    "gen_ai.request.stream": True, "gen_ai.response.time_to_first_chunk": 0.5}):
                pass
            with tracer.start_as_current_span("search_memory user-prefs", attributes={
                    "gen_ai.operation.name": "search_memory", "gen_ai.memory.store.id": "user-prefs",
                    "gen_ai.memory.query.text": "preferences", "gen_ai.memory.records": json.dumps(MEMORY_RECORDS)}):
                pass
            for op in MEMORY_WRITES:
                with tracer.start_as_current_span(f"{op} user-prefs", attributes={
                        "gen_ai.operation.name": op, "gen_ai.memory.store.id": "user-prefs"}):
                    pass
    # the same operations told by span name alone (an instrumentation that sets no operation attribute)
    for name in ("plan writer", "search_memory notes", "create_agent writer", "invoke_workflow nightly"):
        tracer.start_span(name).end()


@pytest.fixture
def spans(loaded):
    return {s.span_name: s for s in loaded(handmade(_spans))}


def test_inference_span(spans):
    span = spans[f"chat {sc.MODEL}"]
    assert (span.category, span.operation, span.provider, span.request_model, span.convention) == (
        "llm", "chat", "openai", sc.MODEL, "otel_genai")
    assert (span.input_tokens, span.output_tokens, span.cached_tokens, span.reasoning_tokens) == (120, 30, 100, 10)
    assert span.finish_reasons == ("stop",)


def test_workflow_and_agents(spans):
    workflow = spans["invoke_workflow trip_planner"]
    assert (workflow.category, workflow.operation, workflow.agent_name) == ("workflow", "invoke_workflow",
                                                                             "trip_planner")
    created = spans["create_agent researcher"]
    assert (created.category, created.operation, created.agent_name) == ("agent", "create_agent", "researcher")
    internal = spans["invoke_agent researcher"]
    assert (internal.category, internal.span_kind, internal.agent_name, internal.agent_id,
            internal.conversation_id) == ("agent", "Internal", "researcher", "agent_7", "conv_1")
    plan = spans["plan researcher"]
    assert (plan.category, plan.operation, plan.agent_name) == ("agent", "plan", "researcher")


def test_memory_search_is_retrieval_with_its_records_as_documents(spans):
    span = spans["search_memory user-prefs"]
    assert (span.category, span.operation) == ("retrieval", "search_memory")
    assert json.loads(span.retrieved_documents) == [
        {"id": "mem_1", "content": "User prefers dark mode", "score": 0.95},
        {"id": "", "content": '{"preference":"vegetarian"}', "score": None}]


@pytest.mark.parametrize("op", MEMORY_WRITES)
def test_memory_writes_are_bookkeeping(spans, op):
    span = spans[f"{op} user-prefs"]
    assert (span.category, span.operation, span.retrieved_documents) == ("other", op, "")


@pytest.mark.parametrize(("name", "category", "agent_name"), [
    ("plan writer", "agent", "writer"),
    ("search_memory notes", "retrieval", ""),
    ("create_agent writer", "agent", "writer"),
    ("invoke_workflow nightly", "workflow", "nightly"),
])
def test_span_name_alone(spans, name, category, agent_name):
    span = spans[name]
    assert (span.category, span.convention, span.agent_name) == (category, "", agent_name)
