"""Store, migrations and the group-commit writer against the real in-process engine."""

from __future__ import annotations

import time
from concurrent.futures import wait
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from agentmortem.collector import migrations
from agentmortem.collector.convert import SpanCheck, request_to_batch
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.native import insert_native
from agentmortem.collector.writer import Admitted, GroupCommitWriter, Overloaded, WriterLimits
from agentmortem.platform.schema import INSERT_COLUMNS, SchemaMismatch, verify_otel_traces
from agentmortem.platform.store import Store, StoreError, parse_url
from tests.support.sdk_spans import simple_spans
from tests.support.writer_queue import budget as _budget
from tests.support.writer_queue import submit


def _limits(**overrides) -> WriterLimits:
    values = dict(batch_max_spans=10_000, batch_max_delay_s=0.05, native_min_spans=5000)
    values.update(overrides)
    return WriterLimits(**values)


def _batch(n: int) -> Admitted:
    return Admitted(encode_spans(simple_spans(n)).SerializeToString(), None, n)


@pytest.mark.parametrize(
    ("url", "embedded", "path_or_host", "database"),
    [
        ("chdb:///var/lib/am", True, "/var/lib/am", "default"),
        ("http://u:p%40ss@ch.example:8123/traces", False, "ch.example", "traces"),
        ("https://ch.example/", False, "ch.example", "default"),
    ],
)
def test_parse_url(url, embedded, path_or_host, database):
    loc = parse_url(url)
    assert loc.embedded is embedded
    assert (loc.path if embedded else loc.host) == path_or_host
    assert loc.database == database
    if url.startswith("http://u"):
        assert (loc.username, loc.password, loc.port) == ("u", "p@ss", 8123)
    if url.startswith("https"):
        assert (loc.port, loc.secure) == (8443, True)


def test_relative_embedded_path_resolves_against_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert parse_url("chdb:///./agentmortem-data").path == str(tmp_path / "agentmortem-data")


def test_migrations_are_idempotent_and_recorded(store):
    assert migrations.migrate_collector(store) == []  # the fixture already applied them
    rows = store.query("SELECT Package, Version, Name FROM agentmortem_migrations FINAL ORDER BY Version")
    assert rows == [
        ("collector", 1, "otel_traces"),
        ("collector", 2, "otel_traces_trace_id_ts"),
        ("collector", 3, "api_keys"),
        ("collector", 4, "otel_logs"),
        ("collector", 5, "otel_metrics"),
    ]
    engine = store.query("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'otel_traces'")
    assert "PARTITION BY toDate(Timestamp)" in engine[0][0]
    assert "ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)" in engine[0][0]


def test_duplicate_migration_numbers_are_refused(tmp_path: Path):
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 2;")
    with pytest.raises(ValueError, match="duplicate migration number 0001"):
        migrations.load(tmp_path, "x", {})


def test_ttl_option_lands_in_the_table(tmp_path_factory):
    from tests.support.engine import engine_url

    s = Store(engine_url(tmp_path_factory), database="ttl_check")
    migrations.migrate_collector(s, ttl_days=7)
    ddl = s.query("SELECT create_table_query FROM system.tables WHERE database = 'ttl_check' AND name = 'otel_traces'")
    assert "TTL toDateTime(Timestamp) + toIntervalDay(7)" in ddl[0][0]
    s.command("DROP DATABASE ttl_check")


def test_a_foreign_table_is_verified_not_recreated(tmp_path_factory):
    from tests.support.engine import engine_url

    s = Store(engine_url(tmp_path_factory), database="foreign_ok")
    # an older exporter release: Duration Int64, no ALIAS columns, different ORDER BY
    s.command(
        "CREATE TABLE otel_traces (Timestamp DateTime64(9), TraceId String, SpanId String, ParentSpanId String, "
        "TraceState String, SpanName LowCardinality(String), SpanKind LowCardinality(String), "
        "ServiceName LowCardinality(String), ResourceAttributes Map(LowCardinality(String), String), "
        "ScopeName String, ScopeVersion String, SpanAttributes Map(LowCardinality(String), String), "
        "Duration Int64, StatusCode LowCardinality(String), StatusMessage String, "
        "Events Nested (Timestamp DateTime64(9), Name LowCardinality(String), Attributes Map(LowCardinality(String), String)), "
        "Links Nested (TraceId String, SpanId String, TraceState String, Attributes Map(LowCardinality(String), String))"
        ") ENGINE = MergeTree ORDER BY (ServiceName, SpanName, toUnixTimestamp(Timestamp), TraceId)"
    )
    migrations.migrate_collector(s)
    ddl = s.query("SELECT create_table_query FROM system.tables WHERE database = 'foreign_ok' AND name = 'otel_traces'")
    assert "toUnixTimestamp(Timestamp), TraceId" in ddl[0][0]  # kept as it was
    batch = request_to_batch(encode_spans(simple_spans(3)))
    s.insert_columns("otel_traces", batch.columns, INSERT_COLUMNS)
    insert_native(s, _batch(2).envelope())  # the native path works on the old layout too
    assert s.query("SELECT count() FROM otel_traces") == [(5,)]
    s.command("ALTER TABLE otel_traces DROP COLUMN ScopeVersion")
    with pytest.raises(SchemaMismatch, match="missing column ScopeVersion"):
        verify_otel_traces(s)
    s.command("DROP DATABASE foreign_ok")


def test_store_recovers_after_a_failed_statement(store):
    with pytest.raises(StoreError, match="boom"):
        store.command("SELECT throwIf(1, 'boom')")
    assert store.query("SELECT 41 + 1") == [(42,)]


def test_group_commit_shares_inserts_and_acks_after_write(store):
    metrics = CollectorMetrics()
    writer = GroupCommitWriter(store, _limits(batch_max_delay_s=0.2), metrics)
    writer.start()
    budget = _budget()
    futures = [submit(writer, _batch(10), 100, budget) for _ in range(5)]
    wait(futures, timeout=30)
    assert all(f.exception() is None for f in futures)
    assert store.query("SELECT count() FROM otel_traces") == [(50,)]
    assert metrics.inserts.labels("ok")._value.get() == 1  # one insert for five requests
    assert (budget.spans, budget.bytes) == (0, 0)  # every reservation released once durable
    writer.stop()


def test_overload_refuses_beyond_the_bound(store):
    writer = GroupCommitWriter(store, _limits(batch_max_delay_s=0.3), CollectorMetrics())
    writer.start()
    budget = _budget(max_spans=15)
    first = submit(writer, _batch(10), 10, budget)
    with pytest.raises(Overloaded) as err:
        submit(writer, _batch(10), 10, budget)
    assert err.value.retry_after == 1
    assert budget.bytes == 10  # the refused request holds nothing
    assert first.result(30) == SpanCheck(accepted=10)
    assert submit(writer, _batch(10), 10, budget).result(30) == SpanCheck(accepted=10)  # room again once durable
    writer.stop()


@pytest.mark.parametrize("native_min_spans", [1, 10_000], ids=["native", "converted"])
def test_both_paths_write_the_group(store, native_min_spans):
    metrics = CollectorMetrics()
    writer = GroupCommitWriter(store, _limits(batch_max_delay_s=0.2, native_min_spans=native_min_spans), metrics)
    writer.start()
    futures = [submit(writer, _batch(6)) for _ in range(3)]
    wait(futures, timeout=60)
    assert all(f.exception() is None for f in futures)
    assert store.query("SELECT count(), uniqExact(SpanId) FROM otel_traces") == [(18, 18)]
    writer.stop()


def test_stop_flushes_everything_admitted(store):
    writer = GroupCommitWriter(store, _limits(batch_max_delay_s=5.0), CollectorMetrics())
    writer.start()
    future = submit(writer, _batch(7))
    started = time.monotonic()
    writer.stop()
    assert future.result(0) == SpanCheck(accepted=7)
    assert time.monotonic() - started < 5.0  # stopping cut the group-commit wait short
    assert store.query("SELECT count() FROM otel_traces") == [(7,)]


def test_the_bytes_bound_refuses_too(store):
    writer = GroupCommitWriter(store, _limits(batch_max_delay_s=0.3), CollectorMetrics())
    writer.start()
    budget = _budget(max_bytes=1000)
    first = submit(writer, _batch(1), 800, budget)
    with pytest.raises(Overloaded):
        submit(writer, _batch(1), 800, budget)
    assert first.result(30) == SpanCheck(accepted=1)
    writer.stop()


@pytest.mark.parametrize("enabled", [True, False])
def test_fsync_setting_is_applied_to_otel_traces(store, enabled):
    from agentmortem.collector.durability import apply_durability
    from agentmortem.platform.settings import StoreSettings

    # the table is altered only when it differs from the configuration: start it the other way
    apply_durability(store, StoreSettings(fsync_after_insert=not enabled))
    apply_durability(store, StoreSettings(fsync_after_insert=enabled))
    (engine,) = store.query(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'otel_traces'"
    )[0]
    assert f"fsync_after_insert = {int(enabled)}" in engine
    assert f"fsync_part_directory = {int(enabled)}" in engine
