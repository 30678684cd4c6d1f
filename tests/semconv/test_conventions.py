"""Conventions whose libraries do not run here, as spec-shaped spans built with the OTel SDK.

GenAI ≤1.36 (indexed attributes, content events, per-message events), the current
operation-details and evaluation events, exception events, OpenInference retrieval,
MLflow and LangSmith. Each span goes through the real OTLP encoder and the collector's
conversion, so it reaches ClickHouse exactly as an exporter would send it.
"""

from __future__ import annotations

import json

from opentelemetry.trace import Tracer

from tests.support import conversation as sc
from tests.support.conversation_checks import handmade, messages

OLD_INDEXED = {
    "gen_ai.system": "openai", "llm.request.type": "chat", "gen_ai.request.model": sc.MODEL,
    **{f"gen_ai.prompt.{i}.role": "user" for i in range(12)},
    **{f"gen_ai.prompt.{i}.content": f"message {i}" for i in range(12)},
    "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.finish_reason": "tool_calls",
    "gen_ai.completion.0.tool_calls.0.id": sc.TOOL_CALL_ID, "gen_ai.completion.0.tool_calls.0.name": sc.TOOL_NAME,
    "gen_ai.completion.0.tool_calls.0.arguments": sc.TOOL_ARGS_JSON,
    "gen_ai.usage.prompt_tokens": 52, "gen_ai.usage.completion_tokens": 17, "llm.usage.total_tokens": 69,
    "llm.request.functions.0.name": sc.TOOL_NAME, "llm.request.functions.0.description": sc.TOOL_DESCRIPTION,
    "llm.request.functions.0.parameters": json.dumps(sc.TOOL_PARAMETERS),
}
TRICKY = 'quote " slash / back\\slash\nnewline\ttab é 😀 <tag> & \u2028'


def _spans(tracer: Tracer) -> None:
    with tracer.start_as_current_span("openai.chat", attributes=OLD_INDEXED):
        pass
    with tracer.start_as_current_span("chat old-events", attributes={"gen_ai.system": "openai"}) as span:
        span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps([{"role": "user", "content": TRICKY}])})
        span.add_event("gen_ai.content.completion", {"gen_ai.completion": json.dumps(
            [{"role": "assistant", "content": sc.FINAL_ANSWER}])})
    with tracer.start_as_current_span("chat per-message-events", attributes={"gen_ai.operation.name": "chat"}) as span:
        span.add_event("gen_ai.system.message", {"content": sc.SYSTEM_PROMPT})
        span.add_event("gen_ai.user.message", {"content": sc.USER_PROMPT})
    with tracer.start_as_current_span("chat details", attributes={"gen_ai.operation.name": "chat"}) as span:
        span.add_event("gen_ai.client.inference.operation.details", {
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": TRICKY}]}]),
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
                {"type": "reasoning", "content": "thinking..."},
                {"type": "tool_call", "id": "c1", "name": "lookup", "arguments": {"q": "a/b", "n": 1.5}}]}]),
        })
        for name, score, label in (("relevance", 0.25, "bad"), ("toxicity", 1, "ok")):
            span.add_event("gen_ai.evaluation.result", {
                "gen_ai.evaluation.name": name, "gen_ai.evaluation.score.value": score,
                "gen_ai.evaluation.score.label": label, "gen_ai.evaluation.explanation": f"{name} explained"})
        span.add_event("exception", {"exception.type": "RateLimitError", "exception.message": "429 slow down"})
    with tracer.start_as_current_span("retrieve", attributes={
        "openinference.span.kind": "RETRIEVER",
        **{f"retrieval.documents.{i}.document.{key}": value for i, doc in enumerate(
            [{"id": "d1", "content": "Paris is in France", "score": 0.9}, {"id": "d2", "content": "x", "score": 0.1}])
           for key, value in doc.items()},
    }):
        pass
    with tracer.start_as_current_span("ChatOpenAI", attributes={
        "mlflow.spanType": "CHAT_MODEL", "mlflow.llm.model": sc.MODEL, "mlflow.llm.provider": "openai",
        "mlflow.spanInputs": json.dumps({"messages": [{"role": "user", "content": sc.USER_PROMPT}]}),
        "mlflow.spanOutputs": json.dumps({"choices": [{"message": {"role": "assistant", "content": sc.FINAL_ANSWER}}]}),
        "mlflow.chat.tokenUsage": json.dumps({"input_tokens": 52, "output_tokens": 17, "total_tokens": 69}),
        "mlflow.llm.cost": json.dumps({"input_cost": 0.1, "output_cost": 0.2, "total_cost": 0.3}),
        "mlflow.chat.tools": json.dumps([{"type": "function", "function": {
            "name": sc.TOOL_NAME, "description": sc.TOOL_DESCRIPTION, "parameters": sc.TOOL_PARAMETERS}}]),
    }):
        pass
    with tracer.start_as_current_span("ChatModel", attributes={
        "langsmith.span.kind": "llm", "langsmith.metadata.thread_id": "thread-9",
        "gen_ai.prompt": json.dumps({"messages": [{"role": "user", "content": sc.USER_PROMPT}]}),
        "gen_ai.usage.input_tokens": 5,
    }):
        pass
    with tracer.start_as_current_span("execute_tool web_search"):
        pass


def _build() -> bytes:
    return handmade(_spans)


def _by_name(spans):
    return {s.span_name: s for s in spans}


def test_genai_1_36_indexed_attributes(loaded):
    span = _by_name(loaded(_build()))["openai.chat"]
    assert (span.category, span.provider, span.operation) == ("llm", "openai", "chat")
    assert [m["content"] for m in messages(span.input_messages)] == [f"message {i}" for i in range(12)]
    assert json.loads(span.tool_calls) == [{"id": sc.TOOL_CALL_ID, "name": sc.TOOL_NAME, "arguments": sc.TOOL_ARGS_JSON}]
    assert (span.input_tokens, span.output_tokens, span.total_tokens) == (52, 17, 69)
    assert span.finish_reasons == ("tool_calls",)
    assert json.loads(span.tool_definitions)[0]["parameters"] == sc.TOOL_PARAMETERS


def test_content_events_old_and_per_message(loaded):
    spans = _by_name(loaded(_build()))
    old = spans["chat old-events"]
    assert messages(old.input_messages) == [{"role": "user", "content": TRICKY}]
    assert messages(old.output_messages) == [{"role": "assistant", "content": sc.FINAL_ANSWER}]
    per_message = spans["chat per-message-events"]
    assert messages(per_message.input_messages) == [
        {"role": "system", "content": sc.SYSTEM_PROMPT}, {"role": "user", "content": sc.USER_PROMPT}]


def test_operation_details_evaluations_and_exception_events(loaded):
    span = _by_name(loaded(_build()))["chat details"]
    assert messages(span.input_messages) == [{"role": "user", "content": TRICKY}]
    assert messages(span.output_messages) == [{"role": "assistant", "content": ""}]  # reasoning is not text
    (call,) = json.loads(span.tool_calls)
    assert (call["id"], call["name"], json.loads(call["arguments"])) == ("c1", "lookup", {"q": "a/b", "n": 1.5})
    assert json.loads(span.evaluations) == [
        {"name": "relevance", "score": 0.25, "label": "bad", "explanation": "relevance explained"},
        {"name": "toxicity", "score": 1, "label": "ok", "explanation": "toxicity explained"}]
    assert (span.error_type, span.error_message) == ("RateLimitError", "429 slow down")


def test_openinference_retrieval_documents(loaded):
    span = _by_name(loaded(_build()))["retrieve"]
    assert span.category == "retrieval"
    assert json.loads(span.retrieved_documents) == [
        {"id": "d1", "content": "Paris is in France", "score": 0.9}, {"id": "d2", "content": "x", "score": 0.1}]


def test_mlflow(loaded):
    span = _by_name(loaded(_build()))["ChatOpenAI"]
    assert (span.category, span.convention, span.provider, span.request_model) == ("llm", "mlflow", "openai", sc.MODEL)
    assert (span.input_tokens, span.output_tokens, span.total_tokens, span.cost_usd) == (52, 17, 69, 0.3)
    assert messages(span.input_messages) == [{"role": "user", "content": sc.USER_PROMPT}]
    assert messages(span.output_messages) == [{"role": "assistant", "content": sc.FINAL_ANSWER}]
    assert [d["name"] for d in json.loads(span.tool_definitions)] == [sc.TOOL_NAME]


def test_langsmith(loaded):
    span = _by_name(loaded(_build()))["ChatModel"]
    assert (span.category, span.convention, span.conversation_id) == ("llm", "langsmith", "thread-9")
    assert messages(span.input_messages) == [{"role": "user", "content": sc.USER_PROMPT}]


def test_span_name_is_the_last_resort(loaded):
    span = _by_name(loaded(_build()))["execute_tool web_search"]
    assert (span.category, span.tool_name, span.convention) == ("tool", "web_search", "")
