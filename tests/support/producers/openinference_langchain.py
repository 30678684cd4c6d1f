"""Spans from `openinference-instrumentation-langchain` on the fake-model agent loop."""

from __future__ import annotations

from openinference.instrumentation.langchain import LangChainInstrumentor

from tests.support.producers.capture import dump, setup
from tests.support.producers.langchain_agent import run_agent

if __name__ == "__main__":
    provider, exporter = setup("openinference-langchain-app")
    LangChainInstrumentor().instrument(tracer_provider=provider)
    run_agent()
    dump(provider, exporter)
