"""GenAI log events as evidence of their spans, end to end on the real engine: a run whose content
arrives only as `otel_logs` records is read and judged as the same run with its content on spans;
a late record re-opens its trace; records of spans that never arrive, or without ids, are harmless."""

from __future__ import annotations

import pytest

from agentmortem.analyzer.core.analysis import analyze_run
from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings
from agentmortem.analyzer.engine.load import load_spans, spans_from_payload
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import load_runs
from agentmortem.analyzer.engine.scheduler import Scheduler
from agentmortem.analyzer.engine.stage import RoundStage, staged_batches
from agentmortem.demo.scenarios import SCENARIOS
from agentmortem.semconv import keys as k
from tests.support.content_as_logs import content_as_logs
from tests.support.demo_traces import BY_NAME, scenario_spans, store_spans
from tests.support.log_rows import LogRecord, insert_logs

# Canonical fields that differ between two copies of one run: its ids.
_IDS = ("trace_id", "span_id", "parent_span_id")
# Scenarios whose verdict rests on content: messages, tool calls, errors, evaluations.
VERDICT_SCENARIOS = ("ungrounded_output", "empty_output", "low_eval_score", "tool_error", "unknown_tool",
                     "invalid_tool_args", "loop", "healthy_two_cities")


def _twins(store, name: str) -> tuple[TraceKey, TraceKey]:
    """The scenario stored twice: content on spans, and content in log records only."""
    spans, _ = scenario_spans(name)
    store_spans(store, spans)
    moved, _ = scenario_spans(name)
    stripped, records = content_as_logs(moved)
    assert records, "the scenario has content to move"
    store_spans(store, stripped)
    insert_logs(store, records)
    return (TraceKey("", format(spans[0].context.trace_id, "032x")),
            TraceKey("", format(moved[0].context.trace_id, "032x")))


def _without_ids(spans) -> list[tuple]:
    return sorted((tuple(v for f, v in zip(s._fields, s) if f not in _IDS) for s in spans), key=repr)


@pytest.mark.parametrize("scenario", [s.name for s in SCENARIOS])
def test_content_from_log_records_equals_content_on_spans(store, scenario):
    on_spans, in_logs = _twins(store, scenario)
    a, b = load_spans(store, [on_spans]), load_spans(store, [in_logs])
    assert len(a) == len(b) > 0
    assert _without_ids(b) == _without_ids(a)


def test_without_the_logs_table_the_content_is_gone(store):
    _, in_logs = _twins(store, "ungrounded_output")
    assert not any(s.output_messages for s in load_spans(store, [in_logs], logs=""))
    assert any(s.output_messages for s in load_spans(store, [in_logs]))


def _verdict(run, scenario: str):
    verdict, _ = analyze_run(run, None, RuleSettings(**BY_NAME[scenario].settings))
    by_id = run.by_id()
    cause = by_id[verdict.root_cause.span_id].span.span_name if verdict.root_cause else ""
    ci = verdict.cost_impact
    return (verdict.outcome, verdict.failure_class, cause, sorted(s.type for s in verdict.signals),
            None if ci is None else (ci.wasted_tokens, ci.share_tokens))


@pytest.mark.parametrize("scenario", VERDICT_SCENARIOS)
def test_verdict_of_a_run_told_in_log_records_matches_the_run_told_on_spans(store, scenario):
    on_spans, in_logs = _twins(store, scenario)
    runs = load_runs(store, None, RuleSettings())
    top = {key: [r for r in runs if r.key == key and not r.parent_run_id] for key in (on_spans, in_logs)}
    assert len(top[on_spans]) == len(top[in_logs]) == 1
    expected = _verdict(top[on_spans][0], scenario)
    assert expected[1] == BY_NAME[scenario].failure_class
    assert _verdict(top[in_logs][0], scenario) == expected


def test_staged_round_reads_log_records_as_the_direct_load_does(store):
    on_spans, in_logs = _twins(store, "ungrounded_output")
    direct = load_spans(store, [in_logs], for_analysis=True)
    [batch] = staged_batches([on_spans, in_logs], 10)
    with RoundStage(store, "agent_round_stage_test_", [batch]) as stage:
        staged = [s for s in spans_from_payload(stage.payload(0)) if s.trace_id == in_logs.trace_id]
    assert any(s.output_messages for s in direct) and any(s.tool_definitions for s in direct)
    assert sorted(staged) == sorted(direct)


def _scheduler(store) -> Scheduler:
    settings = AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0)
    return Scheduler(store, settings, RuleSettings())


def test_a_late_log_record_reopens_its_trace(store):
    migrate_analyzer(store)
    spans, marks = scenario_spans("low_eval_score")
    stripped, records = content_as_logs(spans)
    late = [r for r in records if r.event_name == k.EVENT_EVALUATION_RESULT]
    assert late
    store_spans(store, stripped)
    insert_logs(store, [r for r in records if r not in late])
    sch = _scheduler(store)
    assert sch.run_once().analyzed == 1
    outcome = "SELECT Outcome, FailureClass FROM agent_runs FINAL WHERE RunId = {r:String}"
    assert store.query(outcome, {"r": marks["run"]}) == [("ok", "")]  # not yet evaluated
    assert sch.run_once().analyzed == 0
    insert_logs(store, late)  # the evaluation arrives late, as a log record
    assert sch.run_once().analyzed == 1
    assert store.query(outcome, {"r": marks["run"]}) == [("degraded", BY_NAME["low_eval_score"].failure_class)]


def test_orphan_and_idless_log_records_are_harmless(store):
    migrate_analyzer(store)
    spans, marks = scenario_spans("healthy_two_cities")
    trace_id = format(spans[0].context.trace_id, "032x")
    store_spans(store, spans)
    before = load_spans(store, [TraceKey("", trace_id)])
    junk = {k.GEN_AI_OUTPUT_MESSAGES: '[{"role":"assistant","parts":[{"type":"text","content":"$1,000,000"}]}]'}
    insert_logs(store, [
        LogRecord(trace_id, "00000000000000ff", k.EVENT_OPERATION_DETAILS, junk),  # its span never arrives
        LogRecord("", "", k.EVENT_OPERATION_DETAILS, junk),  # no trace
        LogRecord("ab" * 16, "cd" * 8, k.EVENT_OPERATION_DETAILS, junk),  # a trace with no spans at all
        LogRecord(trace_id, format(spans[0].context.span_id, "016x"), "", junk),  # not an event
    ])
    assert load_spans(store, [TraceKey("", trace_id)]) == before
    sch = _scheduler(store)
    assert sch.run_once().analyzed >= 1
    assert store.query("SELECT Outcome FROM agent_runs FINAL WHERE RunId = {r:String}", {"r": marks["run"]}) == [("ok",)]
    assert store.query("SELECT count() FROM agent_runs FINAL WHERE TraceId = {t:String}", {"t": "ab" * 16}) == [(0,)]
