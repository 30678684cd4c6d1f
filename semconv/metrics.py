"""The GenAI metric names, old and new, as data: which convention version each belongs to and what it measures.

One place for every consumer: `agentmortem semconv report` names the metrics a service sends and
the convention version they come from; dashboards pick the metric that measures what they chart
(`measures` is a canonical meaning shared by a metric's old and new names, e.g. `model_call_duration`
for both `gen_ai.client.operation.duration` and `gen_ai.client.inference.duration`).

Versions: `core 1.x` names were defined by the core semantic-conventions (deprecated there since the
GenAI conventions moved to open-telemetry/semantic-conventions-genai) and kept in that repository's
first releases; `semconv-genai` names are the dedicated repository's. `source` says where a name was
checked (repository path and commit); names seen only in instrumentations say so.
"""

from __future__ import annotations

from dataclasses import dataclass

CORE = "core 1.x"
GENAI_REPO = "semconv-genai 0.1"

_REPO = "open-telemetry/semantic-conventions-genai"
_METRICS_YAML = f"{_REPO} model/gen-ai/metrics.yaml@004902b"
_USAGE_YAML = f"{_REPO} model/gen-ai/usage-metrics.yaml@2f4c6b1"
_INFERENCE_MD = f"{_REPO} docs/gen-ai/client-inference.md@024a4f9"
_CHANGELOG = f"{_REPO} CHANGELOG.md@002c8a6 (unreleased section)"
_SEEN_ONLY = "seen in instrumentations (Google ADK, others); not found in the semconv-genai files read"


@dataclass(frozen=True)
class GenAIMetric:
    """One metric name: its unit, the convention version it belongs to, what it measures, and why we know."""

    name: str
    unit: str
    version: str
    measures: str  # canonical meaning, shared by old and new names of the same measurement
    brief: str
    source: str


METRICS: tuple[GenAIMetric, ...] = (
    # -- core 1.x names (still in semconv-genai's model at its start) ----------------------------------
    GenAIMetric("gen_ai.client.token.usage", "{token}", CORE, "tokens_by_type",
                "input and output tokens per model call, split by gen_ai.token.type", _METRICS_YAML),
    GenAIMetric("gen_ai.client.operation.duration", "s", CORE, "model_call_duration",
                "duration of a GenAI client operation (one model call)", _METRICS_YAML),
    GenAIMetric("gen_ai.client.operation.time_to_first_chunk", "s", CORE, "time_to_first_chunk",
                "time from request to the first streamed chunk", _METRICS_YAML),
    GenAIMetric("gen_ai.client.operation.time_per_output_chunk", "s", CORE, "time_per_output_chunk",
                "time between streamed chunks after the first", _METRICS_YAML),
    GenAIMetric("gen_ai.server.request.duration", "s", CORE, "server_request_duration",
                "model server request duration (time to last byte or last output token)", _METRICS_YAML),
    GenAIMetric("gen_ai.server.time_to_first_token", "s", CORE, "server_time_to_first_token",
                "model server time to generate the first token", _METRICS_YAML),
    GenAIMetric("gen_ai.server.time_per_output_token", "s", CORE, "server_time_per_output_token",
                "model server time per output token after the first", _METRICS_YAML),
    # -- semconv-genai: inference (the `gen_ai.client.inference` span's metrics) ------------------------
    GenAIMetric("gen_ai.client.inference.duration", "s", GENAI_REPO, "model_call_duration",
                "duration of one inference call", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.time_to_first_chunk", "s", GENAI_REPO, "time_to_first_chunk",
                "time from request to the first streamed chunk", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.time_per_output_chunk", "s", GENAI_REPO, "time_per_output_chunk",
                "time between streamed chunks after the first", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.usage.input_tokens", "{token}", GENAI_REPO, "input_tokens",
                "input tokens per inference call, cached included", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.usage.output_tokens", "{token}", GENAI_REPO, "output_tokens",
                "output tokens per inference call, reasoning included", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.usage.cache_read.input_tokens", "{token}", GENAI_REPO, "cached_tokens",
                "input tokens served from a provider cache", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.usage.cache_write.input_tokens", "{token}", GENAI_REPO,
                "cache_write_tokens", "input tokens written to a provider cache", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.usage.reasoning.output_tokens", "{token}", GENAI_REPO, "reasoning_tokens",
                "output tokens spent on reasoning", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.operation.input_tokens", "{token}", GENAI_REPO, "input_tokens",
                "input tokens per inference call (opt-in histogram)", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.operation.output_tokens", "{token}", GENAI_REPO, "output_tokens",
                "output tokens per inference call (opt-in histogram)", _INFERENCE_MD),
    GenAIMetric("gen_ai.client.inference.usage.detailed.input_tokens", "{token}", GENAI_REPO, "input_tokens",
                "input tokens by modality, cached included (counter)", _USAGE_YAML),
    GenAIMetric("gen_ai.client.inference.usage.detailed.output_tokens", "{token}", GENAI_REPO, "output_tokens",
                "output tokens by modality, reasoning included (counter)", _USAGE_YAML),
    GenAIMetric("gen_ai.client.inference.usage.detailed.cache_read.input_tokens", "{token}", GENAI_REPO,
                "cached_tokens", "input tokens served from a provider cache (counter)", _USAGE_YAML),
    GenAIMetric("gen_ai.client.inference.usage.detailed.cache_write.input_tokens", "{token}", GENAI_REPO,
                "cache_write_tokens", "input tokens written to a provider cache (counter)", _USAGE_YAML),
    GenAIMetric("gen_ai.client.inference.usage.detailed.reasoning.output_tokens", "{token}", GENAI_REPO,
                "reasoning_tokens", "output tokens spent on reasoning (counter)", _USAGE_YAML),
    GenAIMetric("gen_ai.client.inference.tokens", "{token}", GENAI_REPO, "tokens_by_type",
                "tokens by gen_ai.token.type and modality (counter; replaces gen_ai.client.token.usage)", _CHANGELOG),
    GenAIMetric("gen_ai.client.inference.input_tokens_by_cache", "{token}", GENAI_REPO, "input_tokens_by_cache",
                "input tokens by gen_ai.token.cache (none/read/creation)", _CHANGELOG),
    GenAIMetric("gen_ai.client.inference.output_tokens_by_phase", "{token}", GENAI_REPO, "output_tokens_by_phase",
                "output tokens by gen_ai.token.phase (response/reasoning)", _CHANGELOG),
    GenAIMetric("gen_ai.client.inference.operation.tokens", "{token}", GENAI_REPO, "tokens_by_type",
                "tokens per inference call (opt-in histogram)", _CHANGELOG),
    # -- semconv-genai: agents, tools, workflows -------------------------------------------------------
    GenAIMetric("gen_ai.invoke_agent.duration", "s", GENAI_REPO, "agent_invocation_duration",
                "end-to-end duration of one agent invocation", _METRICS_YAML),
    GenAIMetric("gen_ai.invoke_agent.inference_calls", "{inference_call}", GENAI_REPO, "model_calls_per_invocation",
                "model calls made by one agent invocation", _SEEN_ONLY),
    GenAIMetric("gen_ai.invoke_agent.tool_calls", "{tool_call}", GENAI_REPO, "tool_calls_per_invocation",
                "tool executions made by one agent invocation", _SEEN_ONLY),
    GenAIMetric("gen_ai.execute_tool.duration", "s", GENAI_REPO, "tool_duration",
                "duration of one tool execution", _METRICS_YAML),
    GenAIMetric("gen_ai.workflow.duration", "s", GENAI_REPO, "workflow_duration",
                "duration of one workflow (several agents or GenAI operations)", _METRICS_YAML),
    GenAIMetric("gen_ai.invoke_workflow.duration", "s", GENAI_REPO, "workflow_duration",
                "duration of one workflow (name used by some instrumentations)", _SEEN_ONLY),
)

METRIC_BY_NAME: dict[str, GenAIMetric] = {m.name: m for m in METRICS}


def metrics_measuring(measures: str) -> tuple[GenAIMetric, ...]:
    """Every name (old and new) of one measurement, e.g. `model_call_duration`, for a dashboard to query."""
    return tuple(m for m in METRICS if m.measures == measures)
