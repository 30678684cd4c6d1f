"""`agentmortem collector`: the OTLP receivers alone (server deployments); the schema must be current (`agentmortem migrate`)."""

from __future__ import annotations

import argparse

from agentmortem.cli.common import add_listen_args, serve_until_stopped
from agentmortem.collector.service import CollectorService
from agentmortem.platform.store import Store
from agentmortem.settings import AgentmortemSettings


def _collector(settings: AgentmortemSettings, store: Store) -> list:
    return [CollectorService(store, store_settings=settings.store, server=settings.server, limits=settings.ingest,
                             auth=settings.auth)]


def cmd_collector(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    return serve_until_stopped(args, settings, _collector)


def register(sub: argparse._SubParsersAction) -> None:
    coll = sub.add_parser("collector", help="run the OTLP receivers alone")
    add_listen_args(coll)
    coll.set_defaults(func=cmd_collector)
