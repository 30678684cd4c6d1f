"""Who may change the store's schema: `agentmortem migrate`, and `serve` while `AGENTMORTEM_CREATE_SCHEMA` is on.

Every other command (`collector`, `analyzer` and `api` — server deployments where several
processes share one ClickHouse — and `explain`, `keys`, `semconv report`) only verifies that
the schema is current, changing nothing, and otherwise stops with a message naming what is
missing and what to run. Upgrades stay one deliberate step: a migration that rebuilds a table
must not run while other processes write to it. With `AGENTMORTEM_CREATE_SCHEMA=false`, `serve`
verifies too, so a user's existing `otel_traces` (e.g. created by an OpenTelemetry Collector's
clickhouseexporter) is never created, altered or re-keyed unasked.
"""

from __future__ import annotations

from agentmortem.analyzer.engine.migrations import analyzer_migrations, migrate_analyzer
from agentmortem.collector.migrations import collector_migrations, migrate_collector
from agentmortem.platform.migrations import Migration, SchemaNotReady, pending
from agentmortem.platform.schema import TRACES_TABLE, verify_otel_traces
from agentmortem.platform.settings import StoreSettings
from agentmortem.platform.signal_tables import TABLE_COLUMNS, verify_table
from agentmortem.platform.store import Store, StoreError


def open_store(settings: StoreSettings, *, create: bool) -> Store:
    """The store the settings name; its database is created only by a command that may create tables."""
    return Store(settings.clickhouse_url, create_database=create)


def migrate_all(store: Store, settings: StoreSettings) -> list[Migration]:
    """Create or upgrade every table (the collector's first: the analyzer's read `otel_traces`)."""
    return migrate_collector(store, settings.ttl_days) + migrate_analyzer(store)


def _table_exists(store: Store, table: str) -> bool:
    rows = store.query("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
                       {"t": table})
    return bool(rows[0][0])


def verify_schema(store: Store, command: str, settings: StoreSettings) -> None:
    """Raise `SchemaNotReady` unless every table and migration this release needs is there.

    An `otel_traces` (or `otel_logs`, `otel_metrics_*`) whose columns cannot take our data raises
    `SchemaMismatch` (a migration would not change it: the table is kept as it is)."""
    missing = _missing(store, settings)
    if not missing:
        return
    if command == "serve":
        remedy = ("AGENTMORTEM_CREATE_SCHEMA is false, so `agentmortem serve` creates and changes no table: run "
                  "`agentmortem migrate` once (it creates only what is missing and never alters an existing "
                  f"{TRACES_TABLE}), or set AGENTMORTEM_CREATE_SCHEMA=true")
    else:
        remedy = (f"`agentmortem {command}` creates and upgrades no table: run `agentmortem migrate` first "
                  "(once; when upgrading a store that several processes share, with the analyzers stopped)")
    raise SchemaNotReady(f"the store at {store.location.describe()} is not ready for this agentmortem: "
                         f"{'; '.join(missing)}. {remedy}")


def _missing(store: Store, settings: StoreSettings) -> list[str]:
    """What the store lacks, in words (empty: nothing)."""
    try:
        traces = _table_exists(store, TRACES_TABLE)
    except StoreError as exc:  # the first query opens the database
        if "UNKNOWN_DATABASE" not in str(exc):
            raise
        return [f"database {store.database} does not exist"]
    missing = []
    if traces:
        verify_otel_traces(store)
    else:
        missing.append(f"table {TRACES_TABLE} does not exist")
    for table in TABLE_COLUMNS:  # otel_logs, otel_metrics_*: a missing one is a pending migration
        if _table_exists(store, table):
            verify_table(store, table)
    todo = pending(store, collector_migrations(settings.ttl_days) + analyzer_migrations())
    if todo:
        missing.append(f"{len(todo)} migration(s) not applied: " + ", ".join(m.label for m in todo))
    return missing


def ensure_schema(store: Store, command: str, settings: StoreSettings, *, migrate: bool) -> None:
    """Create or upgrade every table when `migrate`, else verify (`command` names the caller in the message)."""
    if migrate:
        migrate_all(store, settings)
    else:
        verify_schema(store, command, settings)


def open_current_store(settings: StoreSettings, command: str) -> Store:
    """The store, once verified current (the one-shot commands: `explain`, `keys`, `semconv report`)."""
    store = open_store(settings, create=False)
    try:
        verify_schema(store, command, settings)
    except BaseException:
        store.close()
        raise
    return store
