"""`agentmortem analyzer [--shard i/n]`: the analyzer alone; several can share a ClickHouse server. The schema must be current (`agentmortem migrate`).

Its Prometheus `/metrics` and `/health` are on a port of its own (`AGENTMORTEM_ANALYZER_METRICS_PORT`,
`--metrics-port`): several analyzers on one host each need their own.
"""

from __future__ import annotations

import argparse

from prometheus_client import CollectorRegistry

from agentmortem.analyzer.engine.service import AnalyzerService
from agentmortem.cli.common import add_store_args, serve_until_stopped
from agentmortem.platform.metrics_endpoint import MetricsEndpoint
from agentmortem.platform.store import Store
from agentmortem.settings import AgentmortemSettings


def _analyzer(settings: AgentmortemSettings, store: Store) -> list:
    """The analyzer, and its metrics endpoint (started first, so a round's counts are never unscraped)."""
    registry = CollectorRegistry()
    return [MetricsEndpoint(registry, store, settings.server, settings.server.analyzer_metrics_port,
                            settings.ingest.retry_after_seconds),
            AnalyzerService(store, settings.analyzer, settings.rules, registry=registry)]


def cmd_analyzer(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    return serve_until_stopped(args, settings, _analyzer)


def register(sub: argparse._SubParsersAction) -> None:
    analyzer = sub.add_parser("analyzer", help="run the analyzer alone (server deployments)")
    add_store_args(analyzer)
    analyzer.add_argument("--shard", dest="analyzer_shard",
                          help="this analyzer's share of traces, i/n (AGENTMORTEM_ANALYZER_SHARD)")
    analyzer.add_argument("--host", help="bind address of /metrics (AGENTMORTEM_HOST)")
    analyzer.add_argument("--metrics-port", dest="analyzer_metrics_port", type=int,
                          help="/metrics and /health port (AGENTMORTEM_ANALYZER_METRICS_PORT; 0 = any free)")
    analyzer.add_argument("--ready-file", help="write the bound metrics port as JSON here once running")
    analyzer.set_defaults(func=cmd_analyzer)
