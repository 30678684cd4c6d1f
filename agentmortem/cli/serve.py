"""`agentmortem serve`: every component in one process (the embedded engine allows one per process), optionally sending itself the demo runs.

The one long-running command that creates and upgrades the tables at start (unless
`AGENTMORTEM_CREATE_SCHEMA=false`, when it verifies them like the others).
"""

from __future__ import annotations

import argparse

from agentmortem.analyzer.api.service import ApiService
from agentmortem.analyzer.engine.service import AnalyzerService
from agentmortem.cli.common import add_listen_args, local_host, log, serve_until_stopped
from agentmortem.collector.service import CollectorService
from agentmortem.platform.store import Store
from agentmortem.settings import AgentmortemSettings


def _send_demo_to_self(settings: AgentmortemSettings, ports: dict[str, int]) -> None:
    """`serve --demo`: play the demo scenarios into this process's own OTLP/HTTP receiver."""
    from agentmortem.demo.send import send_demo

    if settings.auth.require_auth:
        log.warning("--demo skipped: AGENTMORTEM_REQUIRE_AUTH is on (use `agentmortem demo --api-key …`)")
        return
    host = local_host(settings.server)
    try:
        sent = send_demo(f"http://{host}:{ports['http_port']}")
    except Exception:  # the demo must never take the server down
        log.exception("demo data could not be sent")
        return
    log.info("demo: sent %d agent runs; post-mortems appear within seconds at http://%s:%s/",
             len(sent), host, ports.get("api_port"))


def _all_services(settings: AgentmortemSettings, store: Store) -> list:
    collector = CollectorService(store, store_settings=settings.store, server=settings.server,
                                 limits=settings.ingest, auth=settings.auth)
    analyzer = AnalyzerService(store, settings.analyzer, settings.rules, registry=collector.metrics.registry)
    api = ApiService(store, server=settings.server, auth=settings.auth, api=settings.api,
                     retry_after_seconds=settings.ingest.retry_after_seconds,
                     retention_days=settings.store.ttl_days, ingest=collector.ingest)
    return [collector, analyzer, api]


def cmd_serve(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    return serve_until_stopped(args, settings, _all_services, after_start=_send_demo_to_self if args.demo else None,
                               migrate=settings.store.create_schema)


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run every component in one process (embedded default)")
    add_listen_args(serve)
    serve.add_argument("--api-port", dest="api_port", type=int, help="API port (AGENTMORTEM_API_PORT; 0 = any free)")
    serve.add_argument("--demo", action="store_true",
                       help="once listening, send the demo agent runs (healthy + one per failure class) to itself")
    serve.set_defaults(func=cmd_serve)
