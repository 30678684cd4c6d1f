"""Spans from the official `opentelemetry-instrumentation-openai-v2` (mode set by the environment)."""

from __future__ import annotations

from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

from tests.support.producers.capture import dump, setup
from tests.support.producers.openai_calls import run_calls

if __name__ == "__main__":
    provider, exporter = setup("openai-v2-app")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    run_calls()
    dump(provider, exporter)
