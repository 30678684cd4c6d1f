"""`agentmortem api`: the HTTP query API and run pages alone (server deployments); the schema must be current (`agentmortem migrate`)."""

from __future__ import annotations

import argparse

from agentmortem.analyzer.api.service import ApiService
from agentmortem.cli.common import add_store_args, serve_until_stopped
from agentmortem.collector.service import IngestWriter
from agentmortem.platform.store import Store
from agentmortem.settings import AgentmortemSettings


def _api(settings: AgentmortemSettings, store: Store) -> list:
    """The API with a writer of its own for its AgentMetrics ingest (started before it, stopped after)."""
    ingest = IngestWriter(store, limits=settings.ingest, auth=settings.auth)
    return [ingest, ApiService(store, server=settings.server, auth=settings.auth, api=settings.api,
                               retry_after_seconds=settings.ingest.retry_after_seconds,
                               retention_days=settings.store.ttl_days, ingest=ingest.ingest)]


def cmd_api(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    return serve_until_stopped(args, settings, _api)


def register(sub: argparse._SubParsersAction) -> None:
    api = sub.add_parser("api", help="run the HTTP query API and run pages alone (server deployments)")
    add_store_args(api)
    api.add_argument("--host", help="bind address (AGENTMORTEM_HOST)")
    api.add_argument("--api-port", dest="api_port", type=int, help="API port (AGENTMORTEM_API_PORT; 0 = any free)")
    api.add_argument("--ready-file", help="write the bound port as JSON here once listening")
    api.set_defaults(func=cmd_api)
