"""Spans from OpenLLMetry's `opentelemetry-instrumentation-openai` against the stub."""

from __future__ import annotations

from opentelemetry.instrumentation.openai import OpenAIInstrumentor

from tests.support.producers.capture import dump, setup
from tests.support.producers.openai_calls import run_calls

if __name__ == "__main__":
    provider, exporter = setup("openllmetry-openai-app")
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    run_calls()
    dump(provider, exporter)
