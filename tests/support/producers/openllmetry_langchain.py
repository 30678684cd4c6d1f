"""Spans from OpenLLMetry's `opentelemetry-instrumentation-langchain` on the fake-model agent loop."""

from __future__ import annotations

from opentelemetry.instrumentation.langchain import LangchainInstrumentor

from tests.support.producers.capture import dump, setup
from tests.support.producers.langchain_agent import run_agent

if __name__ == "__main__":
    provider, exporter = setup("openllmetry-langchain-app")
    LangchainInstrumentor().instrument(tracer_provider=provider)
    run_agent()
    dump(provider, exporter)
