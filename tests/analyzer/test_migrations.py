"""Upgrading a store analyzed by trace id alone to (tenant, trace id) keys: no row lost, nothing
analyzed again but the trace ids two tenants share, and a migration interrupted anywhere finishes."""

from __future__ import annotations

import time

import pytest

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings
from agentmortem.analyzer.engine.migrations import HERE, PACKAGE, migrate_analyzer
from agentmortem.analyzer.engine.scheduler import Scheduler
from agentmortem.collector.migrations import apply, load
from agentmortem.platform.reorder import reorder_table, sorting_key
from tests.support.demo_traces import START_NS, SharedIds, store_scenario

SIGNALS = "RunId, Seq, TraceId, SpanId, Tenant, AgentName, Start, Type, Severity, Decisive, IsRootCause, Evidence, Version"


def _tables(store) -> set[str]:
    return {r[0] for r in store.query("SELECT name FROM system.tables WHERE database = currentDatabase()")}


@pytest.fixture
def old_store(store):
    """A store at migration 0003 holding spans of three tenants (two share a trace id) and the
    results and trace state the analysis of that version wrote."""
    apply(store, [m for m in load(HERE, PACKAGE, {}) if m.version <= 3])
    alpha = store_scenario(store, "tool_error", tenant="alpha")
    shared = store_scenario(store, "healthy_two_cities", start_ns=START_NS + 10**12, tenant="alpha")
    store_scenario(store, "rate_limited", start_ns=START_NS + 2 * 10**12, tenant="beta",
                   ids=SharedIds(shared["trace_id"], shared["run"]))
    anonymous = store_scenario(store, "healthy_retry", start_ns=START_NS + 3 * 10**12)
    traces = {"alpha": alpha["trace_id"], "shared": shared["trace_id"], "anonymous": anonymous["trace_id"]}
    version = time.time_ns()
    for i, (name, trace_id) in enumerate(traces.items()):
        tenant = "" if name == "anonymous" else "alpha"
        store.command(
            f"INSERT INTO agent_signals ({SIGNALS}) VALUES ({{r:String}}, 0, {{t:String}}, {{r:String}}, {{n:String}}, "
            "'a', now64(9), 'tool_error', 'error', 1, 1, '{}', {v:UInt64})",
            {"r": f"run{i}", "t": trace_id, "n": tenant, "v": version})
        store.command("INSERT INTO agent_explanations (RunId, TraceId, Tenant, Headline, Markdown, Structured, Version) "
                      "VALUES ({r:String}, {t:String}, {n:String}, 'h', 'm', '{}', {v:UInt64})",
                      {"r": f"run{i}", "t": trace_id, "n": tenant, "v": version})
    # Every trace analyzed up to its activity (what the old scheduler recorded).
    store.command("INSERT INTO agent_trace_state SELECT TraceId, toUnixTimestamp64Milli(max(LastSeen)), 0, "
                  "{v:UInt64} FROM agent_trace_activity GROUP BY TraceId", {"v": version})
    return store, traces


def test_the_upgrade_keeps_every_row_and_keys_results_by_tenant(old_store):
    store, traces = old_store
    before = {t: store.query(f"SELECT * FROM {t} ORDER BY ALL") for t in ("agent_signals", "agent_explanations")}
    old_seen = dict(store.query("SELECT TraceId, toUnixTimestamp64Milli(max(LastSeen)) FROM agent_trace_activity "
                                "GROUP BY TraceId"))
    applied = migrate_analyzer(store)
    assert [m.version for m in applied] == [4, 5, 6]
    for table, rows in before.items():
        assert store.query(f"SELECT * FROM {table} ORDER BY ALL") == rows and len(rows) == 3
    assert sorting_key(store, "agent_signals") == "Tenant, RunId, Seq"
    assert sorting_key(store, "agent_explanations") == "Tenant, RunId"
    assert not {"agent_trace_activity", "agent_trace_activity_mv", "agent_trace_state"} & _tables(store)
    assert not any(t.endswith("__reorder") for t in _tables(store))

    seen = {TraceKey(t, i): ms for t, i, ms in store.query(
        "SELECT Tenant, TraceId, toUnixTimestamp64Milli(max(LastSeen)) FROM agent_activity GROUP BY Tenant, TraceId")}
    alpha, shared, anonymous = traces["alpha"], traces["shared"], traces["anonymous"]
    assert set(seen) == {("alpha", alpha), ("alpha", shared), ("beta", shared), ("", anonymous)}
    assert seen["alpha", alpha] == old_seen[alpha] and seen["", anonymous] == old_seen[anonymous]
    assert seen["alpha", shared] > old_seen[shared] and seen["beta", shared] > old_seen[shared]
    state = {TraceKey(t, i) for t, i in store.query("SELECT Tenant, TraceId FROM agent_analysis_state FINAL")}
    assert state == set(seen)

    # Only the trace id two tenants shared is analyzed again (once per tenant); the rest stays done.
    settings = AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0, abandon_after_seconds=0.001,
                                analyzer_workers=0)
    sch = Scheduler(store, settings, RuleSettings())
    candidates, _ = sch.candidates()
    assert {c.key for c in candidates if c.changed} == {("alpha", shared), ("beta", shared)}
    assert sch.run_once().analyzed == 2
    assert store.query("SELECT Tenant, FailureClass FROM agent_runs FINAL WHERE TraceId = {t:String} "
                       "AND ParentRunId = '' ORDER BY Tenant", {"t": shared}) == [("alpha", ""), ("beta", "rate_limited")]
    # New spans reach the new activity table (its materialized view), tenant and all.
    store_scenario(store, "tool_error", start_ns=START_NS + 4 * 10**12, tenant="gamma")
    assert store.query("SELECT count() FROM agent_activity WHERE Tenant = 'gamma'") == [(1,)]


def test_a_reorder_interrupted_anywhere_finishes_when_run_again(store):
    engine = "ReplacingMergeTree(V) ORDER BY (T, K) SETTINGS index_granularity = 8192"
    store.command("CREATE TABLE r (K String, T String, V UInt64) ENGINE = ReplacingMergeTree(V) ORDER BY K")
    store.command("INSERT INTO r SELECT toString(number), toString(number % 3), 1 FROM numbers(1000)")
    rows = store.query("SELECT * FROM r ORDER BY ALL")
    # Killed during the copy: a partial scratch table is left behind.
    store.command(f"CREATE TABLE r__reorder AS r ENGINE = {engine}")
    store.command("INSERT INTO r__reorder SELECT * FROM r LIMIT 10")
    assert reorder_table(store, "r", engine) is True
    assert sorting_key(store, "r") == "T, K" and store.query("SELECT * FROM r ORDER BY ALL") == rows
    assert "r__reorder" not in _tables(store)
    assert reorder_table(store, "r", engine) is False  # done: nothing to do
    # Killed after the swap, before the old rows were dropped: they are dropped, the table stays.
    store.command("CREATE TABLE r__reorder (K String, T String, V UInt64) ENGINE = ReplacingMergeTree(V) ORDER BY K")
    assert reorder_table(store, "r", engine) is False
    assert "r__reorder" not in _tables(store) and store.query("SELECT count() FROM r") == [(1000,)]
