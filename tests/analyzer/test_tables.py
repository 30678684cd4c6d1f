"""The analysis tables are declared once (`engine/tables.py`): the migrations must build exactly
the declared tables, and the writer must write exactly the declared columns."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC

import pytest

from agentmortem.analyzer.core.analysis import analyze_spans
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.load import load_spans
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.tables import (
    AGENT_EXPLANATIONS,
    AGENT_RUNS,
    AGENT_SIGNALS,
    AGENT_WATERMARKS,
    ANALYSIS_TABLES,
    RESULT_TABLES,
    verify_analysis_tables,
)
from agentmortem.analyzer.engine.write import KEYS, replace_results, result_rows
from agentmortem.platform.schema import SchemaMismatch
from agentmortem.platform.tables import Column, Table, table_problems


@pytest.fixture
def migrated(store):
    migrate_analyzer(store)
    return store


def stored_tables(store) -> set[str]:
    """The analyzer's tables in the store (not its materialized view, nor the collector's tables)."""
    rows = store.query("SELECT name FROM system.tables WHERE database = currentDatabase()"
                       " AND name LIKE 'agent\\_%' AND engine NOT LIKE '%View'")
    return {name for (name,) in rows}


def test_the_migrations_build_every_declared_table_and_no_other(migrated):
    assert stored_tables(migrated) == {t.name for t in ANALYSIS_TABLES}
    for table in ANALYSIS_TABLES:
        assert table_problems(migrated, table) == [], table.name
        stored = migrated.query("SELECT name, type FROM system.columns WHERE database = currentDatabase()"
                                " AND table = {t:String} ORDER BY position", {"t": table.name})
        assert stored == [(c.name, c.type) for c in table.columns]
        [(sorting_key,)] = migrated.query("SELECT sorting_key FROM system.tables WHERE database = currentDatabase()"
                                          " AND name = {t:String}", {"t": table.name})
        assert sorting_key == ", ".join(table.order_by)
    verify_analysis_tables(migrated)


def test_a_table_that_differs_from_its_declaration_is_named(migrated):
    """What a migration could do without the declaration following: each difference is reported."""
    migrated.command("ALTER TABLE agent_watermarks ADD COLUMN Owner String")
    migrated.command("ALTER TABLE agent_runs MODIFY COLUMN Steps UInt64")
    migrated.command("ALTER TABLE agent_signals DROP COLUMN Evidence")
    migrated.command("DROP TABLE agent_explanations")
    migrated.command("CREATE TABLE agent_explanations (RunId String, TraceId String, Tenant LowCardinality(String),"
                     " Headline String, Markdown String, Structured String, Version UInt64, Deleted UInt8)"
                     " ENGINE = ReplacingMergeTree(Version) ORDER BY RunId")
    assert table_problems(migrated, AGENT_WATERMARKS) == ["undeclared column(s) Owner"]
    assert table_problems(migrated, AGENT_RUNS) == ["Steps is UInt64, declared UInt32"]
    assert table_problems(migrated, AGENT_SIGNALS) == ["missing column(s) Evidence"]
    assert table_problems(migrated, AGENT_EXPLANATIONS) == [
        "sorted by (RunId), declared (Tenant, RunId)",
        "engine is ReplacingMergeTree(Version), declared ReplacingMergeTree(Version, Deleted)",
    ]
    with pytest.raises(SchemaMismatch, match="agent_runs: Steps is UInt64.*agent_watermarks: undeclared column"):
        verify_analysis_tables(migrated)


def test_a_declaration_that_differs_from_the_migrations_is_named(migrated):
    """The other way round: a declaration changed without a migration."""
    cols = AGENT_WATERMARKS.columns
    reordered = dataclasses.replace(AGENT_WATERMARKS, columns=(cols[1], cols[0], cols[2]))
    assert table_problems(migrated, reordered) == ["columns are in the order Name, WatermarkMs, Version"]
    more = dataclasses.replace(AGENT_WATERMARKS, columns=(*cols, Column("Owner", "String")))
    assert table_problems(migrated, more) == ["missing column(s) Owner"]
    keyed = dataclasses.replace(AGENT_WATERMARKS, order_by=("Name", "Version"))
    assert table_problems(migrated, keyed) == ["sorted by (Name), declared (Name, Version)"]
    parted = dataclasses.replace(AGENT_RUNS, partition_by="toDate(Start)")
    assert table_problems(migrated, parted) == ["partitioned by toYYYYMM(Start), declared toDate(Start)"]
    assert table_problems(migrated, Table("agent_nothing", cols, ("Name",))) == ["table agent_nothing does not exist"]


def test_a_declaration_names_only_its_columns():
    with pytest.raises(AttributeError):
        AGENT_RUNS.c.RunID  # noqa: B018 - the typo is the point
    with pytest.raises(ValueError, match="undeclared columns"):
        Table("t", AGENT_WATERMARKS.columns, order_by=("Nme",))
    with pytest.raises(ValueError, match="agent_watermarks has no column.*Owner"):
        AGENT_WATERMARKS.ordered(["Name", "Owner"])


def test_the_writer_writes_exactly_the_declared_columns(store, scenario_traces):
    analyzed = analyze_spans(load_spans(store, scenario_traces), {}, RuleSettings())
    tables = result_rows(analyzed, time.time_ns())
    assert set(tables) == {t.name for t in RESULT_TABLES}
    for table in RESULT_TABLES:
        rows = tables[table.name]
        assert rows, f"the scenarios must produce {table.name} rows"
        assert {tuple(sorted(row)) for row in rows} == {tuple(sorted(table.written))}, table.name
        assert set(KEYS[table.name]) >= set(table.order_by)


def test_tombstones_carry_the_declared_keys_and_delete_the_rows(store, scenario_traces):
    migrate_analyzer(store)
    keys = scenario_traces
    version = time.time_ns()
    before_ms = time.time_ns() // 1_000_000
    tables = result_rows(analyze_spans(load_spans(store, keys), {}, RuleSettings()), version)
    replace_results(store, tables, keys, version)
    for table in RESULT_TABLES:
        # every declared column reads back as its type (a value out of its type's range does not)
        stored = store.query_dicts(f"SELECT {', '.join(table.names)} FROM {table.final}")
        assert len(stored) == len(tables[table.name]) > 0
    analyzed_at = {r["AnalyzedAt"].replace(tzinfo=UTC).timestamp() * 1000
                   for r in store.query_dicts(f"SELECT AnalyzedAt FROM {AGENT_RUNS.final}")}
    assert len(analyzed_at) == 1 and before_ms - 1 <= analyzed_at.pop() <= time.time_ns() // 1_000_000
    replace_results(store, {t.name: [] for t in RESULT_TABLES}, keys, version + 1)  # nothing left of them
    for table in RESULT_TABLES:
        assert store.query(f"SELECT count() FROM {table.final}")[0][0] == 0
        [(deleted, tombstones)] = store.query(
            f"SELECT countIf({table.deleted} = 1), countIf({table.deleted} = 1 AND TraceId != '') FROM {table.name}")
        assert deleted == tombstones == len(tables[table.name])
