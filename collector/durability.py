"""How durable an acknowledged insert is: the signal tables' fsync settings (`otel_traces`, `otel_logs`,
`otel_metrics_*`), matched to `AGENTMORTEM_FSYNC_AFTER_INSERT`.

The settings belong to the table (ClickHouse applies them to every insert into it, from any
writer). `apply_durability` changes them only when they differ from the configuration and
agentmortem may change the schema (`AGENTMORTEM_CREATE_SCHEMA`); a user's table is otherwise left
as it is, and refused when it fsyncs less than asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from agentmortem.platform.migrations import SchemaNotReady
from agentmortem.platform.schema import TRACES_TABLE
from agentmortem.platform.settings import StoreSettings
from agentmortem.platform.store import Store

log = logging.getLogger(__name__)

# The MergeTree settings that make an insert durable before it is acknowledged.
FSYNC_SETTINGS = ("fsync_after_insert", "fsync_part_directory")


def table_fsync(store: Store, table: str = TRACES_TABLE) -> dict[str, bool]:
    """The table's effective fsync settings: its own (`SETTINGS` of its engine) or else the server's defaults."""
    rows = store.query("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
                       {"t": table})
    engine = rows[0][0] if rows else ""
    defaults = dict(store.query("SELECT name, value FROM system.merge_tree_settings WHERE name IN {n:Array(String)}",
                                {"n": list(FSYNC_SETTINGS)}))
    effective = {}
    for name in FSYNC_SETTINGS:
        own = re.search(rf"\b{name} = (\d+)", engine)
        effective[name] = (own.group(1) if own else defaults.get(name, "0")) not in ("0", "false")
    return effective


def apply_durability(store: Store, settings: StoreSettings, tables: Sequence[str] = (TRACES_TABLE,)) -> None:
    """Make each of `tables` fsync its inserts when `fsync_after_insert` says so, and not when it does not.

    A table is altered only when its settings differ from the configuration and agentmortem may
    change the schema (`create_schema`). Otherwise a table that fsyncs less than asked is refused
    (the promise "durable before acknowledged" would not hold); one that fsyncs more is left alone.
    """
    for table in tables:
        _apply(store, settings, table)


def _apply(store: Store, settings: StoreSettings, table: str) -> None:
    want = settings.fsync_after_insert
    have = table_fsync(store, table)
    if all(value == want for value in have.values()):
        return
    value = int(want)
    alter = (f"ALTER TABLE {table} MODIFY SETTING "
             + ", ".join(f"{name} = {value}" for name in FSYNC_SETTINGS))
    if settings.create_schema:
        store.command(alter)
        log.info("%s: %s", table, ", ".join(f"{name} = {value}" for name in FSYNC_SETTINGS))
    elif want:
        current = ", ".join(f"{name} = {int(on)}" for name, on in have.items())
        raise SchemaNotReady(
            f"{table} does not fsync inserts ({current}) but AGENTMORTEM_FSYNC_AFTER_INSERT is true, and "
            f"AGENTMORTEM_CREATE_SCHEMA=false forbids changing the table: run `{alter}` on the database, set "
            "AGENTMORTEM_CREATE_SCHEMA=true, or set AGENTMORTEM_FSYNC_AFTER_INSERT=false")
    else:
        log.info("%s fsyncs every insert, more than AGENTMORTEM_FSYNC_AFTER_INSERT=false asks; left as it is "
                 "(AGENTMORTEM_CREATE_SCHEMA=false)", table)
