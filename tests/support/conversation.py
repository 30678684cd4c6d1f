"""The one scripted conversation every producer plays, so tests compare against known values.

The fake models and the OpenAI stub answer with these values; assertions read them
from here, never from the spans under test.
"""

from __future__ import annotations

import json

MODEL = "gpt-4o-mini"  # priced by genai-prices
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
UNKNOWN_MODEL = "acme-unpriced-llm-1"  # no price anywhere
ERROR_MODEL = "broken-model"  # the stub answers 500 for it

USER_PROMPT = "What is the weather in Paris?"
SYSTEM_PROMPT = "You are a weather assistant."
TOOL_NAME = "get_weather"
TOOL_DESCRIPTION = "Current weather for a city."
TOOL_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
TOOL_ARGS = {"city": "Paris"}
TOOL_ARGS_JSON = json.dumps(TOOL_ARGS, separators=(",", ":"))
TOOL_CALL_ID = "call_weather_1"
TOOL_RESULT = "sunny, 21C"
FINAL_ANSWER = "It is sunny and 21C in Paris."
# a chat turn whose messages are lists of content parts (text + image)
MULTIPART_QUESTION = ("What does this chart show?", "Answer in one sentence.")
MULTIPART_IMAGE_URL = "https://example.com/chart.png"
MULTIPART_ANSWER = ("Sales doubled in Q3.", "Q4 is flat.")
STREAM_ANSWER = "Streaming hello from the stub."

# usage the stub / fake models report, per turn
TOOL_TURN_USAGE = {"input": 52, "output": 17, "cached": 12, "reasoning": 0}
FINAL_TURN_USAGE = {"input": 81, "output": 11, "cached": 0, "reasoning": 0}
STREAM_USAGE = {"input": 9, "output": 6, "cached": 0, "reasoning": 0}
ERROR_MESSAGE = "stub says the model is down"


def tool_result_for(args: dict) -> str:
    """What the tool returns for its arguments (the producers call this)."""
    return TOOL_RESULT if args.get("city") == "Paris" else "unknown city"

AGENT_NAME = "weather_agent"
SESSION_ID = "session-42"
USER_ID = "user-7"


def as_json() -> str:
    """The scenario's constants as JSON, for producers in other languages."""
    return json.dumps({k: v for k, v in globals().items() if k.isupper()})
