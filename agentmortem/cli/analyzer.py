"""`agentmortem analyzer [--shard i/n]`: the analyzer alone; several can share a ClickHouse server."""

from __future__ import annotations

import argparse
import sys

from agentmortem.analyzer.engine.config import AnalyzerSettings, Shard
from agentmortem.analyzer.engine.service import AnalyzerService
from agentmortem.cli.common import add_store_args, serve_until_stopped
from agentmortem.collector.service import CollectorTables


def cmd_analyzer(args: argparse.Namespace) -> int:
    analyzer_settings = AnalyzerSettings()
    try:
        shard = Shard.parse(args.shard) if args.shard else analyzer_settings.shard
    except ValueError as exc:
        print(f"invalid --shard: {exc}", file=sys.stderr)
        return 2
    return serve_until_stopped(args, lambda settings, store: [
        CollectorTables(settings, store), AnalyzerService(store, analyzer_settings, shard=shard)])


def register(sub: argparse._SubParsersAction) -> None:
    analyzer = sub.add_parser("analyzer", help="run the analyzer alone (server deployments)")
    add_store_args(analyzer)
    analyzer.add_argument("--shard", help="this analyzer's share of traces, i/n (AGENTMORTEM_ANALYZER_SHARD)")
    analyzer.add_argument("--ready-file", help="write {} here once running")
    analyzer.set_defaults(func=cmd_analyzer)
