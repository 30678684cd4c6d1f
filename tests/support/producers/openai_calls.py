"""The OpenAI client script shared by the OpenAI instrumentations: a tool loop, a stream, an error."""

from __future__ import annotations

import json
import os

import openai

from tests.support import conversation as sc

TOOLS = [{
    "type": "function",
    "function": {"name": sc.TOOL_NAME, "description": sc.TOOL_DESCRIPTION, "parameters": sc.TOOL_PARAMETERS},
}]


def run_calls() -> None:
    """Drive the stub at $STUB_URL: chat with a tool call and its result, a streamed chat, a failing chat."""
    client = openai.OpenAI(base_url=os.environ["STUB_URL"], api_key="test-key", max_retries=0)
    messages: list = [
        {"role": "system", "content": sc.SYSTEM_PROMPT},
        {"role": "user", "content": sc.USER_PROMPT},
    ]
    first = client.chat.completions.create(model=sc.MODEL, messages=messages, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    result = sc.tool_result_for(json.loads(call.function.arguments))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    client.chat.completions.create(model=sc.MODEL, messages=messages, tools=TOOLS)
    stream = client.chat.completions.create(
        model=sc.MODEL, messages=[{"role": "user", "content": "stream please"}], stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    try:
        client.chat.completions.create(model=sc.ERROR_MODEL, messages=[{"role": "user", "content": "hi"}])
    except openai.InternalServerError:
        pass
