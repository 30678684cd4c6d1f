"""`agentmortem migrate`: create or upgrade every table, then exit."""

from __future__ import annotations

import argparse

from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.cli.common import add_store_args, settings_from
from agentmortem.collector.migrations import migrate_collector
from agentmortem.platform.store import Store


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.clickhouse_url)
    applied = migrate_collector(store, settings.ttl_days) + migrate_analyzer(store)
    print(f"{len(applied)} migration(s) applied; schema is current at {store.location.describe()}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    mig = sub.add_parser("migrate", help="create or upgrade the tables and exit")
    add_store_args(mig)
    mig.set_defaults(func=cmd_migrate)
