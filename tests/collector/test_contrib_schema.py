"""Our `otel_logs` and `otel_metrics_*` against the contrib exporter's own templates, on the same engine.

Each vendored template (tests/collector/contrib/) is rendered with the exporter's defaults into a
database of its own, and everything ClickHouse knows of the two tables must match: columns (name,
type, position, default, codec, comment), skip indexes, keys and the full engine clause (TTL and
settings). A user's older `otel_logs` without `EventName` is accepted and written without it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from agentmortem.collector.convert_logs import insert_logs, logs_to_batch
from agentmortem.collector.migrations import has_full_text_search, migrate_collector
from agentmortem.platform.schema import SchemaMismatch
from agentmortem.platform.signal_tables import LOGS_TABLE, METRIC_TABLES, logs_insert_columns, verify_table
from agentmortem.platform.store import Store
from tests.support.contrib_templates import render_logs, render_metrics
from tests.support.engine import engine_url
from tests.support.otlp_logs import log_request


@pytest.fixture
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Make fresh databases on the test engine; all are dropped at the end."""
    made: list[Store] = []

    def make() -> Store:
        store = Store(engine_url(tmp_path_factory), database="c_" + uuid.uuid4().hex[:12])
        made.append(store)
        return store

    yield make
    for store in made:
        try:
            store.command(f"DROP DATABASE IF EXISTS {store.database}")
        finally:
            store.close()


def describe(store: Store, table: str) -> dict:
    params = {"t": table}
    where = "WHERE database = currentDatabase() AND table = {t:String}"
    return {
        "columns": store.query(
            "SELECT name, type, position, default_kind, default_expression, compression_codec, comment "
            f"FROM system.columns {where} ORDER BY position", params),
        "indices": store.query(
            f"SELECT name, type_full, expr, granularity FROM system.data_skipping_indices {where} ORDER BY name",
            params),
        "table": store.query(
            "SELECT sorting_key, primary_key, partition_key, engine_full FROM system.tables "
            "WHERE database = currentDatabase() AND name = {t:String}", params),
    }


@pytest.mark.parametrize("ttl_days", [0, 7])
def test_our_tables_are_the_contrib_exporters(scratch, ttl_days):
    ours, theirs = scratch(), scratch()
    migrate_collector(ours, ttl_days)
    full_text = has_full_text_search(theirs)
    theirs.command(render_logs(theirs.database, ttl_days, full_text))
    for table in METRIC_TABLES:
        theirs.command(render_metrics(table, theirs.database, ttl_days))
    for table in (LOGS_TABLE, *METRIC_TABLES):
        mine, contrib = describe(ours, table), describe(theirs, table)
        assert mine["columns"], table
        assert mine == contrib, table
    engine = describe(ours, LOGS_TABLE)["table"][0][3]
    assert ("TTL toDateTime(Timestamp) + toIntervalDay(7)" in engine) == (ttl_days == 7)


def test_an_older_logs_table_without_event_name_is_accepted_and_written(scratch):
    store = scratch()
    ddl = render_logs(store.database, 0, False).replace(
        "    `EventName` String COMMENT 'Event name for log records representing events' CODEC(ZSTD(1)),\n", "")
    store.command(ddl)
    migrate_collector(store)  # keeps the user's table, checks it
    assert "EventName" not in logs_insert_columns(store)
    batch = logs_to_batch(log_request(event_name="gen_ai.choice", body="hello"))
    insert_logs(store, batch)
    assert store.query("SELECT Body FROM otel_logs") == [("hello",)]


def test_a_logs_table_missing_a_required_column_is_refused(scratch):
    store = scratch()
    store.command(render_logs(store.database, 0, False).replace(
        "    `SeverityText` LowCardinality(String) COMMENT 'Log severity as text' CODEC(ZSTD(1)),\n", ""))
    with pytest.raises(SchemaMismatch, match="missing column SeverityText"):
        verify_table(store, LOGS_TABLE)
