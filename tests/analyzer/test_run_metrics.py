"""Run metrics on the real engine: runs analysed and failed by agent, tenant, outcome and failure
class, read from the `/metrics` text; a re-analysed run counts once per verdict, the agent
labels are capped."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.analyzer.engine.scheduler import Scheduler
from agentmortem.analyzer.engine.service import AnalyzerMetrics
from agentmortem.demo.scenarios import AGENT
from agentmortem.platform.metrics_endpoint import build_metrics_app
from tests.support.demo_traces import scenario_spans, store_scenario, store_spans
from tests.support.prometheus_text import labels, series

ANALYSED, FAILED = "agentmortem_runs_analysed_total", "agentmortem_runs_failed_total"


@pytest.fixture
def astore(store):
    migrate_analyzer(store)
    return store


class Analyzer:
    """A scheduler whose rounds feed the metrics, as `AnalyzerService` wires them, and its `/metrics`."""

    def __init__(self, store, **settings) -> None:
        s = AnalyzerSettings(**{"settle_seconds": 0, "analyzer_lag_seconds": 0, "analyzer_workers": 0, **settings})
        self.metrics = AnalyzerMetrics(max_agents=s.analyzer_metrics_max_agents)
        self.scheduler = Scheduler(store, s, RuleSettings(), on_round=self.metrics.observe,
                                   on_entered=self.metrics.by_agent.observe)
        self.client = TestClient(build_metrics_app(self.metrics.registry, store))

    def round(self) -> None:
        self.scheduler.run_once()

    def scrape(self, name: str) -> dict:
        response = self.client.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        return {k: v for k, v in series(response.text, name).items() if v}  # series that counted something


def stored_verdicts(store) -> dict:
    """What `agent_runs` holds, keyed as the analysed counter's series."""
    rows = store.query("SELECT AgentName, Tenant, Outcome, count() FROM agent_runs FINAL "
                       "GROUP BY AgentName, Tenant, Outcome")
    return {labels(agent=a, tenant=t, outcome=o): float(n) for a, t, o, n in rows}


def test_runs_are_counted_by_agent_tenant_outcome_and_failure_class(astore):
    store_scenario(astore, "tool_error", tenant="acme")
    store_scenario(astore, "healthy_two_cities", tenant="acme")
    store_scenario(astore, "rate_limited")
    store_scenario(astore, "tool_error")
    store_scenario(astore, "delegation_failure", tenant="acme")  # a run and its failed sub-run
    an = Analyzer(astore)
    an.round()
    analysed = an.scrape(ANALYSED)
    assert analysed == stored_verdicts(astore)
    assert analysed[labels(agent=AGENT, tenant="acme", outcome="ok")] == 1
    assert sum(analysed.values()) == 6
    failed = an.scrape(FAILED)
    assert failed[labels(agent=AGENT, tenant="acme", failure_class="tool_error")] == 1
    assert failed[labels(agent=AGENT, tenant="", failure_class="tool_error")] == 1
    assert failed[labels(agent=AGENT, tenant="", failure_class="rate_limited")] == 1
    stored_failed = astore.query("SELECT AgentName, Tenant, FailureClass, count() FROM agent_runs FINAL "
                                 "WHERE Outcome = 'failed' GROUP BY AgentName, Tenant, FailureClass")
    assert failed == {labels(agent=a, tenant=t, failure_class=c): float(n) for a, t, c, n in stored_failed}
    # the analyzer's own health counters keep their names
    text = an.client.get("/metrics").text
    assert series(text, "agentmortem_analyzer_runs_analysed_total") == {(): 6.0}


def test_reanalysis_that_confirms_a_verdict_counts_nothing(astore):
    spans, marks = scenario_spans("tool_error")
    store_spans(astore, spans, "acme")
    an = Analyzer(astore)
    an.round()
    once = {labels(agent=AGENT, tenant="acme", outcome="failed"): 1.0}
    assert an.scrape(ANALYSED) == once
    store_spans(astore, spans, "acme")  # the exporter retried: every span delivered again
    an.round()
    assert series(an.client.get("/metrics").text, "agentmortem_analyzer_runs_analysed_total") == {(): 2.0}  # again…
    assert an.scrape(ANALYSED) == once  # …and not counted again
    assert an.scrape(FAILED) == {labels(agent=AGENT, tenant="acme", failure_class="tool_error"): 1.0}
    # a forced re-analysis (another process, a restart) reads the verdict from the store: nothing entered
    trace = TraceKey("acme", format(spans[0].context.trace_id, "032x"))
    assert analyze_traces(astore, [trace], RuleSettings()).entered == {}


def test_a_changed_verdict_counts_the_run_again_under_it(astore):
    spans, marks = scenario_spans("tool_error")
    root = next(s for s in spans if s.parent is None)
    store_spans(astore, [s for s in spans if s is not root])
    an = Analyzer(astore, abandon_after_seconds=0.001)
    an.round()  # judged without its root (which names the agent): abandoned, failed at its tool
    assert astore.query("SELECT AgentName, Status, FailureClass FROM agent_runs FINAL") == [
        ("", "abandoned", "tool_error")]
    assert an.scrape(FAILED) == {labels(agent="", tenant="", failure_class="tool_error"): 1.0}
    store_spans(astore, [root])  # the root comes late: the run's verdict now names its agent
    an.round()
    assert an.scrape(FAILED) == {labels(agent="", tenant="", failure_class="tool_error"): 1.0,
                                 labels(agent=AGENT, tenant="", failure_class="tool_error"): 1.0}
    assert an.scrape(ANALYSED) == {labels(agent="", tenant="", outcome="failed"): 1.0,
                                   labels(agent=AGENT, tenant="", outcome="failed"): 1.0}
    assert astore.query("SELECT count() FROM agent_runs FINAL") == [(1,)]
    an.round()  # nothing new: nothing counted
    assert sum(an.scrape(ANALYSED).values()) == 2


def test_agents_past_the_cap_count_as_other(astore):
    an = Analyzer(astore, analyzer_metrics_max_agents=2)
    for tenant in ("t1", "t2", "t3"):  # one round each: the first two pairs take the labels
        store_scenario(astore, "tool_error", tenant=tenant)
        an.round()
    store_scenario(astore, "healthy_two_cities", tenant="t1")  # a labelled pair keeps its label
    store_scenario(astore, "healthy_two_cities", tenant="t4")
    an.round()
    assert an.scrape(ANALYSED) == {
        labels(agent=AGENT, tenant="t1", outcome="failed"): 1.0, labels(agent=AGENT, tenant="t1", outcome="ok"): 1.0,
        labels(agent=AGENT, tenant="t2", outcome="failed"): 1.0,
        labels(agent="other", tenant="t3", outcome="failed"): 1.0, labels(agent="other", tenant="t4", outcome="ok"): 1.0,
    }
    assert an.scrape(FAILED) == {labels(agent=a, tenant=t, failure_class="tool_error"): 1.0
                                 for a, t in ((AGENT, "t1"), (AGENT, "t2"), ("other", "t3"))}
    # a labelled pair's outcomes are exposed from its first run on, at 0 until they count
    text = an.client.get("/metrics").text
    assert series(text, ANALYSED)[labels(agent=AGENT, tenant="t2", outcome="ok")] == 0.0
    assert labels(agent=AGENT, tenant="t3", outcome="ok") not in series(text, ANALYSED)


def test_rounds_of_several_batches_in_worker_processes_count_every_batch(astore):
    for i, scenario in enumerate(("tool_error", "healthy_two_cities", "rate_limited", "loop")):
        store_scenario(astore, scenario, tenant=f"t{i % 2}")
    an = Analyzer(astore, analyzer_workers=2, analyzer_batch_traces=1)  # staged, four batches, two processes
    try:
        an.round()
    finally:
        an.scheduler.close()
    assert an.scrape(ANALYSED) == stored_verdicts(astore) and sum(an.scrape(ANALYSED).values()) == 4
