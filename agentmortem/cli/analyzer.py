"""`agentmortem analyzer [--shard i/n]`: the analyzer alone; several can share a ClickHouse server. The schema must be current (`agentmortem migrate`)."""

from __future__ import annotations

import argparse

from agentmortem.analyzer.engine.service import AnalyzerService
from agentmortem.cli.common import add_store_args, serve_until_stopped
from agentmortem.platform.store import Store
from agentmortem.settings import AgentmortemSettings


def _analyzer(settings: AgentmortemSettings, store: Store) -> list:
    return [AnalyzerService(store, settings.analyzer, settings.rules)]


def cmd_analyzer(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    return serve_until_stopped(args, settings, _analyzer)


def register(sub: argparse._SubParsersAction) -> None:
    analyzer = sub.add_parser("analyzer", help="run the analyzer alone (server deployments)")
    add_store_args(analyzer)
    analyzer.add_argument("--shard", dest="analyzer_shard",
                          help="this analyzer's share of traces, i/n (AGENTMORTEM_ANALYZER_SHARD)")
    analyzer.add_argument("--ready-file", help="write {} here once running")
    analyzer.set_defaults(func=cmd_analyzer)
