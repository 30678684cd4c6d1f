"""The batch pipeline's memory behaviour: what the garbage collector has to scan after a batch."""

from __future__ import annotations

import gc

from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.load import spans_payload
from agentmortem.analyzer.engine.pipeline import BatchJob, analyze_payload


def test_a_batch_frees_its_spans_before_the_cyclic_collector_resumes(store, scenario_traces):
    """The collection that follows a batch scans its result rows, not every span it analyzed
    (with the spans still alive, that one pass cost 0.15–0.3 s per 5,000-trace batch)."""
    trace_ids = scenario_traces
    payload = spans_payload(store, trace_ids, for_analysis=True)
    spans = store.query("SELECT count() FROM otel_traces WHERE TraceId IN {ids:Array(String)}",
                        {"ids": [t.trace_id for t in trace_ids]})[0][0]
    job = BatchJob(tuple(trace_ids), frozenset(trace_ids), 1)
    analyze_payload(payload, job, RuleSettings(), {})  # warm: first use fills caches and imports lazily
    scanned: list[int] = []

    def on_collection(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 0:
            scanned.append(len(gc.get_objects(generation=0)))

    was_enabled = gc.isenabled()
    gc.enable()
    gc.collect()
    gc.callbacks.append(on_collection)
    try:
        _, result = analyze_payload(payload, job, RuleSettings(), {})
    finally:
        gc.callbacks.remove(on_collection)
        if not was_enabled:
            gc.disable()
    assert result.runs >= len(trace_ids) and len(result.written) == len(trace_ids)
    assert spans > 150
    assert max(scanned, default=0) < spans, (scanned, spans)
