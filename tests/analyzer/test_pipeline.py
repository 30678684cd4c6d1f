"""The batch pipeline's memory behaviour: what the garbage collector has to scan after a batch."""

from __future__ import annotations

import gc

from analyzer.demo_emit import FLAVOURS
from analyzer.demo_scenarios import SCENARIOS
from analyzer.load import spans_payload
from analyzer.pipeline import BatchJob, analyse_payload
from analyzer.rules.config import RuleSettings
from tests.analyzer.emit import START_NS, store_scenario


def test_a_batch_frees_its_spans_before_the_cyclic_collector_resumes(store):
    """The collection that follows a batch scans its result rows, not every span it analysed
    (with the spans still alive, that one pass cost 0.15–0.3 s per 5,000-trace batch)."""
    trace_ids = [store_scenario(store, s, flavour, START_NS + i * 10**12)["trace_id"]
                 for i, (s, flavour) in enumerate((s, f) for s in SCENARIOS for f in FLAVOURS)]
    payload = spans_payload(store, trace_ids, for_analysis=True)
    spans = store.query("SELECT count() FROM otel_traces WHERE TraceId IN {ids:Array(String)}", {"ids": trace_ids})[0][0]
    job = BatchJob(tuple(trace_ids), frozenset(trace_ids), 1)
    analyse_payload(payload, job, RuleSettings(), {})  # warm: first use fills caches and imports lazily
    scanned: list[int] = []

    def on_collection(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 0:
            scanned.append(len(gc.get_objects(generation=0)))

    was_enabled = gc.isenabled()
    gc.enable()
    gc.collect()
    gc.callbacks.append(on_collection)
    try:
        tables, result = analyse_payload(payload, job, RuleSettings(), {})
    finally:
        gc.callbacks.remove(on_collection)
        if not was_enabled:
            gc.disable()
    assert result.runs >= len(trace_ids) and len(result.written) == len(trace_ids)
    assert spans > 150
    assert max(scanned, default=0) < spans, (scanned, spans)
