"""The analysis pipeline for a batch of traces: load → build runs → analyze → write.

The runs themselves are judged by the core (`core.analysis.analyze_runs`). `analyze_payload` turns one batch's
encoded spans into result rows (what a worker process runs). `analyze_traces` does the
I/O around it for a batch of traces — each a `TraceKey` (tenant, trace id): two tenants'
spans under one trace id are two traces — and reports which traces were written and which
are still waiting for a root that has not arrived; `analyze_batches` does that for many
batches, overlapping loading, analysis (in worker processes when given) and writing.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from agentmortem.analyzer.core.analysis import Analyzed, analyze_runs, analyze_spans
from agentmortem.analyzer.core.model import Baseline, BaselineKey, Run, TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.core.runs import build_runs
from agentmortem.analyzer.engine.load import (
    load_baselines,
    load_spans,
    oversized,
    spans_from_payload,
    spans_payload,
    trace_keys,
)
from agentmortem.analyzer.engine.workers import AnalysisWorkers
from agentmortem.analyzer.engine.write import RunVerdict, Tables, replace_results, result_rows
from agentmortem.platform.store import Store
from agentmortem.semconv.model import CanonicalSpan


@dataclass(frozen=True)
class BatchResult:
    written: tuple[TraceKey, ...]  # traces whose analysis was written
    pending: tuple[TraceKey, ...]  # traces waiting for their root (not written)
    runs: int
    # Verdicts the written runs entered (new runs, changed verdicts; `write.entered_verdicts`).
    entered: Mapping[RunVerdict, int] = field(default_factory=dict)


def _analyze_loaded(spans: Iterable[CanonicalSpan], traces: Sequence[TraceKey], rules: RuleSettings,
                    baselines: Mapping[BaselineKey, Baseline], may_abandon: Callable[[TraceKey], bool],
                    truncated: Mapping[TraceKey, tuple[int, int]] | None = None) -> tuple[list[Analyzed], BatchResult]:
    """Analyze the loaded spans of these traces, leaving out traces still waiting for their root;
    runs of the traces in `truncated` (loaded in part: spans analyzed, spans stored) say so."""
    runs = build_runs(spans)
    if truncated:
        runs = [replace(r, truncated=truncated[r.key]) if r.key in truncated else r for r in runs]
    waiting = {r.key for r in runs if not r.ended and not may_abandon(r.key)}
    analyzed = analyze_runs([r for r in runs if r.key not in waiting], baselines, rules)
    written = tuple(t for t in traces if t not in waiting)
    return analyzed, BatchResult(written=written, pending=tuple(t for t in traces if t in waiting),
                                 runs=len(analyzed))


@dataclass(frozen=True)
class BatchJob:
    """What a batch's analysis needs besides its spans (picklable, for worker processes)."""

    traces: tuple[TraceKey, ...]
    abandonable: frozenset[TraceKey]  # traces that may be judged abandoned if their root is missing
    version: int  # of the rows written (nanoseconds when the batch was planned)
    # Traces loaded in part (the first `max_spans` spans): their stored span counts.
    bounded: Mapping[TraceKey, int] = field(default_factory=dict)
    max_spans: int = 0

    @property
    def truncated(self) -> dict[TraceKey, tuple[int, int]]:
        """(spans analyzed, spans stored) of each trace loaded in part."""
        return {k: (self.max_spans, n) for k, n in self.bounded.items()}


def analyze_payload(payload: bytes, job: BatchJob, rules: RuleSettings,
                    baselines: Mapping[BaselineKey, Baseline]) -> tuple[Tables, BatchResult]:
    """One batch from its encoded spans (`spans_payload`) to result rows; no I/O."""
    with _cyclic_gc_paused():
        # In a function of its own so that everything but the rows is freed before the pause
        # ends: the collector's first pass after it scans every tracked object still alive.
        return _rows_of_payload(payload, job, rules, baselines)


def _rows_of_payload(payload: bytes, job: BatchJob, rules: RuleSettings,
                     baselines: Mapping[BaselineKey, Baseline]) -> tuple[Tables, BatchResult]:
    spans = spans_from_payload(payload)
    analyzed, result = _analyze_loaded(spans, job.traces, rules, baselines, job.abandonable.__contains__,
                                       job.truncated)
    return result_rows(analyzed, job.version), result


def ready() -> None:
    """Nothing: a worker process that runs it has imported the analysis (`AnalysisWorkers.start`)."""


def _job(traces: Sequence[TraceKey], may_abandon: Callable[[TraceKey], bool],
         bounded: Mapping[TraceKey, int] | None = None, max_spans: int = 0) -> BatchJob:
    keys = tuple(TraceKey(*t) for t in traces)
    mine = {k: bounded[k] for k in keys if k in bounded} if bounded else {}
    return BatchJob(keys, frozenset(t for t in keys if may_abandon(t)), time.time_ns(), mine, max_spans)


def analyze_traces(
    store: Store,
    traces: Sequence[TraceKey],
    rules: RuleSettings,
    baselines: Mapping[BaselineKey, Baseline] | None = None,
    may_abandon: Callable[[TraceKey], bool] = lambda trace: True,
    version: int | None = None,
    max_spans: int = 0,
) -> BatchResult:
    """Analyze these traces from the store and write (replace) their results.

    A trace whose top run never ended is left unwritten (pending) unless
    `may_abandon(trace)`; the scheduler says yes once it has been quiet long enough.
    With `max_spans`, a trace holding more spans is analyzed on its first `max_spans` only.
    """
    baselines = load_baselines(store) if baselines is None else baselines
    job = _job(traces, may_abandon, oversized(store, traces, max_spans) if max_spans else None, max_spans)
    if version is not None:
        job = replace(job, version=version)
    payload = spans_payload(store, job.traces, for_analysis=True, bounded=job.bounded, max_spans=max_spans)
    tables, result = analyze_payload(payload, job, rules, baselines)
    return replace(result, entered=replace_results(store, tables, result.written, job.version))


_gc_lock = threading.Lock()
_gc_state: dict = {"users": 0, "was_enabled": True}


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while batches run (reference counting still
    frees everything the analysis drops: it builds no reference cycles).

    A batch allocates a few hundred thousand objects that all live until it is written, and
    the collector kept scanning them, generation after generation, to find no garbage: a large
    share of the analysis' CPU at the default thresholds, and still a noticeable one with a
    100,000 young threshold (figures in docs/benchmarks.md). Concurrent users share the pause;
    the last one out resumes it.
    """
    with _gc_lock:
        if _gc_state["users"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["users"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["users"] -= 1
            if _gc_state["users"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


def analyze_batches(
    store: Store,
    batches: Sequence[Sequence[TraceKey]],
    rules: RuleSettings,
    baselines: Mapping[BaselineKey, Baseline],
    may_abandon: Callable[[TraceKey], bool] = lambda trace: True,
    workers: AnalysisWorkers | None = None,
    load: Callable[[int], bytes] | None = None,
    bounded: Mapping[TraceKey, int] | None = None,
    max_spans: int = 0,
) -> Iterator[BatchResult]:
    """`analyze_traces` over consecutive batches, yielding each batch's result once it is written.

    Overlapped: the next batches' spans load on two helper threads (one query runs on about
    one core, so two keep the engine busy while workers wait) and results are written on
    another while batches are analyzed (the engine works without holding the GIL). With
    `workers`, up to `workers.count` batches are analyzed at once in worker processes;
    without, in this thread, one at a time. `load(i)` gives batch `i`'s spans payload
    (default: `spans_payload` of its traces; a round's stage gives them from its table).
    The traces in `bounded` (their stored span counts) are loaded and analyzed on their first
    `max_spans` spans only (a `load` given must load them so).
    """
    if not batches:
        return
    if load is None:
        def load(i: int) -> bytes:
            return spans_payload(store, batches[i], for_analysis=True, bounded=bounded, max_spans=max_spans)
    jobs = [_job(ids, may_abandon, bounded, max_spans) for ids in batches]
    window = workers.count if workers is not None else 1  # batches being analyzed at once
    with (_cyclic_gc_paused(), ThreadPoolExecutor(2, "analyzer-load") as loader,
          ThreadPoolExecutor(1, "analyzer-write") as writer):
        loads = deque(loader.submit(load, i) for i in range(min(window + 1, len(batches))))
        analyzing: deque[tuple[BatchJob, Future]] = deque()
        written: deque[tuple[Future, BatchResult]] = deque()
        for i, job in enumerate(jobs):
            payload = loads.popleft().result()
            if i + window + 1 < len(batches):
                loads.append(loader.submit(load, i + window + 1))
            analyzing.append((job, _analyze(workers, payload, job, rules, baselines)))
            del payload
            while len(analyzing) >= window or (analyzing and i + 1 == len(jobs)):
                done_job, future = analyzing.popleft()
                tables, result = _result(workers, future)
                written.append((writer.submit(replace_results, store, tables, result.written, done_job.version),
                                result))
                while len(written) > 1:
                    yield _written(written.popleft())
        while written:
            yield _written(written.popleft())


def _analyze(workers: AnalysisWorkers | None, payload: bytes, job: BatchJob, rules: RuleSettings,
             baselines: Mapping[BaselineKey, Baseline]) -> Future:
    if workers is not None:
        return workers.submit(analyze_payload, payload, job, rules, dict(baselines))
    future: Future = Future()
    future.set_result(analyze_payload(payload, job, rules, baselines))
    return future


def _result(workers: AnalysisWorkers | None, future: Future) -> tuple[Tables, BatchResult]:
    try:
        return future.result()
    except BaseException as exc:
        if workers is not None:
            workers.discard_if_broken(exc)
        raise


def _written(entry: tuple[Future, BatchResult]) -> BatchResult:
    return replace(entry[1], entered=entry[0].result())


def load_runs(store: Store, traces: Sequence[TraceKey] | None, rules: RuleSettings) -> list[Run]:
    """The runs of these traces (None: all) with sub-run outcomes filled, nothing written."""
    keys = trace_keys(store) if traces is None else traces
    analyzed = analyze_spans(load_spans(store, keys), {}, rules)
    return [a.run for a in analyzed]
