"""Which traces to analyze now, and the watermark that keeps each round small.

A trace is a (tenant, trace id) (`TraceKey`). Activity comes from `agent_activity`
(filled by a materialized view at INSERT time, see migrations 0002 and 0004), so "new"
means *newly stored*, whatever the spans' own timestamps say: a late span with an old
timestamp moves its trace's `LastSeen` and the trace is analyzed again. Per trace,
`agent_analysis_state` records the `LastSeen` its latest analysis covered. Shards split
trace ids, so every tenant's trace under one trace id lands in the same shard.

A trace is due when it changed since its last analysis and has *settled*: its root span
has arrived (a root is only exported once it ended), or no span arrived for
`settle_seconds`. When its top run still has no root, it is not written but kept
*pending* until `abandon_after_seconds` of quiet, then analyzed as abandoned (unless
the root arrives first).

Watermark (per shard): every trace whose activity is older than it is fully analyzed.
Each round scans activity from the watermark on and moves it to the older of
`now - analyzer_lag_seconds` and the oldest trace still unsettled or pending.
Limits: the lag must cover the time an INSERT takes to become visible (default 15 s);
a trace pending for abandonment holds the watermark back (each round rescans from it);
the clock is the database's `now64()`, so analyzers on other hosts agree with it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.baselines import recompute_baselines
from agentmortem.analyzer.engine.config import AnalyzerSettings, Shard
from agentmortem.analyzer.engine.load import load_baselines, oversized
from agentmortem.analyzer.engine.pipeline import analyze_batches, ready
from agentmortem.analyzer.engine.stage import RoundStage, stage_prefix, staged_batches
from agentmortem.analyzer.engine.tables import AGENT_ANALYSIS_STATE, AGENT_WATERMARKS
from agentmortem.analyzer.engine.workers import AnalysisWorkers
from agentmortem.analyzer.engine.write import RunVerdict
from agentmortem.platform.store import Store

log = logging.getLogger(__name__)

_SHARD = "cityHash64(TraceId) % {shards:UInt64} = {shard:UInt64}"
_ACTIVE = f"""
        SELECT Tenant, TraceId FROM agent_activity
        WHERE LastSeen >= fromUnixTimestamp64Milli({{since:Int64}}) AND {_SHARD}"""
_CANDIDATES = f"""
WITH toUnixTimestamp64Milli(now64(3)) AS now_ms
SELECT a.Tenant, a.TraceId, a.LastSeenMs, a.HasRoot, s.LastSeenMs, s.Pending, now_ms, a.Deliveries
FROM (
    SELECT Tenant, TraceId, toUnixTimestamp64Milli(max(LastSeen)) AS LastSeenMs, max(HasRoot) AS HasRoot,
           sum(Deliveries) AS Deliveries
    FROM agent_activity
    WHERE (Tenant, TraceId) IN ({_ACTIVE})
    GROUP BY Tenant, TraceId
) AS a
LEFT JOIN (
    SELECT Tenant, TraceId, LastSeenMs, Pending FROM agent_analysis_state FINAL
    WHERE (Tenant, TraceId) IN ({_ACTIVE})
) AS s ON a.Tenant = s.Tenant AND a.TraceId = s.TraceId
SETTINGS join_use_nulls = 0
"""


@dataclass(frozen=True)
class Candidate:
    """A trace with activity since the watermark."""

    key: TraceKey
    last_seen_ms: int
    has_root: bool
    done_ms: int  # LastSeen covered by its latest analysis (0 = never analyzed)
    pending: bool
    deliveries: int = 0  # spans stored, duplicate deliveries included (an upper bound of its spans)

    @property
    def changed(self) -> bool:
        return self.last_seen_ms > self.done_ms


@dataclass(frozen=True)
class Plan:
    """One round's decision: what to analyze and where the watermark may move."""

    due: tuple[Candidate, ...]  # oldest activity first
    waiting: tuple[Candidate, ...]  # changed or pending, not yet settled
    now_ms: int


def plan_round(candidates: list[Candidate], now_ms: int, settings: AnalyzerSettings) -> Plan:
    """Pure: split candidates into due and waiting traces."""
    settle_ms = settings.settle_seconds * 1000
    abandon_ms = settings.abandon_after_seconds * 1000
    due, waiting = [], []
    for c in candidates:
        quiet = now_ms - c.last_seen_ms
        if c.changed and (c.has_root or quiet >= settle_ms):
            due.append(c)
        elif c.pending and quiet >= abandon_ms:
            due.append(c)
        elif c.changed or c.pending:
            waiting.append(c)
    due.sort(key=lambda c: (c.last_seen_ms, c.key))
    return Plan(tuple(due), tuple(waiting), now_ms)


def next_watermark(current_ms: int, unfinished: list[Candidate], now_ms: int, lag_seconds: float) -> int:
    """The oldest activity that may still need work (never moves backwards)."""
    bound = now_ms - int(lag_seconds * 1000)
    oldest = min((c.last_seen_ms for c in unfinished), default=bound)
    return max(current_ms, min(bound, oldest))


@dataclass(frozen=True)
class RoundResult:
    analyzed: int  # traces written
    pending: int  # traces waiting for their root
    runs: int
    watermark_ms: int
    seconds: float


class Scheduler:
    """One analyzer's rounds over its shard of traces."""

    def __init__(self, store: Store, settings: AnalyzerSettings, rules: RuleSettings, shard: Shard | None = None,
                 on_round: Callable[[RoundResult], None] | None = None,
                 on_entered: Callable[[Mapping[RunVerdict, int]], None] | None = None) -> None:
        """`on_round` hears each round's result; `on_entered`, as each batch is written, the verdicts
        its runs entered (so a round that fails half-way still reports what it wrote)."""
        self.store, self.settings, self.rules = store, settings, rules
        self.shard = shard or settings.shard
        self.name = f"shard {self.shard.name}"
        self.on_round = on_round
        self.on_entered = on_entered
        self._watermark: int | None = None
        self._baselines_at = 0.0
        # Worker processes pay off from two batches in a round on; they start on first use.
        self._workers = AnalysisWorkers(settings.analyzer_workers) if settings.analyzer_workers > 1 else None

    def close(self) -> None:
        """Stop this scheduler's analysis worker processes, if any were started."""
        if self._workers is not None:
            self._workers.close()

    # -- watermark -----------------------------------------------------------------------
    def watermark(self) -> int:
        if self._watermark is None:
            rows = self.store.query("SELECT WatermarkMs FROM agent_watermarks FINAL WHERE Name = {n:String}",
                                    {"n": self.name})
            self._watermark = int(rows[0][0]) if rows else 0
        return self._watermark

    def _save_watermark(self, value: int) -> None:
        if value != self._watermark:
            w = AGENT_WATERMARKS.c
            AGENT_WATERMARKS.insert(self.store, {w.Name: [self.name], w.WatermarkMs: [value], w.Version: [time.time_ns()]})
            self._watermark = value

    # -- a round -------------------------------------------------------------------------
    def candidates(self) -> tuple[list[Candidate], int]:
        """Traces with activity since the watermark, and the database's clock (ms)."""
        rows = self.store.query(_CANDIDATES, {"since": self.watermark(), "shards": self.shard.count,
                                              "shard": self.shard.index})
        now_ms = int(rows[0][6]) if rows else int(self.store.query("SELECT toUnixTimestamp64Milli(now64(3))")[0][0])
        return [Candidate(TraceKey(r[0], r[1]), int(r[2]), bool(r[3]), int(r[4]), bool(r[5]), int(r[7]))
                for r in rows], now_ms

    def run_once(self) -> RoundResult:
        """Analyze every due trace of this shard (up to the per-round cap) and move the watermark."""
        started = time.perf_counter()
        self._maybe_recompute_baselines()
        candidates, now_ms = self.candidates()
        plan = plan_round(candidates, now_ms, self.settings)
        cap = self.settings.analyzer_max_traces_per_round
        due, deferred = plan.due[:cap], list(plan.due[cap:])
        written = pending = runs = 0
        baselines = load_baselines(self.store) if due else {}
        quiet = {c.key: now_ms - c.last_seen_ms for c in due}
        abandon_ms = self.settings.abandon_after_seconds * 1000
        by_key = {c.key: c for c in due}
        still_pending: list[Candidate] = []
        s = self.settings
        max_spans = s.analyzer_max_spans_per_trace
        batches = staged_batches([c.key for c in due], s.analyzer_batch_traces, self._workers.count if self._workers else 1,
                                 {c.key: min(c.deliveries, max_spans) for c in due}, s.analyzer_batch_spans)
        staged = len(batches) > 1  # rounds of several batches are staged and go to the workers
        workers = self._workers if staged else None
        if workers is not None:
            workers.start(ready)  # while the round stages
        bounded = oversized(self.store, [c.key for c in due if c.deliveries > max_spans], max_spans)
        with (RoundStage(self.store, stage_prefix(self.shard), batches, bounded=bounded, max_spans=max_spans)
              if staged else contextlib.nullcontext()) as stage:
            for result in analyze_batches(self.store, batches, self.rules, baselines,
                                          may_abandon=lambda t: quiet[t] >= abandon_ms, workers=workers,
                                          load=stage.payload if stage else None, bounded=bounded,
                                          max_spans=max_spans):
                if self.on_entered and result.entered:  # written: counted even if what follows fails
                    self.on_entered(result.entered)
                self._record(by_key, result.written, result.pending)
                written, pending = written + len(result.written), pending + len(result.pending)
                runs += result.runs
                still_pending += [by_key[t] for t in result.pending]
        unfinished = [*plan.waiting, *deferred, *still_pending]
        self._save_watermark(next_watermark(self.watermark(), unfinished, now_ms, self.settings.analyzer_lag_seconds))
        result = RoundResult(written, pending, runs, self.watermark(), time.perf_counter() - started)
        if written or pending:
            log.info("analyzed %d trace(s), %d run(s), %d pending, in %.2fs (%s)", written, runs, pending,
                     result.seconds, self.name)
        if self.on_round:
            self.on_round(result)
        return result

    def _record(self, by_key: dict[TraceKey, Candidate], written: tuple[TraceKey, ...],
                pending: tuple[TraceKey, ...]) -> None:
        keys = [*written, *pending]
        if not keys:
            return
        st = AGENT_ANALYSIS_STATE.c
        AGENT_ANALYSIS_STATE.insert(self.store, {
            st.Tenant: [k.tenant for k in keys], st.TraceId: [k.trace_id for k in keys],
            st.LastSeenMs: [by_key[k].last_seen_ms for k in keys], st.Pending: [0] * len(written) + [1] * len(pending),
            st.Version: [time.time_ns()] * len(keys),
        })

    def _maybe_recompute_baselines(self) -> None:
        if self.shard.index != 0 or time.monotonic() - self._baselines_at < self.settings.baseline_interval_seconds:
            return
        recompute_baselines(self.store, self.settings.baseline_window_days)
        self._baselines_at = time.monotonic()
