"""Round staging: a staged batch holds exactly the spans a direct load gives, staged rounds write
what per-trace analysis writes, and the scratch tables never outlive the round."""

from __future__ import annotations

import pytest

from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings, Shard
from agentmortem.analyzer.engine.load import load_spans, spans_from_payload
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.analyzer.engine.scheduler import Scheduler
from agentmortem.analyzer.engine.stage import (
    STALE_STAGE_SECONDS,
    RoundStage,
    drop_stale_stages,
    stage_prefix,
    staged_batches,
)
from agentmortem.platform.store import StoreError
from tests.support.analysis_tables import analysis_rows

RULES = RuleSettings()
PREFIX = "agent_round_stage_9_of_10_"


def _tables(store) -> set[str]:
    return {r[0] for r in store.query("SELECT name FROM system.tables WHERE database = currentDatabase()")}


def _stages(store) -> set[str]:
    return {t for t in _tables(store) if t.startswith("agent_round_stage")}


def _by_key(spans) -> list[dict]:
    return sorted((s._asdict() for s in spans), key=lambda d: (d["trace_id"], d["span_id"], d["start_ns"]))


def test_stage_tables_of_a_shard_share_its_prefix():
    assert stage_prefix(Shard(1, 3)) == "agent_round_stage_1_of_3_"


def test_batches_are_sorted_ranges_of_even_sizes_in_whole_waves():
    ids = ["c", "a", "d", "b", "e", "g", "f"]
    assert staged_batches(ids[:5], 2) == [["a"], ["b", "c"], ["d", "e"]]  # 3 batches of at most 2, sizes ±1
    assert staged_batches(ids[:4], 4) == [["a", "b", "c", "d"]]  # one batch stays one, whatever the workers
    assert staged_batches(ids[:4], 4, parallel=2) == [["a", "b", "c", "d"]]
    # 7 traces in batches of ≤ 3 are 3 batches; 2 workers make that 4, so the last wave keeps both busy
    assert staged_batches(ids, 3, parallel=2) == [["a"], ["b", "c"], ["d", "e"], ["f", "g"]]
    assert staged_batches(ids, 3, parallel=3) == [["a", "b"], ["c", "d"], ["e", "f", "g"]]
    # never more batches than traces, never an empty one
    assert staged_batches(["b", "c", "a"], 2, parallel=8) == [["a"], ["b"], ["c"]]
    for size in range(1, 8):
        for parallel in range(1, 5):
            batches = staged_batches(ids, size, parallel)
            assert [t for b in batches for t in b] == sorted(ids)
            assert all(0 < len(b) <= size for b in batches)
            assert max(map(len, batches)) - min(map(len, batches)) <= 1
            assert len(batches) == 1 or len(batches) % parallel == 0 or len(batches) == len(ids)


def test_batches_of_big_traces_hold_fewer_traces():
    ids = ["a", "b", "c", "d", "e", "f"]
    spans = {"a": 10, "b": 10, "c": 250, "d": 10, "e": 40, "f": 40}
    # 10 traces or 100 spans a batch: c alone is more than a batch; a, b and d, e, f share theirs
    assert staged_batches(ids, 10, spans=spans, batch_spans=100) == [["a", "b"], ["c"], ["d", "e", "f"]]
    assert staged_batches(ids, 10, spans=spans, batch_spans=1000) == [ids]  # all fit in one
    assert staged_batches(ids, 2, spans=spans, batch_spans=1000) == [["a", "b"], ["c", "d"], ["e", "f"]]
    for budget in (1, 30, 100, 300):
        for parallel in (1, 2, 3):
            batches = staged_batches(ids, 3, parallel, spans, budget)
            assert [t for b in batches for t in b] == ids and all(batches)


def test_batches_must_be_ranges_of_sorted_ids(store):
    with pytest.raises(ValueError, match="sorted"):
        RoundStage(store, PREFIX, [["b", "a"]])
    with pytest.raises(ValueError, match="sorted"):
        RoundStage(store, PREFIX, [["a", "c"], ["b", "d"]])
    with pytest.raises(ValueError, match="sorted"):
        RoundStage(store, PREFIX, [["a"], []])


def test_each_staged_batch_holds_exactly_the_spans_a_direct_load_gives(store, scenario_traces):
    batches = staged_batches(scenario_traces, 5)
    assert len(batches) >= 8  # several batches, each a range of the stage
    offering = 0
    with RoundStage(store, PREFIX, batches) as stage:
        for i, batch in enumerate(batches):
            staged = spans_from_payload(stage.payload(i))
            assert {(s.tenant, s.trace_id) for s in staged} == set(batch)
            assert _by_key(staged) == _by_key(load_spans(store, batch, for_analysis=True))
            offering += sum(1 for s in staged if s.tool_definitions)
        # Tool definitions were mapped once per distinct offer (per chunk), not once per model call.
        mapped = store.query(f"SELECT count() FROM {stage.values_table} WHERE Value != ''")[0][0]
        assert 0 < mapped < offering / 4
    assert not _stages(store)


def test_a_staged_round_writes_what_per_trace_analysis_writes_and_leaves_no_stage(store, scenario_traces):
    migrate_analyzer(store)
    settings = AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0, abandon_after_seconds=0.001,
                                analyzer_batch_traces=3, analyzer_workers=0)  # staged, analyzed in this process
    result = Scheduler(store, settings, RULES).run_once()
    assert result.analyzed == len(scenario_traces) and result.pending == 0
    staged = analysis_rows(store)
    assert not _stages(store)
    analyze_traces(store, scenario_traces, RULES)  # unstaged, one trace list: replaces every row
    assert analysis_rows(store) == staged
    assert len(staged["agent_runs"]) >= len(scenario_traces)


def test_a_chunk_that_fails_fails_the_batches_waiting_for_it_and_the_tables_still_go(store, scenario_traces):
    batches = staged_batches(scenario_traces, 5)
    stage = RoundStage(store, PREFIX, batches)
    stage.create()
    store.command(f"DROP TABLE {stage.ids_table}")  # the chunk's INSERT … SELECT now fails
    stage.stage_all()
    for i in (0, len(batches) - 1):
        with pytest.raises(StoreError, match=stage.ids_table):
            stage.payload(i)
    stage.__exit__(None, None, None)
    assert not _stages(store)


def test_leaving_early_stops_staging_and_drops_the_tables(store, scenario_traces):
    batches = staged_batches(scenario_traces, 5)
    with RoundStage(store, PREFIX, batches) as stage:
        assert spans_from_payload(stage.payload(0))  # the consumer stops after its first batch
    assert not stage._thread.is_alive()
    assert not _stages(store)


def test_a_stage_stopped_before_it_began_stages_nothing_and_says_so(store, scenario_traces):
    stage = RoundStage(store, PREFIX, staged_batches(scenario_traces, 5))
    stage.create()
    stage._closing.set()  # what leaving the round does before the thread begins
    stage.stage_all()
    with pytest.raises(RuntimeError, match="stopped"):
        stage.payload(0)
    assert store.query(f"SELECT count() FROM {stage.table}")[0][0] == 0
    stage.__exit__(None, None, None)


def test_rounds_sharing_a_shard_get_their_own_tables_and_stale_ones_are_dropped(store, scenario_traces):
    batches = staged_batches(scenario_traces, 5)
    with RoundStage(store, PREFIX, batches) as one, RoundStage(store, PREFIX, batches) as two:
        assert one.table != two.table and {one.table, two.table} <= _stages(store)
        assert one.payload(0) == two.payload(0)  # neither round disturbed the other
    # A stage a killed process left: dropped by a later round once old enough, not before.
    old = RoundStage(store, PREFIX, batches)
    old.create()
    created = int(old.table[len(PREFIX):].split("_")[0])
    other_shard = RoundStage(store, "agent_round_stage_0_of_10_", batches)
    other_shard.create()
    assert drop_stale_stages(store, PREFIX, now_s=created + 60) == []
    assert sorted(drop_stale_stages(store, PREFIX, now_s=created + STALE_STAGE_SECONDS + 1)) == sorted(
        [old.table, old.ids_table, old.values_table])
    assert _stages(store) == {other_shard.table, other_shard.ids_table, other_shard.values_table}  # another shard's stage is left alone
    other_shard.__exit__(None, None, None)
    assert not _stages(store)
