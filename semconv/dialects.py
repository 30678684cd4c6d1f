"""Which version of the GenAI conventions a service speaks, told by names only one version uses.

A marker is a name (attribute key, span or log event name, `gen_ai.operation.name` value, metric
name) that belongs to one version range of the OpenTelemetry GenAI conventions. The coverage
report collects the names a service sends per signal and `versions_seen` turns them into version
labels. Markers are presence-only: a service that sends both old and new names (an
instrumentation's dual-emit switch) shows both versions, which is what a reader needs to know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentmortem.semconv import keys as k
from agentmortem.semconv.metrics import GENAI_REPO, METRICS

Signal = Literal["traces", "logs", "metrics"]
MarkerKind = Literal["key", "event", "operation", "metric"]

V_1_26 = "otel_genai ≤1.26"  # gen_ai.usage.prompt_tokens / completion_tokens, content events
V_1_36 = "otel_genai ≤1.36"  # gen_ai.system (replaced by gen_ai.provider.name in 1.37)
V_MESSAGES = "otel_genai 1.28–1.36"  # one event per message
V_1_37 = "otel_genai 1.37+"  # gen_ai.provider.name, message attributes, operation-details event
V_GENAI_REPO = "otel_genai semconv-genai 0.1"  # names only the dedicated repository defines


@dataclass(frozen=True)
class Marker:
    version: str
    kind: MarkerKind
    name: str
    signals: tuple[Signal, ...] = ("traces",)


_EVENT_SIGNALS: tuple[Signal, ...] = ("traces", "logs")  # span events and log records alike

MARKERS: tuple[Marker, ...] = (
    Marker(V_1_26, "key", k.GEN_AI_USAGE_PROMPT_TOKENS),
    Marker(V_1_26, "key", k.GEN_AI_USAGE_COMPLETION_TOKENS),
    Marker(V_1_26, "event", k.EVENT_CONTENT_PROMPT, _EVENT_SIGNALS),
    Marker(V_1_26, "event", k.EVENT_CONTENT_COMPLETION, _EVENT_SIGNALS),
    Marker(V_1_36, "key", k.GEN_AI_SYSTEM),
    *(Marker(V_MESSAGES, "event", name, _EVENT_SIGNALS) for name in (*k.EVENT_MESSAGE_ROLES, k.EVENT_CHOICE)),
    Marker(V_1_37, "key", k.GEN_AI_PROVIDER_NAME),
    Marker(V_1_37, "key", k.GEN_AI_INPUT_MESSAGES),
    Marker(V_1_37, "key", k.GEN_AI_OUTPUT_MESSAGES),
    Marker(V_1_37, "key", k.GEN_AI_SYSTEM_INSTRUCTIONS),
    Marker(V_1_37, "event", k.EVENT_OPERATION_DETAILS, _EVENT_SIGNALS),
    Marker(V_1_37, "event", k.EVENT_EVALUATION_RESULT, _EVENT_SIGNALS),
    *(Marker(V_GENAI_REPO, "operation", op) for op in k.GEN_AI_REPO_OPERATIONS),
    Marker(V_GENAI_REPO, "key", k.GEN_AI_MEMORY_RECORDS),
    Marker(V_GENAI_REPO, "key", k.GEN_AI_MEMORY_STORE_ID),
    Marker(V_GENAI_REPO, "key", k.GEN_AI_MEMORY_QUERY_TEXT),
    Marker(V_GENAI_REPO, "key", k.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS),
    *(Marker(V_GENAI_REPO if m.version == GENAI_REPO else f"otel_genai {m.version}", "metric", m.name, ("metrics",))
      for m in METRICS),
)


# Every version label, oldest first (the order markers declare them in).
VERSIONS: tuple[str, ...] = tuple(dict.fromkeys(m.version for m in MARKERS))


def marker_names(signal: Signal, kind: MarkerKind) -> list[str]:
    """The names of one kind to look for in one signal (query parameters for the report)."""
    return sorted({m.name for m in MARKERS if signal in m.signals and m.kind == kind})


def versions_seen(signal: Signal, names: dict[MarkerKind, set[str]]) -> list[str]:
    """Version labels whose markers occur among the names a service sent on `signal`, oldest first."""
    seen = {m.version for m in MARKERS if signal in m.signals and m.name in names.get(m.kind, set())}
    return [v for v in VERSIONS if v in seen]
