"""Genuine spans from real instrumentation libraries, mapped to canonical fields.

Every producer plays the scripted conversation of `scenario`; each test checks the
canonical values equal what the fake model / stub returned. The `loaded` fixture also
checks that SQL and Python agree on every span.
"""

from __future__ import annotations

import json

from tests.support import conversation as sc
from tests.support.conversation_checks import (
    assert_agent_loop,
    assert_final_turn,
    assert_tokens,
    assert_tool_call_turn,
    assert_tool_definitions,
    messages,
    of_category,
)

LATEST = {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
          "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"}


def _openai_turns(spans):
    """The four stub calls in order: tool call, final answer, stream, error."""
    llm = of_category(spans, "llm")
    assert len(llm) == 4 and len(spans) == 4
    return llm


def _assert_openai_common(spans, convention: str = "otel_genai"):
    tool_turn, final, stream, error = _openai_turns(spans)
    for span in spans:
        assert (span.provider, span.operation, span.convention) == ("openai", "chat", convention)
    assert (tool_turn.request_model, tool_turn.response_model) == (sc.MODEL, sc.RESPONSE_MODEL)
    assert_tokens(tool_turn, sc.TOOL_TURN_USAGE, cached=False)
    assert_tokens(final, sc.FINAL_TURN_USAGE, cached=False)
    assert_tokens(stream, sc.STREAM_USAGE, cached=False)
    assert final.finish_reasons == ("stop",)
    assert (error.request_model, error.status_code) == (sc.ERROR_MODEL, "Error")
    assert "InternalServerError" in error.error_type
    assert sc.ERROR_MESSAGE in error.error_message
    assert error.input_tokens is None
    return tool_turn, final, stream, error


def test_openai_v2_default_mode_has_no_content(produce, loaded):
    spans = loaded(produce("openai_v2"))
    tool_turn, final, stream, _ = _assert_openai_common(spans)
    assert tool_turn.finish_reasons == ("tool_calls",)
    assert all(s.input_messages == s.output_messages == s.tool_calls == "" for s in spans)


def test_openai_v2_latest_experimental_with_content(produce, loaded):
    spans = loaded(produce("openai_v2", **LATEST))
    tool_turn, final, stream, error = _assert_openai_common(spans)
    assert_tool_call_turn(tool_turn)
    assert messages(tool_turn.input_messages)[0] == {"role": "system", "content": sc.SYSTEM_PROMPT}
    assert_final_turn(final)
    assert messages(stream.output_messages) == [{"role": "assistant", "content": sc.STREAM_ANSWER}]


def test_openllmetry_openai(produce, loaded):
    spans = loaded(produce("openllmetry_openai"))
    tool_turn, final, stream, _ = _assert_openai_common(spans)
    assert tool_turn.finish_reasons == ("tool_call",)  # OpenLLMetry's normalisation
    assert tool_turn.cached_tokens == sc.TOOL_TURN_USAGE["cached"]
    assert tool_turn.total_tokens == sc.TOOL_TURN_USAGE["input"] + sc.TOOL_TURN_USAGE["output"]
    assert_tool_call_turn(tool_turn)
    assert_tool_definitions(tool_turn)
    assert_final_turn(final)
    assert messages(stream.output_messages) == [{"role": "assistant", "content": sc.STREAM_ANSWER}]


def test_openinference_langchain_agent_loop(produce, loaded):
    spans = loaded(produce("openinference_langchain"))
    agent, first, final, tool = assert_agent_loop(spans, cached=False)
    assert first.cached_tokens == sc.TOOL_TURN_USAGE["cached"]
    assert {s.convention for s in spans} == {"openinference"}
    assert first.total_tokens == sc.TOOL_TURN_USAGE["input"] + sc.TOOL_TURN_USAGE["output"]
    assert tool.tool_arguments == sc.TOOL_ARGS["city"]  # OpenInference records LangChain's input_str
    assert messages(agent.input_messages) == [{"role": "user", "content": sc.USER_PROMPT}]
    assert messages(agent.output_messages) == [{"role": "assistant", "content": sc.FINAL_ANSWER}]


def test_openllmetry_langchain_agent_loop(produce, loaded):
    spans = loaded(produce("openllmetry_langchain"))
    agent, first, final, tool = assert_agent_loop(spans)
    assert {s.convention for s in spans} == {"traceloop"}
    assert json.loads(tool.tool_arguments) == sc.TOOL_ARGS
    # OpenLLMetry writes request model "unknown" for this model class; the LangChain
    # association property carries the real one.
    assert final.request_model == sc.MODEL
    assert messages(first.input_messages)[0] == {"role": "system", "content": sc.SYSTEM_PROMPT}


def test_pydantic_ai_agent(produce, loaded):
    spans = loaded(produce("pydantic_ai_agent"))
    agent, first, final, tool = assert_agent_loop(spans, cached=False)
    assert first.cached_tokens == sc.TOOL_TURN_USAGE["cached"]
    assert {s.convention for s in spans} == {"logfire"}
    assert json.loads(tool.tool_arguments) == sc.TOOL_ARGS
    assert tool.tool_call_id == sc.TOOL_CALL_ID
    assert agent.conversation_id and {s.conversation_id for s in spans} == {agent.conversation_id}
    assert messages(agent.output_messages) == [{"role": "assistant", "content": sc.FINAL_ANSWER}]
    assert first.cost_usd is not None and first.cost_usd > 0  # pydantic-ai's own operation.cost


def test_vercel_ai_sdk(vercel_spans, loaded):
    spans = loaded(vercel_spans)
    agent, first, final, tool = assert_agent_loop(spans)
    assert {s.convention for s in spans} == {"vercel_ai"}
    assert json.loads(tool.tool_arguments) == sc.TOOL_ARGS
    assert tool.tool_call_id == sc.TOOL_CALL_ID
    assert (first.conversation_id, first.user_id) == (sc.SESSION_ID, sc.USER_ID)
    assert first.response_model == sc.RESPONSE_MODEL
    assert first.finish_reasons == ("tool-calls",)
    # the outer span repeats its steps' usage (the analyzer sums leaf LLM spans only)
    assert agent.input_tokens == sc.TOOL_TURN_USAGE["input"] + sc.FINAL_TURN_USAGE["input"]


def test_openinference_message_content_parts(produce, loaded):
    """Messages recorded as content parts (`…message.contents.M.message_content.text`) keep their text."""
    [llm] = loaded(produce("openinference_multipart"))
    assert llm.category == "llm" and llm.convention == "openinference"
    assert messages(llm.input_messages) == [
        {"role": "system", "content": sc.SYSTEM_PROMPT},
        {"role": "user", "content": "\n".join(sc.MULTIPART_QUESTION)},  # the image part has no text
    ]
    assert messages(llm.output_messages) == [{"role": "assistant", "content": "\n".join(sc.MULTIPART_ANSWER)}]
