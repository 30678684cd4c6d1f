"""The analysis pipeline for a batch of traces: load → build runs → analyse → write.

`analyse_runs` is pure: it judges one trace's runs sub-runs first, so each parent
sees what its sub-agents came to (`Run.sub_runs`). `analyse_payload` turns one batch's
encoded spans into result rows (what a worker process runs). `analyse_traces` does the
I/O around it for a batch of traces — each a `TraceKey` (tenant, trace id): two tenants'
spans under one trace id are two traces — and reports which traces were written and which
are still waiting for a root that has not arrived; `analyse_batches` does that for many
batches, overlapping loading, analysis (in worker processes when given) and writing.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from agentmortem.analyzer.core.analysis import analyze_run
from agentmortem.analyzer.core.facts.content import assistant_text
from agentmortem.analyzer.core.facts.view import RunView
from agentmortem.analyzer.core.model import Baseline, Explanation, Run, SubRunOutcome, TraceKey, Verdict
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.core.runs import build_runs
from agentmortem.analyzer.engine.load import (
    BaselineKey,
    load_baselines,
    load_spans,
    oversized,
    spans_from_payload,
    spans_payload,
    trace_keys,
)
from agentmortem.analyzer.engine.workers import AnalysisWorkers
from agentmortem.analyzer.engine.write import Tables, replace_results, result_rows
from agentmortem.semconv.model import CanonicalSpan

from agentmortem.platform.store import Store


@dataclass(frozen=True)
class Analysed:
    """One run with its verdict and post-mortem."""

    run: Run  # sub_runs filled
    verdict: Verdict
    explanation: Explanation
    view: RunView  # the one the analysis derived its facts from (the result rows read it too)


@dataclass(frozen=True)
class BatchResult:
    written: tuple[TraceKey, ...]  # traces whose analysis was written
    pending: tuple[TraceKey, ...]  # traces waiting for their root (not written)
    runs: int


def _outcome(parent: Run, parent_ids: Container[str], sub: Analysed) -> SubRunOutcome:
    root = sub.view.root
    output = root.span.output_messages if root is not None else ""
    caller = root.span.parent_span_id if root is not None else ""
    return SubRunOutcome(
        run_id=sub.run.run_id, parent_span_id=caller if caller in parent_ids else parent.root_span_id,
        agent_name=sub.run.agent_name, outcome=sub.verdict.outcome, failure_class=sub.verdict.failure_class,
        answered=not output or bool(assistant_text(output)),
    )


def analyse_runs(runs: Sequence[Run], baselines: Mapping[BaselineKey, Baseline], rules: RuleSettings) -> list[Analysed]:
    """Analyse runs (any traces), every sub-run before its parent run; results in input order.
    Runs are told apart by trace (tenant and trace id) and run id: two tenants' runs may share ids."""
    done: dict[tuple[TraceKey, str], Analysed] = {}
    for run in reversed(runs):  # `build_runs` lists parents before their sub-runs
        key = run.key
        ids = run.by_id() if run.sub_run_ids else {}  # once per run: per sub-run, wide trees went quadratic
        subs = tuple(_outcome(run, ids, done[key, r]) for r in run.sub_run_ids if (key, r) in done)
        if subs:
            run = replace(run, sub_runs=subs)
        view = RunView(run)
        verdict, explanation = analyze_run(run, baselines.get((run.tenant, run.agent_name)), rules, view)
        done[key, run.run_id] = Analysed(run, verdict, explanation, view)
    return [done[r.key, r.run_id] for r in runs]


def analyse_spans(spans: Iterable[CanonicalSpan], baselines: Mapping[BaselineKey, Baseline],
                  rules: RuleSettings) -> list[Analysed]:
    """Build and analyse the runs of every trace among `spans`."""
    return analyse_runs(build_runs(spans), baselines, rules)


def _analyse_loaded(spans: Iterable[CanonicalSpan], traces: Sequence[TraceKey], rules: RuleSettings,
                    baselines: Mapping[BaselineKey, Baseline], may_abandon: Callable[[TraceKey], bool],
                    truncated: Mapping[TraceKey, tuple[int, int]] | None = None) -> tuple[list[Analysed], BatchResult]:
    """Analyse the loaded spans of these traces, leaving out traces still waiting for their root;
    runs of the traces in `truncated` (loaded in part: spans analysed, spans stored) say so."""
    runs = build_runs(spans)
    if truncated:
        runs = [replace(r, truncated=truncated[r.key]) if r.key in truncated else r for r in runs]
    waiting = {r.key for r in runs if not r.ended and not may_abandon(r.key)}
    analysed = analyse_runs([r for r in runs if r.key not in waiting], baselines, rules)
    written = tuple(t for t in traces if t not in waiting)
    return analysed, BatchResult(written=written, pending=tuple(t for t in traces if t in waiting),
                                 runs=len(analysed))


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
        """(spans analysed, spans stored) of each trace loaded in part."""
        return {k: (self.max_spans, n) for k, n in self.bounded.items()}


def analyse_payload(payload: bytes, job: BatchJob, rules: RuleSettings,
                    baselines: Mapping[BaselineKey, Baseline]) -> tuple[Tables, BatchResult]:
    """One batch from its encoded spans (`spans_payload`) to result rows; no I/O."""
    with _cyclic_gc_paused():
        # In a function of its own so that everything but the rows is freed before the pause
        # ends: the collector's first pass after it scans every tracked object still alive.
        return _rows_of_payload(payload, job, rules, baselines)


def _rows_of_payload(payload: bytes, job: BatchJob, rules: RuleSettings,
                     baselines: Mapping[BaselineKey, Baseline]) -> tuple[Tables, BatchResult]:
    spans = spans_from_payload(payload)
    analysed, result = _analyse_loaded(spans, job.traces, rules, baselines, job.abandonable.__contains__,
                                       job.truncated)
    return result_rows(analysed, job.version), result


def ready() -> None:
    """Nothing: a worker process that runs it has imported the analysis (`AnalysisWorkers.start`)."""


def _job(traces: Sequence[TraceKey], may_abandon: Callable[[TraceKey], bool],
         bounded: Mapping[TraceKey, int] | None = None, max_spans: int = 0) -> BatchJob:
    keys = tuple(TraceKey(*t) for t in traces)
    mine = {k: bounded[k] for k in keys if k in bounded} if bounded else {}
    return BatchJob(keys, frozenset(t for t in keys if may_abandon(t)), time.time_ns(), mine, max_spans)


def analyse_traces(
    store: Store,
    traces: Sequence[TraceKey],
    rules: RuleSettings,
    baselines: Mapping[BaselineKey, Baseline] | None = None,
    may_abandon: Callable[[TraceKey], bool] = lambda trace: True,
    version: int | None = None,
    max_spans: int = 0,
) -> BatchResult:
    """Analyse these traces from the store and write (replace) their results.

    A trace whose top run never ended is left unwritten (pending) unless
    `may_abandon(trace)`; the scheduler says yes once it has been quiet long enough.
    With `max_spans`, a trace holding more spans is analysed on its first `max_spans` only.
    """
    baselines = load_baselines(store) if baselines is None else baselines
    job = _job(traces, may_abandon, oversized(store, traces, max_spans) if max_spans else None, max_spans)
    if version is not None:
        job = replace(job, version=version)
    payload = spans_payload(store, job.traces, for_analysis=True, bounded=job.bounded, max_spans=max_spans)
    tables, result = analyse_payload(payload, job, rules, baselines)
    replace_results(store, tables, result.written, job.version)
    return result


_gc_lock = threading.Lock()
_gc_state: dict = {"users": 0, "was_enabled": True}


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while batches run (reference counting still
    frees everything the analysis drops: it builds no reference cycles).

    A batch allocates a few hundred thousand objects that all live until it is written, and
    the collector kept scanning them, generation after generation, to find no garbage: ~20 %
    of the analysis' CPU at the default thresholds, still ~10 % of a full analysis with a
    100,000 young threshold. Concurrent users share the pause; the last one out resumes it.
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


def analyse_batches(
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
    """`analyse_traces` over consecutive batches, yielding each batch's result once it is written.

    Overlapped: the next batches' spans load on two helper threads (one query runs on about
    one core, so two keep the engine busy while workers wait) and results are written on
    another while batches are analysed (the engine works without holding the GIL). With
    `workers`, up to `workers.count` batches are analysed at once in worker processes;
    without, in this thread, one at a time. `load(i)` gives batch `i`'s spans payload
    (default: `spans_payload` of its traces; a round's stage gives them from its table).
    The traces in `bounded` (their stored span counts) are loaded and analysed on their first
    `max_spans` spans only (a `load` given must load them so).
    """
    if not batches:
        return
    if load is None:
        def load(i: int) -> bytes:
            return spans_payload(store, batches[i], for_analysis=True, bounded=bounded, max_spans=max_spans)
    jobs = [_job(ids, may_abandon, bounded, max_spans) for ids in batches]
    window = workers.count if workers is not None else 1  # batches being analysed at once
    with (_cyclic_gc_paused(), ThreadPoolExecutor(2, "analyzer-load") as loader,
          ThreadPoolExecutor(1, "analyzer-write") as writer):
        loads = deque(loader.submit(load, i) for i in range(min(window + 1, len(batches))))
        analysing: deque[tuple[BatchJob, Future]] = deque()
        written: deque[tuple[Future, BatchResult]] = deque()
        for i, job in enumerate(jobs):
            payload = loads.popleft().result()
            if i + window + 1 < len(batches):
                loads.append(loader.submit(load, i + window + 1))
            analysing.append((job, _analyse(workers, payload, job, rules, baselines)))
            del payload
            while len(analysing) >= window or (analysing and i + 1 == len(jobs)):
                done_job, future = analysing.popleft()
                tables, result = _result(workers, future)
                written.append((writer.submit(replace_results, store, tables, result.written, done_job.version),
                                result))
                while len(written) > 1:
                    yield _written(written.popleft())
        while written:
            yield _written(written.popleft())


def _analyse(workers: AnalysisWorkers | None, payload: bytes, job: BatchJob, rules: RuleSettings,
             baselines: Mapping[BaselineKey, Baseline]) -> Future:
    if workers is not None:
        return workers.submit(analyse_payload, payload, job, rules, dict(baselines))
    future: Future = Future()
    future.set_result(analyse_payload(payload, job, rules, baselines))
    return future


def _result(workers: AnalysisWorkers | None, future: Future) -> tuple[Tables, BatchResult]:
    try:
        return future.result()
    except BaseException as exc:
        if workers is not None:
            workers.discard_if_broken(exc)
        raise


def _written(entry: tuple[Future, BatchResult]) -> BatchResult:
    entry[0].result()
    return entry[1]


def load_runs(store: Store, traces: Sequence[TraceKey] | None = None, rules: RuleSettings | None = None) -> list[Run]:
    """The runs of these traces (default: all) with sub-run outcomes filled, nothing written."""
    keys = trace_keys(store) if traces is None else traces
    analysed = analyse_spans(load_spans(store, keys), {}, rules or RuleSettings())
    return [a.run for a in analysed]
