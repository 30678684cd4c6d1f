"""The analysis pipeline for a batch of traces: load → build runs → analyse → write.

`analyse_runs` is pure: it judges one trace's runs sub-runs first, so each parent
sees what its sub-agents came to (`Run.sub_runs`). `analyse_traces` does the I/O
around it for a batch of trace ids and reports which traces were written and which
are still waiting for a root that has not arrived.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from analyzer.analysis import analyze_run
from analyzer.load import BaselineKey, all_trace_ids, load_baselines, load_spans
from analyzer.model import Baseline, Explanation, Run, SubRunOutcome, Verdict
from analyzer.rules.config import RuleSettings
from analyzer.rules.content import assistant_text
from analyzer.runs import build_runs
from analyzer.write import write_results
from collector.store import Store
from semconv.model import CanonicalSpan


@dataclass(frozen=True)
class Analysed:
    """One run with its verdict and post-mortem."""

    run: Run  # sub_runs filled
    verdict: Verdict
    explanation: Explanation


@dataclass(frozen=True)
class BatchResult:
    written: tuple[str, ...]  # trace ids whose analysis was written
    pending: tuple[str, ...]  # trace ids waiting for their root (not written)
    runs: int


def _outcome(parent: Run, sub: Analysed) -> SubRunOutcome:
    root = sub.run.by_id().get(sub.run.root_span_id)
    output = root.span.output_messages if root is not None else ""
    caller = root.span.parent_span_id if root is not None else ""
    return SubRunOutcome(
        run_id=sub.run.run_id, parent_span_id=caller if caller in parent.by_id() else parent.root_span_id,
        agent_name=sub.run.agent_name, outcome=sub.verdict.outcome, failure_class=sub.verdict.failure_class,
        answered=not output or bool(assistant_text(output)),
    )


def analyse_runs(runs: Sequence[Run], baselines: Mapping[BaselineKey, Baseline], rules: RuleSettings) -> list[Analysed]:
    """Analyse runs (any traces), every sub-run before its parent run; results in input order."""
    done: dict[str, Analysed] = {}
    for run in reversed(runs):  # `build_runs` lists parents before their sub-runs
        subs = tuple(_outcome(run, done[r]) for r in run.sub_run_ids if r in done)
        if subs:
            run = replace(run, sub_runs=subs)
        verdict, explanation = analyze_run(run, baselines.get((run.tenant, run.agent_name)), rules)
        done[run.run_id] = Analysed(run, verdict, explanation)
    return [done[r.run_id] for r in runs]


def analyse_spans(spans: Iterable[CanonicalSpan], baselines: Mapping[BaselineKey, Baseline],
                  rules: RuleSettings) -> list[Analysed]:
    """Build and analyse the runs of every trace among `spans`."""
    return analyse_runs(build_runs(spans), baselines, rules)


def _analyse_loaded(spans: Iterable[CanonicalSpan], trace_ids: Sequence[str], rules: RuleSettings,
                    baselines: Mapping[BaselineKey, Baseline],
                    may_abandon: Callable[[str], bool]) -> tuple[list[Analysed], BatchResult]:
    """Analyse the loaded spans of these traces, leaving out traces still waiting for their root."""
    runs = build_runs(spans)
    waiting = {r.trace_id for r in runs if not r.ended and not may_abandon(r.trace_id)}
    analysed = analyse_runs([r for r in runs if r.trace_id not in waiting], baselines, rules)
    written = tuple(t for t in trace_ids if t not in waiting)
    return analysed, BatchResult(written=written, pending=tuple(t for t in trace_ids if t in waiting),
                                 runs=len(analysed))


def analyse_traces(
    store: Store,
    trace_ids: Sequence[str],
    rules: RuleSettings,
    baselines: Mapping[BaselineKey, Baseline] | None = None,
    may_abandon: Callable[[str], bool] = lambda trace_id: True,
    version: int | None = None,
) -> BatchResult:
    """Analyse these traces from the store and write (replace) their results.

    A trace whose top run never ended is left unwritten (pending) unless
    `may_abandon(trace_id)`; the scheduler says yes once it has been quiet long enough.
    """
    baselines = load_baselines(store) if baselines is None else baselines
    spans = load_spans(store, trace_ids, for_analysis=True)
    analysed, result = _analyse_loaded(spans, trace_ids, rules, baselines, may_abandon)
    write_results(store, analysed, result.written, version or time.time_ns())
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
    batches: Sequence[Sequence[str]],
    rules: RuleSettings,
    baselines: Mapping[BaselineKey, Baseline],
    may_abandon: Callable[[str], bool] = lambda trace_id: True,
) -> Iterator[BatchResult]:
    """`analyse_traces` over consecutive batches, yielding each batch's result once it is written.

    Overlapped: while one batch is analysed, the next one's spans load and the previous one's
    results are written on two helper threads. The engine does that work without holding the
    GIL, so on two cores it runs beside the analysis instead of before and after it.
    """
    if not batches:
        return
    with (_cyclic_gc_paused(), ThreadPoolExecutor(1, "analyzer-load") as loader,
          ThreadPoolExecutor(1, "analyzer-write") as writer):
        loading = loader.submit(load_spans, store, batches[0], for_analysis=True)
        written: tuple[Future, BatchResult] | None = None
        for i, trace_ids in enumerate(batches):
            spans = loading.result()
            if i + 1 < len(batches):
                loading = loader.submit(load_spans, store, batches[i + 1], for_analysis=True)
            analysed, result = _analyse_loaded(spans, trace_ids, rules, baselines, may_abandon)
            del spans
            writing = writer.submit(write_results, store, analysed, result.written, time.time_ns())
            if written is not None:
                written[0].result()
                yield written[1]
            written = (writing, result)
        if written is not None:
            written[0].result()
            yield written[1]


def load_runs(store: Store, trace_ids: Sequence[str] | None = None, rules: RuleSettings | None = None) -> list[Run]:
    """The runs of these traces (default: all) with sub-run outcomes filled, nothing written."""
    ids = all_trace_ids(store) if trace_ids is None else trace_ids
    analysed = analyse_spans(load_spans(store, ids), {}, rules or RuleSettings())
    return [a.run for a in analysed]
