"""`agentmortem serve`: every component in one process (the embedded engine allows one per process), optionally sending itself the demo runs."""

from __future__ import annotations

import argparse

from agentmortem.analyzer.api.service import ApiService
from agentmortem.analyzer.engine.config import AnalyzerSettings
from agentmortem.analyzer.engine.service import AnalyzerService
from agentmortem.cli.common import add_listen_args, local_host, log, serve_until_stopped
from agentmortem.collector.service import CollectorService
from agentmortem.platform.settings import Settings
from agentmortem.platform.store import Store


def _send_demo_to_self(settings: Settings, ports: dict[str, int]) -> None:
    """`serve --demo`: play the demo scenarios into this process's own OTLP/HTTP receiver."""
    from agentmortem.demo.send import send_demo

    if settings.require_auth:
        log.warning("--demo skipped: AGENTMORTEM_REQUIRE_AUTH is on (use `agentmortem demo --api-key …`)")
        return
    host = local_host(settings)
    try:
        sent = send_demo(f"http://{host}:{ports['http_port']}")
    except Exception:  # the demo must never take the server down
        log.exception("demo data could not be sent")
        return
    log.info("demo: sent %d agent runs; post-mortems appear within seconds at http://%s:%s/",
             len(sent), host, ports.get("api_port"))


def _all_services(settings: Settings, store: Store) -> list:
    collector = CollectorService(settings, store)
    analyzer = AnalyzerService(store, AnalyzerSettings(), registry=collector.metrics.registry)
    return [collector, analyzer, ApiService(settings, store, ingest=collector.ingest)]


def cmd_serve(args: argparse.Namespace) -> int:
    return serve_until_stopped(args, _all_services, after_start=_send_demo_to_self if args.demo else None)


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run every component in one process (embedded default)")
    add_listen_args(serve)
    serve.add_argument("--api-port", dest="api_port", type=int, help="API port (AGENTMORTEM_API_PORT; 0 = any free)")
    serve.add_argument("--demo", action="store_true",
                       help="once listening, send the demo agent runs (healthy + one per failure class) to itself")
    serve.set_defaults(func=cmd_serve)
