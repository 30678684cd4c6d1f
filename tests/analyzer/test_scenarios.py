"""The scenario library end to end: real OTel SDK spans → OTLP protobuf → collector conversion →
`otel_traces` in chDB → semconv canonical SQL → the pipeline's run building → `analyze_run`.

Every scenario in `demo.scenarios`, in the GenAI-semconv and the OpenInference
flavour, must come out with its primary failure class, the exact root-cause span, the
cost-impact figures below, and a headline naming the failing step.
"""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentmortem.analyzer.core.analysis import analyze_run
from agentmortem.analyzer.core.model import Run
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.pipeline import load_runs
from agentmortem.collector.convert import request_to_batch
from agentmortem.demo.emit import FLAVOURS
from agentmortem.demo.scenarios import SCENARIOS, Scenario, play
from agentmortem.platform.schema import INSERT_COLUMNS, TRACES_TABLE

START_NS = 1_750_000_000 * 10**9

# scenario → (outcome, wasted tokens, share of the run's tokens)
EXPECTED: dict[str, tuple[str, int, float]] = {
    "healthy_two_cities": ("ok", 0, 0.0),
    "healthy_retry": ("ok", 0, 0.0),
    "tool_error": ("failed", 150, 0.5),
    "rate_limited": ("failed", 0, 0.0),
    "auth_error": ("failed", 0, 0.0),
    "timeout": ("failed", 0, 0.0),
    "context_overflow": ("failed", 0, 0.0),
    "content_filtered": ("failed", 80, 1.0),
    "empty_output": ("failed", 160, 0.5161),
    "invalid_tool_args": ("failed", 300, 1.0),
    "unknown_tool": ("failed", 300, 1.0),
    "loop": ("failed", 600, 0.8),
    "retry_storm": ("degraded", 150, 0.5),
    "max_iterations": ("failed", 300, 1.0),
    "abandoned": ("failed", 150, 1.0),
    "cost_overspend": ("degraded", 130_000, 1.0),
    "delegation_failure": ("failed", 150, 0.5),
    "error_swallowed": ("failed", 150, 0.5),
    "ungrounded_output": ("failed", 150, 0.5),
    "low_eval_score": ("degraded", 300, 1.0),
    "tool_error_loop_rate_limit": ("failed", 690, 0.8214),
    "truncated_args_then_tool_error": ("failed", 150, 1.0),
}


def test_every_scenario_has_expectations():
    assert sorted(EXPECTED) == sorted(s.name for s in SCENARIOS)


def stored_runs(store, scenario: Scenario, flavour: str) -> tuple[list[Run], dict[str, str]]:
    """Emit the scenario through the SDK, store it like the collector does, build its runs."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "demo-agents"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    marks = play(scenario, provider.get_tracer("agentmortem.demo"), flavour, START_NS)  # type: ignore[arg-type]
    batch = request_to_batch(encode_spans(exporter.get_finished_spans()))
    assert batch.check.rejected == 0
    store.insert_columns(TRACES_TABLE, batch.columns, INSERT_COLUMNS)
    return load_runs(store, None, RuleSettings()), marks


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario(store, scenario: Scenario, flavour: str):
    runs, marks = stored_runs(store, scenario, flavour)
    [run] = [r for r in runs if marks["run"] in r.by_id() or marks.get("root_cause", "") in r.by_id()][:1]
    verdict, explanation = analyze_run(run, None, RuleSettings(**scenario.settings))
    outcome, wasted_tokens, share = EXPECTED[scenario.name]
    assert verdict.failure_class == scenario.failure_class, explanation.markdown
    assert verdict.outcome == outcome
    if not scenario.failure_class:
        assert verdict.signals == () and verdict.cost_impact is None
        return
    assert verdict.root_cause.span_id == marks["root_cause"], explanation.markdown
    ci = verdict.cost_impact
    assert (ci.wasted_tokens, ci.share_tokens) == (wasted_tokens, share)
    if ci.wasted_cost_usd is not None and ci.share_cost is not None:
        total = explanation.structured["run"]["cost_usd"]
        assert ci.wasted_cost_usd == pytest.approx(ci.share_cost * total, rel=1e-3)
    where = explanation.structured["where"]
    assert f"at step {where['step']} of {where['of']} (`{where['span_name']}`)" in explanation.headline
    assert where["span_id"] == marks["root_cause"] and where["span_name"]
    assert len(explanation.markdown.split()) <= 150
