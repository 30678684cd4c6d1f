"""Who changes the schema: `migrate`, and `serve` with AGENTMORTEM_CREATE_SCHEMA on; every other command verifies.

With `AGENTMORTEM_CREATE_SCHEMA=false` a user's `otel_traces` (e.g. one an OpenTelemetry
Collector's clickhouseexporter created) stays exactly as it was: no DDL, no ALTER, and a start
that cannot proceed says what is missing and what to run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from agentmortem.cli.schema import ensure_schema, migrate_all, verify_schema
from agentmortem.collector.durability import apply_durability
from agentmortem.platform.migrations import SchemaNotReady
from agentmortem.platform.settings import StoreSettings
from agentmortem.platform.store import Store
from tests.support.engine import engine_url
from tests.support.servers import migrate, query_data_dir, start_server

# An exporter-made table: the contrib columns, its own key and settings (none of ours).
USER_TABLE = (
    "CREATE TABLE otel_traces (Timestamp DateTime64(9), TraceId String, SpanId String, ParentSpanId String, "
    "TraceState String, SpanName LowCardinality(String), SpanKind LowCardinality(String), "
    "ServiceName LowCardinality(String), ResourceAttributes Map(LowCardinality(String), String), "
    "ScopeName String, ScopeVersion String, SpanAttributes Map(LowCardinality(String), String), "
    "Duration UInt64, StatusCode LowCardinality(String), StatusMessage String, "
    "Events Nested (Timestamp DateTime64(9), Name LowCardinality(String), Attributes Map(LowCardinality(String), String)), "
    "Links Nested (TraceId String, SpanId String, TraceState String, Attributes Map(LowCardinality(String), String))"
    ") ENGINE = MergeTree PARTITION BY toDate(Timestamp) ORDER BY (ServiceName, SpanName, toDateTime(Timestamp)) "
    "SETTINGS index_granularity = 4096, ttl_only_drop_parts = 1"
)
TABLES = ("SELECT name, create_table_query, engine_full, metadata_modification_time FROM system.tables "
          "WHERE database = currentDatabase() ORDER BY name")


class RecordingStore(Store):
    """The real store, noting every statement that is not a query (DDL, ALTER, INSERT)."""

    def __init__(self, url: str, **kwargs) -> None:  # noqa: ANN003
        super().__init__(url, **kwargs)
        self.statements: list[str] = []

    def command(self, sql, parameters=None):  # noqa: ANN001, ANN201
        self.statements.append(sql)
        return super().command(sql, parameters)

    def command_with_data(self, sql, parameters, data):  # noqa: ANN001, ANN201
        self.statements.append(sql)
        return super().command_with_data(sql, parameters, data)

    def insert_columns(self, table, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
        self.statements.append(f"INSERT INTO {table}")
        return super().insert_columns(table, *args, **kwargs)


@pytest.fixture
def users_store(tmp_path_factory):
    """A database holding only a user's `otel_traces`."""
    store = RecordingStore(engine_url(tmp_path_factory), database="u_" + uuid.uuid4().hex[:12])
    store.command(USER_TABLE)
    store.statements.clear()
    yield store
    store.command(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


def test_create_schema_off_issues_no_statement_on_a_users_table(users_store):
    before = users_store.query(TABLES)
    off = StoreSettings(create_schema=False)
    with pytest.raises(SchemaNotReady) as caught:
        ensure_schema(users_store, "serve", off, migrate=False)
    message = str(caught.value)
    assert "migration(s) not applied: collector/0001_otel_traces" in message
    assert "run `agentmortem migrate`" in message and "AGENTMORTEM_CREATE_SCHEMA=true" in message
    apply_durability(users_store, off)  # the table fsyncs as configured (not at all): nothing to do
    with pytest.raises(SchemaNotReady, match="ALTER TABLE otel_traces MODIFY SETTING fsync_after_insert = 1"):
        apply_durability(users_store, StoreSettings(create_schema=False, fsync_after_insert=True))
    assert users_store.statements == []
    assert users_store.query(TABLES) == before


def test_migrate_creates_ours_and_leaves_a_users_table_as_it_is(users_store):
    (before,) = users_store.query(TABLES)
    applied = migrate_all(users_store, StoreSettings(create_schema=False))
    assert [m.label for m in applied][:2] == ["collector/0001_otel_traces", "collector/0002_otel_traces_trace_id_ts"]
    tables = {row[0]: row for row in users_store.query(TABLES)}
    assert tables["otel_traces"] == before
    assert {"agent_runs", "agentmortem_api_keys", "agentmortem_migrations"} <= set(tables)
    assert not any(s.lstrip().upper().startswith("ALTER") for s in users_store.statements)
    users_store.statements.clear()
    verify_schema(users_store, "serve", StoreSettings(create_schema=False))  # current now
    apply_durability(users_store, StoreSettings(create_schema=False))
    assert users_store.statements == []


def test_fsync_differing_from_the_table_is_altered_only_when_allowed(users_store):
    apply_durability(users_store, StoreSettings(fsync_after_insert=False))  # same as the table: untouched
    assert users_store.statements == []
    apply_durability(users_store, StoreSettings(fsync_after_insert=True))
    assert users_store.statements == [
        "ALTER TABLE otel_traces MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1"]
    (engine,) = users_store.query("SELECT engine_full FROM system.tables WHERE database = currentDatabase() "
                                  "AND name = 'otel_traces'")[0]
    assert "fsync_after_insert = 1" in engine and "fsync_part_directory = 1" in engine
    users_store.statements.clear()
    apply_durability(users_store, StoreSettings(fsync_after_insert=False, create_schema=False))  # fsyncs more
    assert users_store.statements == []


def test_a_missing_table_or_database_is_named(tmp_path_factory):
    url = engine_url(tmp_path_factory)
    empty = RecordingStore(url, database="e_" + uuid.uuid4().hex[:12])
    try:
        with pytest.raises(SchemaNotReady, match="table otel_traces does not exist"):
            ensure_schema(empty, "serve", StoreSettings(create_schema=False), migrate=False)
        assert empty.statements == [] and empty.query(TABLES) == []
    finally:
        empty.command(f"DROP DATABASE {empty.database}")
        empty.close()
    absent = Store(url, database="absent_" + uuid.uuid4().hex[:8], create_database=False)
    with pytest.raises(SchemaNotReady, match=f"database {absent.database} does not exist"):
        verify_schema(absent, "collector", StoreSettings())


def test_pending_migrations_are_listed_with_what_to_run(store):
    """The `store` fixture holds the collector's tables only: an analyzer must not start on it."""
    with pytest.raises(SchemaNotReady) as caught:
        verify_schema(store, "analyzer", StoreSettings())
    message = str(caught.value)
    assert "migration(s) not applied: analyzer/0001_analysis_tables" in message
    assert "table otel_traces" not in message
    assert "`agentmortem analyzer` creates and upgrades no table: run `agentmortem migrate` first" in message


# -- through the command line ---------------------------------------------------------------------

def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMORTEM_")}
    return {**env, "AGENTMORTEM_CLICKHOUSE_URL": f"chdb://{data_dir / 'db'}", "AGENTMORTEM_OTLP_GRPC_PORT": "0",
            "AGENTMORTEM_OTLP_HTTP_PORT": "0", "AGENTMORTEM_API_PORT": "0", **extra}


def _run(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    """`agentmortem ARGS` expected to exit by itself (a server that started anyway is killed and fails the test)."""
    ready = data_dir / f"ready-{uuid.uuid4().hex[:6]}"
    proc = subprocess.Popen([sys.executable, "-m", "agentmortem", *args, "--ready-file", str(ready)],
                            env=_env(data_dir, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert not ready.exists(), f"`agentmortem {args[0]}` started:\n{err}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _command(data_dir: Path, sql: str) -> None:
    code = ("import sys\nfrom agentmortem.platform.store import Store\n"
            f"Store({('chdb://' + str(data_dir / 'db'))!r}).command(sys.stdin.read())\n")
    subprocess.run([sys.executable, "-c", code], input=sql, text=True, timeout=120, check=True)


@pytest.mark.parametrize("command", ["collector", "analyzer", "api"])
def test_stand_alone_commands_verify_and_say_to_migrate(tmp_path, command):
    out = _run(tmp_path, command)
    assert out.returncode == 1, out.stderr
    assert "is not ready for this agentmortem: table otel_traces does not exist" in out.stderr
    assert f"`agentmortem {command}` creates and upgrades no table: run `agentmortem migrate` first" in out.stderr
    assert query_data_dir(tmp_path, "SELECT count() FROM system.tables WHERE database = currentDatabase()") == [(0,)]


def test_serve_without_create_schema_never_alters_a_users_table(tmp_path):
    data_dir = tmp_path / "srv"
    data_dir.mkdir()
    _command(data_dir, USER_TABLE)
    (before,) = query_data_dir(data_dir, TABLES)

    out = _run(data_dir, "serve", AGENTMORTEM_CREATE_SCHEMA="false")
    assert out.returncode == 1, out.stderr
    assert "migration(s) not applied" in out.stderr and "run `agentmortem migrate` once" in out.stderr
    assert query_data_dir(data_dir, TABLES) == [before]  # nothing created, nothing altered

    migrate(_env(data_dir))
    srv = start_server(data_dir, {"AGENTMORTEM_CREATE_SCHEMA": "false"})
    assert srv.stop() == 0
    tables = {row[0]: row for row in query_data_dir(data_dir, TABLES)}
    assert tables["otel_traces"] == before  # started, and never touched it

    out = _run(data_dir, "serve", AGENTMORTEM_CREATE_SCHEMA="false", AGENTMORTEM_FSYNC_AFTER_INSERT="true")
    assert out.returncode == 1
    assert "otel_traces does not fsync inserts" in out.stderr and "AGENTMORTEM_CREATE_SCHEMA=false" in out.stderr
    assert {row[0]: row for row in query_data_dir(data_dir, TABLES)}["otel_traces"] == before
