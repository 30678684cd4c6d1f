"""The analyzer as a service: a round every few seconds over a ready store.

`AnalyzerService.start()` starts a background task that runs `Scheduler.run_once` in a
worker thread every `analyzer_interval_seconds`; `stop()` lets the current round finish.
The tables must exist already: the command line creates or verifies them before any
service starts (`agentmortem.cli.schema`). A failing round is logged and retried next time.
Counters join the given Prometheus registry (in `serve`, the collector's `/metrics`; the
`analyzer` command alone serves them on a port of its own): the analyzer's health here, the
runs it judged by agent, tenant and verdict in `run_metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import CollectorRegistry, Counter, Gauge

from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings, Shard
from agentmortem.analyzer.engine.run_metrics import RunMetrics
from agentmortem.analyzer.engine.scheduler import RoundResult, Scheduler
from agentmortem.platform.store import Store, StoreError

log = logging.getLogger(__name__)


class AnalyzerMetrics:
    """The analyzer's own health, and the runs it judged (`by_agent`)."""

    def __init__(self, registry: CollectorRegistry | None = None, max_agents: int = 200) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.by_agent = RunMetrics(r, max_agents)
        self.traces = Counter("agentmortem_analyzer_traces_analysed", "Traces analyzed and written", registry=r)
        self.runs = Counter("agentmortem_analyzer_runs_analysed", "Runs analyzed and written", registry=r)
        self.rounds = Counter("agentmortem_analyzer_rounds", "Analysis rounds by outcome", ["outcome"], registry=r)
        self.pending = Gauge("agentmortem_analyzer_pending_traces", "Traces waiting for their root", registry=r)
        self.watermark = Gauge("agentmortem_analyzer_watermark_ms", "Activity analyzed up to (ms)", registry=r)
        self.seconds = Gauge("agentmortem_analyzer_round_seconds", "Duration of the last round", registry=r)

    def observe(self, result: RoundResult) -> None:
        self.traces.inc(result.analyzed)
        self.runs.inc(result.runs)
        self.rounds.labels("ok").inc()
        self.pending.set(result.pending)
        self.watermark.set(result.watermark_ms)
        self.seconds.set(result.seconds)


class AnalyzerService:
    """Periodic, incremental analysis of settled traces into the analysis tables."""

    def __init__(self, store: Store, settings: AnalyzerSettings, rules: RuleSettings,
                 shard: Shard | None = None, registry: CollectorRegistry | None = None) -> None:
        self.store, self.settings = store, settings
        self.metrics = AnalyzerMetrics(registry, settings.analyzer_metrics_max_agents)
        self.scheduler = Scheduler(store, settings, rules, shard, on_round=self.metrics.observe,
                                   on_entered=self.metrics.by_agent.observe)
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name="analyzer")
        log.info("analyzer started (%s, every %.1fs)", self.scheduler.name, self.settings.analyzer_interval_seconds)

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.scheduler.run_once)
            except StoreError as exc:
                self.metrics.rounds.labels("error").inc()
                log.warning("analysis round failed, retrying next round: %s", exc)
            except Exception:  # a bug in one round must not stop the service
                self.metrics.rounds.labels("error").inc()
                log.exception("analysis round crashed, retrying next round")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.analyzer_interval_seconds)

    async def stop(self) -> None:
        """Finish the current round, then stop."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        await asyncio.to_thread(self.scheduler.close)
        log.info("analyzer stopped")
