"""The analysis itself as Prometheus counters: runs analysed and runs failed, by agent and tenant.

`agentmortem_runs_analysed_total{agent,tenant,outcome}` and
`agentmortem_runs_failed_total{agent,tenant,failure_class}` (failed runs only) count each run
once per verdict it reaches, as the writer reports it (`write.entered_verdicts`): a run's first
analysis counts; re-analysis that confirms the stored verdict (late spans that change nothing,
a restart re-reading old traces, a duplicate delivery) counts nothing; re-analysis that changes
it (a late root turning an abandoned run into a tool error) counts the run again under its new
verdict. Because the previous verdict is read from the store, not from this process's memory,
restarts and several analyzer processes (shards) never count a run twice. Sub-runs are runs.

Counters, not gauges computed from the store: a gauge would need a scan of `agent_runs` per
scrape, shrink when retention drops old partitions, and be exported by every analyzer
process at once; counters are free, additive over shards, and what `rate()` and `increase()`
expect.

Cardinality is bounded: the first `max_agents` distinct (tenant, agent) pairs this process sees
get labels of their own; the runs of any further pair count under `agent="other"` (with their
tenant), and a warning is logged once. Outcomes are three; failure classes are signal types.
Each new (tenant, agent) pair's three outcome series start at 0, so `increase()` sees its first
run; a failure class appears with its first failure.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter

from agentmortem.analyzer.engine.write import RunVerdict

log = logging.getLogger(__name__)

OTHER_AGENT = "other"
OUTCOMES = ("ok", "degraded", "failed")


class RunMetrics:
    """Runs analysed and failed, by agent (capped), tenant, outcome and failure class."""

    def __init__(self, registry: CollectorRegistry, max_agents: int) -> None:
        self.max_agents = max_agents
        self.analysed = Counter("agentmortem_runs_analysed", "Runs by the verdict they reached (counted once per "
                                "verdict: re-analysis that confirms it counts nothing)",
                                ["agent", "tenant", "outcome"], registry=registry)
        self.failed = Counter("agentmortem_runs_failed", "Failed runs by failure class (counted once per verdict)",
                              ["agent", "tenant", "failure_class"], registry=registry)
        self._labelled: set[tuple[str, str]] = set()  # (tenant, agent) pairs with labels of their own
        self._lock = threading.Lock()
        self._warned = False

    def agent_label(self, tenant: str, agent: str) -> str:
        """`agent`, or `OTHER_AGENT` once `max_agents` other pairs hold labels of their own."""
        pair = (tenant, agent)
        if pair in self._labelled:
            return agent
        if len(self._labelled) < self.max_agents:
            self._labelled.add(pair)
            for outcome in OUTCOMES:
                self.analysed.labels(agent, tenant, outcome)
            return agent
        if not self._warned:
            self._warned = True
            log.warning("run metrics: more than %d (tenant, agent) pairs; further agents count as agent=%r "
                        "(AGENTMORTEM_ANALYZER_METRICS_MAX_AGENTS)", self.max_agents, OTHER_AGENT)
        return OTHER_AGENT

    def observe(self, entered: Mapping[RunVerdict, int]) -> None:
        """Count the runs that entered these verdicts."""
        with self._lock:
            for verdict, runs in entered.items():
                agent = self.agent_label(verdict.tenant, verdict.agent)
                self.analysed.labels(agent, verdict.tenant, verdict.outcome).inc(runs)
                if verdict.outcome == "failed":
                    self.failed.labels(agent, verdict.tenant, verdict.failure_class).inc(runs)
