"""Scheduling on the real engine: settle / abandon, watermark, idempotency, late spans, shards."""

from __future__ import annotations

import time

import pytest

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings, Shard
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.analyzer.engine.scheduler import Candidate, Scheduler, next_watermark, plan_round
from agentmortem.analyzer.engine.tables import AGENT_RUNS
from tests.support.demo_traces import START_NS, scenario_spans, store_scenario, store_spans

RULES = RuleSettings()
NOW = 1_000_000


@pytest.fixture
def astore(store):
    migrate_analyzer(store)
    return store


def scheduler(store, shard: Shard | None = None, **overrides) -> Scheduler:
    settings = AnalyzerSettings(**{"settle_seconds": 0, "analyzer_lag_seconds": 0, **overrides})
    return Scheduler(store, settings, RULES, shard)


_r = AGENT_RUNS.c
RUN_COLUMNS = ", ".join((_r.RunId, _r.TraceId, _r.ParentRunId, _r.Kind, _r.AgentName, _r.Status, _r.Outcome,
                         _r.FailureClass, _r.RootCauseSpanId, _r.Steps, _r.LlmCalls, _r.ToolCalls, _r.InputTokens,
                         _r.OutputTokens, _r.TotalTokens, _r.CostUsd, _r.WastedTokens, _r.Headline, _r.Models,
                         _r.SignalTypes))


def runs_of(store, trace_id: str | None = None) -> list[tuple]:
    where = "WHERE TraceId = {t:String}" if trace_id else ""
    return store.query(f"SELECT {RUN_COLUMNS} FROM agent_runs FINAL {where} ORDER BY RunId", {"t": trace_id or ""})


def test_plan_round_settles_and_abandons():
    s = AnalyzerSettings(settle_seconds=10, abandon_after_seconds=100)
    rooted = Candidate(TraceKey("", "rooted"), NOW - 1, True, 0, False)
    quiet = Candidate(TraceKey("", "quiet"), NOW - 10_000, False, 0, False)
    busy = Candidate(TraceKey("", "busy"), NOW - 9_000, False, 0, False)
    done = Candidate(TraceKey("", "done"), NOW - 50, True, NOW - 50, False)
    pending_young = Candidate(TraceKey("", "pending_young"), NOW - 99_000, False, NOW - 99_000, True)
    pending_old = Candidate(TraceKey("", "pending_old"), NOW - 100_000, False, NOW - 100_000, True)
    plan = plan_round([rooted, quiet, busy, done, pending_young, pending_old], NOW, s)
    assert [c.key.trace_id for c in plan.due] == ["pending_old", "quiet", "rooted"]  # oldest activity first
    assert [c.key.trace_id for c in plan.waiting] == ["busy", "pending_young"]


def test_watermark_waits_for_unsettled_traces_and_never_goes_back():
    busy = Candidate(TraceKey("", "busy"), 500, False, 0, False)
    assert next_watermark(100, [busy], NOW, lag_seconds=1) == 500
    assert next_watermark(100, [], NOW, lag_seconds=1) == NOW - 1000
    assert next_watermark(NOW, [busy], NOW, lag_seconds=1) == NOW


def test_round_writes_runs_signals_explanations_and_is_idempotent(astore):
    marks = store_scenario(astore, "tool_error")
    sch = scheduler(astore)
    first = sch.run_once()
    assert (first.analyzed, first.runs) == (1, 1)
    [run] = runs_of(astore)
    assert run[0] == marks["run"] and run[1] == marks["trace_id"]
    assert run[5:10] == ("ended", "failed", "tool_error", marks["root_cause"], 4)
    assert run[10:15] == (2, 1, 240, 60, 300)  # two model calls of 120 + 30 tokens
    assert run[15] == pytest.approx(7.2e-05)
    assert sch.run_once().analyzed == 0  # nothing changed: nothing to do
    before = (runs_of(astore), astore.query("SELECT RunId, Seq, SpanId, Type, Evidence FROM agent_signals FINAL"),
              astore.query("SELECT RunId, Headline, Markdown FROM agent_explanations FINAL"))
    analyze_traces(astore, [TraceKey("", marks["trace_id"])], RULES)  # forced re-analysis replaces, never duplicates
    after = (runs_of(astore), astore.query("SELECT RunId, Seq, SpanId, Type, Evidence FROM agent_signals FINAL"),
             astore.query("SELECT RunId, Headline, Markdown FROM agent_explanations FINAL"))
    assert after == before
    assert len(before[1]) >= 1 and before[2][0][1] == run[17]


def test_late_span_with_an_old_timestamp_triggers_reanalysis(astore):
    spans, marks = scenario_spans("healthy_two_cities")
    final_answer = max((s for s in spans if s.name.startswith("chat")), key=lambda s: s.start_time)
    store_spans(astore, [s for s in spans if s is not final_answer])
    sch = scheduler(astore)
    assert sch.run_once().analyzed == 1
    [run] = runs_of(astore)
    assert (run[9], run[10], run[14]) == (5, 2, 300)  # steps, model calls, tokens
    store_spans(astore, [final_answer])  # arrives late; its timestamp is long past the watermark
    assert sch.run_once().analyzed == 1
    [run] = runs_of(astore)
    assert (run[0], run[6], run[9], run[10], run[14]) == (marks["run"], "ok", 6, 3, 450)


def test_rootless_trace_waits_then_is_abandoned_then_replaced_when_the_root_arrives(astore):
    spans, marks = scenario_spans("tool_error")
    root = next(s for s in spans if s.parent is None)
    store_spans(astore, [s for s in spans if s is not root])
    trace_id = format(root.context.trace_id, "032x")
    waiting = scheduler(astore, abandon_after_seconds=3600).run_once()
    assert (waiting.analyzed, waiting.pending) == (0, 1) and runs_of(astore) == []
    abandoned = scheduler(astore, abandon_after_seconds=0.001).run_once()
    assert abandoned.analyzed == 1
    [run] = runs_of(astore)
    assert (run[0], run[3], run[5]) == (marks["run"], "incomplete", "abandoned")
    assert "abandoned" in run[19]
    store_spans(astore, [root])
    assert scheduler(astore).run_once().analyzed == 1
    assert [(r[0], r[5], r[7]) for r in runs_of(astore, trace_id)] == [(marks["run"], "ended", "tool_error")]
    assert astore.query("SELECT count() FROM agent_runs FINAL") == [(1,)]  # the abandoned row was replaced


def test_sub_runs_are_written_with_their_parent(astore):
    marks = store_scenario(astore, "delegation_failure")
    scheduler(astore).run_once()
    rows = runs_of(astore, marks["trace_id"])
    parent = next(r for r in rows if r[0] == marks["run"])
    child = next(r for r in rows if r[0] != marks["run"])
    assert (parent[7], parent[8]) == ("delegation_failure", marks["root_cause"])
    assert (child[2], child[4], child[6]) == (marks["run"], "researcher", "failed")


def test_shards_split_traces_without_overlap(astore):
    trace_ids = {store_scenario(astore, "healthy_two_cities", start_ns=START_NS + i * 10**9)["trace_id"]
                 for i in range(24)}
    seen: list[set[str]] = []
    for i in range(3):
        sch = scheduler(astore, Shard(i, 3))
        candidates, _ = sch.candidates()
        seen.append({c.key.trace_id for c in candidates})
        assert sch.run_once().analyzed == len(seen[-1])
    assert set().union(*seen) == trace_ids and sum(map(len, seen)) == len(trace_ids)
    assert all(seen)  # 24 traces over 3 shards: each gets some
    assert astore.query("SELECT uniqExact(TraceId), count() FROM agent_runs FINAL") == [(24, 24)]


def test_watermark_is_saved_and_reloaded(astore):
    store_scenario(astore, "healthy_retry")
    sch = scheduler(astore)
    sch.run_once()
    assert scheduler(astore).watermark() == sch.watermark() > 0
    assert scheduler(astore, Shard(1, 2)).watermark() == 0  # each shard keeps its own


def test_baselines_are_robust_statistics_in_sql(astore):
    for i in range(5):  # recent runs (the baseline window is the last 14 days)
        store_scenario(astore, "healthy_two_cities", start_ns=time.time_ns() - (i + 1) * 60 * 10**9)
    store_scenario(astore, "healthy_two_cities", start_ns=START_NS)  # too old to count
    sch = scheduler(astore, baseline_interval_seconds=0.001)
    sch.run_once()
    sch.run_once()  # the second round recomputes over the first round's runs
    [row] = astore.query("SELECT AgentName, Runs, DurationMsP50, DurationMsMad, TokensP50, TokensMad, CostUsdP50 "
                         "FROM agent_baselines FINAL")
    assert row[:2] == ("travel_assistant", 5)
    assert row[2] == pytest.approx(4300, abs=1) and row[3] == 0
    assert (row[4], row[5]) == (450, 0) and row[6] == pytest.approx(0.000108)
