"""Giving an existing table a new sorting key without losing a row (a migration step in Python).

ClickHouse cannot change a MergeTree's ORDER BY in place (only extend it with new columns), so
`reorder_table` copies the rows into a scratch table of the new shape and swaps the two with
`EXCHANGE TABLES` (atomic). Each step is safe to run again, so a migration interrupted anywhere
finishes when it runs next. Writers of the table must be stopped meanwhile: rows written
during the copy would stay behind in the old table (migrations run at start-up, before any
component of the starting process writes; run `agentmortem migrate` alone when several
processes share a server).
"""

from __future__ import annotations

import logging

from agentmortem.platform.store import Store, quote_identifier

log = logging.getLogger(__name__)


def sorting_key(store: Store, table: str) -> str:
    """The table's sorting key as ClickHouse reports it (e.g. `Tenant, RunId`)."""
    rows = store.query("SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
                       {"t": table})
    if not rows:
        raise ValueError(f"no table {table!r} to reorder")
    return rows[0][0]


def reorder_table(store: Store, table: str, engine: str) -> bool:
    """Give `table` the engine clause `engine` (trusted SQL from a migration: `ReplacingMergeTree(…)
    ORDER BY (…) SETTINGS …`) keeping its columns, indexes and rows; False when it already sorts
    as `engine` says (nothing done)."""
    quote_identifier(table)
    scratch = f"{table}__reorder"
    store.command(f"DROP TABLE IF EXISTS {scratch}")  # a copy an interrupted run left (or the old rows, swapped out)
    store.command(f"CREATE TABLE {scratch} AS {table} ENGINE = {engine}")
    if sorting_key(store, scratch) == sorting_key(store, table):
        store.command(f"DROP TABLE {scratch}")
        return False
    store.command(f"INSERT INTO {scratch} SELECT * FROM {table}")
    store.command(f"EXCHANGE TABLES {table} AND {scratch}")
    store.command(f"DROP TABLE {scratch}")
    log.info("reordered %s: ORDER BY %s", table, sorting_key(store, table))
    return True
