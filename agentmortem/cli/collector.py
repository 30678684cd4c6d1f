"""`agentmortem collector`: the OTLP receivers alone (server deployments)."""

from __future__ import annotations

import argparse

from agentmortem.cli.common import add_listen_args, serve_until_stopped
from agentmortem.collector.service import CollectorService


def cmd_collector(args: argparse.Namespace) -> int:
    return serve_until_stopped(args, lambda settings, store: [CollectorService(settings, store)])


def register(sub: argparse._SubParsersAction) -> None:
    coll = sub.add_parser("collector", help="run the OTLP receivers alone")
    add_listen_args(coll)
    coll.set_defaults(func=cmd_collector)
