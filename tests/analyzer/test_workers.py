"""Analysis in worker processes: same rows as in-process analysis; a dead worker is replaced."""

from __future__ import annotations

import os
import signal
from concurrent.futures.process import BrokenProcessPool

import pytest

from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_traces, ready
from agentmortem.analyzer.engine.scheduler import Scheduler
from agentmortem.analyzer.engine.workers import AnalysisWorkers
from tests.support.analysis_tables import analysis_rows
from tests.support.demo_traces import store_scenario

RULES = RuleSettings()
def test_worker_processes_write_exactly_what_in_process_analysis_writes(store, scenario_traces):
    migrate_analyzer(store)
    trace_ids = scenario_traces
    settings = AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0, abandon_after_seconds=0.001,
                                analyzer_batch_traces=4, analyzer_workers=2)
    sch = Scheduler(store, settings, RULES)
    try:
        result = sch.run_once()
        assert sch._workers is not None and sch._workers._pool is not None  # the round ran in workers
    finally:
        sch.close()
    assert result.analyzed == len(trace_ids) and result.pending == 0
    in_workers = analysis_rows(store)
    analyze_traces(store, trace_ids, RULES)  # the same traces again, in this process: replaces every row
    assert analysis_rows(store) == in_workers
    assert len(in_workers["agent_runs"]) >= len(trace_ids)
    assert {r[0] for r in in_workers["agent_explanations"]} == {r[0] for r in in_workers["agent_runs"]}


def test_one_batch_rounds_stay_in_process(store):
    migrate_analyzer(store)
    store_scenario(store, "tool_error")
    sch = Scheduler(store, AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0, analyzer_workers=2), RULES)
    assert sch.run_once().analyzed == 1
    assert sch._workers is not None and sch._workers._pool is None  # no process started for one batch


def test_a_dead_worker_fails_its_job_and_the_next_job_gets_a_new_pool():
    workers = AnalysisWorkers(1)
    try:
        future = workers.submit(os._exit, 3)
        with pytest.raises(BrokenProcessPool):
            future.result(timeout=60)
        workers.discard_if_broken(future.exception())
        assert workers.submit(os.getpid).result(timeout=60) != os.getpid()
    finally:
        workers.close()


def test_workers_outlive_ctrl_c_and_stop_when_closed():
    workers = AnalysisWorkers(1)
    try:
        pid = workers.submit(os.getpid).result(timeout=60)
        os.kill(pid, signal.SIGINT)  # what Ctrl+C in a terminal sends to every process of the group
        assert workers.submit(os.getpid).result(timeout=60) == pid  # the same worker, still serving
    finally:
        workers.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_start_brings_every_worker_up_once_with_the_analysis_imported():
    workers = AnalysisWorkers(2)
    try:
        workers.start(ready)
        pool = workers._pool
        assert pool is not None and len(pool._processes) == 2  # both spawned before any job
        workers.start(ready)  # already running: nothing more submitted, same pool
        assert workers._pool is pool and len(pool._processes) == 2
        # each worker imported the analysis while warming up (`eval` is a builtin: running it imports
        # nothing of ours, as a function of this module would)
        probe = "'agentmortem.analyzer.core.rules.tools' in __import__('sys').modules"
        assert [workers.submit(eval, probe).result(timeout=60) for _ in range(4)] == [True] * 4
    finally:
        workers.close()
