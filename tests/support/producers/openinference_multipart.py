"""Spans from `openinference-instrumentation-langchain` for a chat turn whose messages carry content parts.

The user message mixes text and an image part, and the model answers with text parts;
OpenInference records these as `llm.*_messages.N.message.contents.M.message_content.*`.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from openinference.instrumentation.langchain import LangChainInstrumentor

from tests.support import conversation as sc
from tests.support.producers.capture import dump, setup
from tests.support.producers.langchain_agent import ToolCallingFakeChatModel

if __name__ == "__main__":
    provider, exporter = setup("openinference-multipart-app")
    LangChainInstrumentor().instrument(tracer_provider=provider)
    answer = AIMessage(content=[{"type": "text", "text": part} for part in sc.MULTIPART_ANSWER])
    model = ToolCallingFakeChatModel(messages=iter([answer]))
    question = [{"type": "text", "text": sc.MULTIPART_QUESTION[0]},
                {"type": "image_url", "image_url": {"url": sc.MULTIPART_IMAGE_URL}},
                {"type": "text", "text": sc.MULTIPART_QUESTION[1]}]
    model.invoke([SystemMessage(sc.SYSTEM_PROMPT), HumanMessage(content=question)])
    dump(provider, exporter)
