"""Spans from pydantic-ai's own instrumentation: an agent with a tool on a scripted `FunctionModel`."""

from __future__ import annotations

from pydantic_ai import Agent
from pydantic_ai.capabilities import Instrumentation
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.usage import RequestUsage

from tests.support import conversation as sc
from tests.support.producers.capture import dump, setup

AGENT_NAME = "weather_agent"


def _usage(turn: dict) -> RequestUsage:
    return RequestUsage(input_tokens=turn["input"], output_tokens=turn["output"], cache_read_tokens=turn["cached"])


def scripted_model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """First turn: call the tool; once its result is in the history: the final answer."""
    returned = [p for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)]
    if returned:
        return ModelResponse(parts=[TextPart(sc.FINAL_ANSWER)], usage=_usage(sc.FINAL_TURN_USAGE),
                             model_name=sc.MODEL)
    call = ToolCallPart(tool_name=sc.TOOL_NAME, args=sc.TOOL_ARGS_JSON, tool_call_id=sc.TOOL_CALL_ID)
    return ModelResponse(parts=[call], usage=_usage(sc.TOOL_TURN_USAGE), model_name=sc.MODEL)


if __name__ == "__main__":
    provider, exporter = setup("pydantic-ai-app")
    agent = Agent(
        FunctionModel(scripted_model, model_name=sc.MODEL),
        name=AGENT_NAME,
        system_prompt=sc.SYSTEM_PROMPT,
        capabilities=[Instrumentation(InstrumentationSettings(tracer_provider=provider))],
    )

    @agent.tool_plain(name=sc.TOOL_NAME, description=sc.TOOL_DESCRIPTION)
    def get_weather(city: str) -> str:
        return sc.tool_result_for({"city": city})

    agent.run_sync(sc.USER_PROMPT)
    dump(provider, exporter)
