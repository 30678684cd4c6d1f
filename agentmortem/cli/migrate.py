"""`agentmortem migrate`: create or upgrade every table, then exit (the one step the other commands point to).

It creates only what is missing (`CREATE … IF NOT EXISTS`) and runs pending migrations; it never
alters an existing `otel_traces`, so it is safe on a table an OpenTelemetry Collector created,
whatever `AGENTMORTEM_CREATE_SCHEMA` says (that setting governs what `serve` does at start).
"""

from __future__ import annotations

import argparse

from agentmortem.cli.common import add_store_args
from agentmortem.cli.schema import migrate_all, open_store
from agentmortem.settings import AgentmortemSettings


def cmd_migrate(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    store = open_store(settings.store, create=True)
    try:
        applied = migrate_all(store, settings.store)
    finally:
        store.close()
    print(f"{len(applied)} migration(s) applied; schema is current at {store.location.describe()}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    mig = sub.add_parser("migrate", help="create or upgrade the tables and exit")
    add_store_args(mig)
    mig.set_defaults(func=cmd_migrate)
