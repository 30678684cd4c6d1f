"""The per-trace bound: a trace holding more spans than `AGENTMORTEM_ANALYZER_MAX_SPANS_PER_TRACE`
is loaded and analyzed on its first spans by start time only, by every path (direct, staged
round, in-process round), and its post-mortem says so; traces under the bound are untouched."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings
from agentmortem.analyzer.engine.load import oversized, span_counts, spans_from_payload, spans_payload
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.analyzer.engine.scheduler import Scheduler
from agentmortem.collector.convert import request_to_batch
from agentmortem.platform.schema import INSERT_COLUMNS, TRACES_TABLE
from tests.support.analysis_tables import analysis_rows
from tests.support.demo_traces import START_NS, store_scenario

RULES = RuleSettings()
LIMIT = 40


def _attr(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def store_wide_trace(store, spans: int, tenant: str | None = None, copies: int = 1) -> tuple[TraceKey, list[str]]:
    """An agent root and `spans - 1` tool calls under it, one per 10 ms, stored `copies` times
    (duplicate deliveries); the trace and its span ids in start order."""
    trace_id, ids = uuid.uuid4().hex, [uuid.uuid4().hex[:16] for _ in range(spans)]
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.append(_attr("service.name", "wide"))
    scope = rs.scope_spans.add()
    for i, span_id in enumerate(ids):
        span = scope.spans.add(trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(span_id),
                               parent_span_id=bytes.fromhex(ids[0]) if i else b"",
                               start_time_unix_nano=START_NS + i * 10**7,
                               end_time_unix_nano=START_NS + (spans + 1) * 10**7 if i == 0 else START_NS + i * 10**7 + 10**6)
        span.name = "invoke_agent wide-agent" if i == 0 else "execute_tool lookup"
        span.attributes.extend([_attr("gen_ai.operation.name", "invoke_agent"), _attr("gen_ai.agent.name", "wide-agent")]
                               if i == 0 else [_attr("gen_ai.operation.name", "execute_tool"),
                                               _attr("gen_ai.tool.name", "lookup")])
    batch = request_to_batch(request, tenant)
    for _ in range(copies):
        store.insert_columns(TRACES_TABLE, batch.columns, INSERT_COLUMNS)
    return TraceKey(tenant or "", trace_id), ids


@pytest.fixture
def traces(store):
    migrate_analyzer(store)
    wide, ids = store_wide_trace(store, 3 * LIMIT)
    duplicated, _ = store_wide_trace(store, LIMIT - 5, copies=3)  # more deliveries than the bound, fewer spans
    small = TraceKey("", store_scenario(store, "tool_error")["trace_id"])
    return {"wide": wide, "ids": ids, "duplicated": duplicated, "small": small}


def test_only_traces_over_the_bound_are_found_and_counted_once_per_span(store, traces):
    keys = [traces["wide"], traces["duplicated"], traces["small"]]
    assert span_counts(store, keys)[traces["duplicated"]] == LIMIT - 5
    assert oversized(store, keys, LIMIT) == {traces["wide"]: 3 * LIMIT}


def test_a_bounded_load_reads_the_first_spans_by_start_time_only(store, traces):
    wide = traces["wide"]
    loaded = spans_from_payload(spans_payload(store, [wide, traces["small"]], for_analysis=True,
                                              bounded={wide: 3 * LIMIT}, max_spans=LIMIT))
    assert sorted(s.span_id for s in loaded if s.trace_id == wide.trace_id) == sorted(traces["ids"][:LIMIT])
    unbounded = spans_from_payload(spans_payload(store, [traces["small"]], for_analysis=True))
    assert len([s for s in loaded if s.trace_id == traces["small"].trace_id]) == len(unbounded) > 3


def test_the_post_mortem_of_a_bounded_trace_says_what_was_left_out(store, traces):
    analyze_traces(store, [traces["wide"], traces["small"]], RULES, max_spans=LIMIT)
    steps = dict(store.query("SELECT TraceId, Steps FROM agent_runs FINAL WHERE ParentRunId = ''"))
    assert steps[traces["wide"].trace_id] == LIMIT and steps[traces["small"].trace_id] > 3
    [(markdown,)] = store.query("SELECT Markdown FROM agent_explanations FINAL WHERE TraceId = {t:String}",
                                {"t": traces["wide"].trace_id})
    assert f"Only the first {LIMIT:,} of this trace's {3 * LIMIT:,} spans" in markdown
    [(other,)] = store.query("SELECT Markdown FROM agent_explanations FINAL WHERE TraceId = {t:String}",
                             {"t": traces["small"].trace_id})
    assert "Only the first" not in other


@pytest.mark.parametrize("batch_traces", [1, 100])  # a staged round of several batches; one batch in process
def test_rounds_bound_traces_as_direct_analysis_does(store, traces, batch_traces):
    settings = AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0, abandon_after_seconds=0.001,
                                analyzer_batch_traces=batch_traces, analyzer_workers=0,
                                analyzer_max_spans_per_trace=LIMIT)
    assert Scheduler(store, settings, RULES).run_once().analyzed == 3
    rounds = analysis_rows(store)
    analyze_traces(store, [traces["wide"], traces["duplicated"], traces["small"]], RULES, max_spans=LIMIT)
    assert analysis_rows(store) == rounds
    steps = dict(store.query("SELECT TraceId, Steps FROM agent_runs FINAL WHERE ParentRunId = ''"))
    assert steps[traces["wide"].trace_id] == LIMIT and steps[traces["duplicated"].trace_id] == LIMIT - 5
