"""A LangChain tool-calling agent loop on a fake chat model, shared by the LangChain instrumentations."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from tests.support import conversation as sc


class ToolCallingFakeChatModel(GenericFakeChatModel):
    """`GenericFakeChatModel` whose `bind_tools` keeps the tools (the base class refuses)."""

    model_name: str = sc.MODEL

    def bind_tools(self, tools: list[Any], **kwargs: Any):
        from langchain_core.utils.function_calling import convert_to_openai_tool

        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    @property
    def _llm_type(self) -> str:
        return "openai"  # lets instrumentations infer a provider


@tool(sc.TOOL_NAME, description=sc.TOOL_DESCRIPTION)
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return sc.tool_result_for({"city": city})


def _usage(turn: dict) -> dict:
    return {"input_tokens": turn["input"], "output_tokens": turn["output"],
            "total_tokens": turn["input"] + turn["output"],
            "input_token_details": {"cache_read": turn["cached"]}}


def fake_model() -> ToolCallingFakeChatModel:
    """The model's two scripted turns: a tool call, then the final answer."""
    turns = iter([
        AIMessage(content="", tool_calls=[{"name": sc.TOOL_NAME, "args": sc.TOOL_ARGS, "id": sc.TOOL_CALL_ID}],
                  usage_metadata=_usage(sc.TOOL_TURN_USAGE),
                  response_metadata={"model_name": sc.RESPONSE_MODEL, "finish_reason": "tool_calls"}),
        AIMessage(content=sc.FINAL_ANSWER, usage_metadata=_usage(sc.FINAL_TURN_USAGE),
                  response_metadata={"model_name": sc.RESPONSE_MODEL, "finish_reason": "stop"}),
    ])
    return ToolCallingFakeChatModel(messages=turns)


def _agent_loop(question: str) -> str:
    model = fake_model().bind_tools([get_weather])
    messages: list = [SystemMessage(sc.SYSTEM_PROMPT), HumanMessage(question)]
    for _ in range(4):
        reply = model.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return str(reply.content)
        for call in reply.tool_calls:
            messages.append(get_weather.invoke(call))  # a ToolCall in, a ToolMessage out
    return ""


def run_agent() -> str:
    """Run the loop inside a named runnable so the trace has an agent/chain root."""
    return RunnableLambda(_agent_loop, name="weather_agent").invoke(sc.USER_PROMPT)
