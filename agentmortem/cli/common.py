"""What the commands share: settings flags, running services until a signal, the ready file, common flags."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentmortem.cli.schema import ensure_schema, open_store
from agentmortem.platform.hosting import raise_open_files_limit
from agentmortem.platform.settings import ServerSettings
from agentmortem.platform.store import Store
from agentmortem.settings import AgentmortemSettings

log = logging.getLogger("agentmortem")

# Command-line flags that set a setting (dest = the setting's field name).
SETTING_FLAGS = ("clickhouse_url", "host", "otlp_grpc_port", "otlp_http_port", "api_port", "analyzer_shard",
                 "analyzer_metrics_port")


def setting_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags (they win over the environment)."""
    return {name: value for name in SETTING_FLAGS if (value := getattr(args, name, None)) is not None}


def write_ready_file(path: str, ports: dict[str, int]) -> None:
    """Publish the bound ports at `path` atomically (written aside, then renamed): whoever polls for
    the file never reads it half-written."""
    target = Path(path)
    aside = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    aside.write_text(json.dumps(ports))
    os.replace(aside, target)


async def run_services(services: list, ready_file: str | None,
                        after_start: Callable[[dict[str, int]], None] | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started = []
    try:
        for service in services:
            await service.start()
            started.append(service)
        ports: dict[str, int] = {}
        for service in started:
            ports.update({k: v for k, v in vars(service).items() if k.endswith("_port")})
        if ready_file:
            write_ready_file(ready_file, ports)
        print("agentmortem is running; press Ctrl+C to stop", file=sys.stderr, flush=True)
        if after_start is not None:
            background = asyncio.create_task(asyncio.to_thread(after_start, ports))
        await stop.wait()
        log.info("shutting down")
        if after_start is not None and not background.done():
            background.cancel()
    finally:
        for service in reversed(started):
            await service.stop()


def local_host(server: ServerSettings) -> str:
    """The address this machine reaches our listeners on (loopback when bound to every interface)."""
    return "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host


def serve_until_stopped(args: argparse.Namespace, settings: AgentmortemSettings,
                        make: Callable[[AgentmortemSettings, Store], list],
                        after_start: Callable[[AgentmortemSettings, dict[str, int]], None] | None = None,
                        migrate: bool = False) -> int:
    """Run the services `make` builds on one store until SIGTERM/SIGINT, then close the store.

    Before anything starts the schema is migrated (`migrate`: `serve` with `create_schema`) or
    verified (`agentmortem.cli.schema`)."""
    store = open_store(settings.store, create=migrate)
    try:
        ensure_schema(store, args.command, settings.store, migrate=migrate)
        hook = (lambda ports: after_start(settings, ports)) if after_start is not None else None
        services = make(settings, store)
        raise_open_files_limit(settings.server, sum(getattr(service, "listeners", 0) for service in services))
        asyncio.run(run_services(services, args.ready_file, after_start=hook))
    finally:
        store.close()
    return 0


def add_store_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clickhouse-url", dest="clickhouse_url", help="overrides AGENTMORTEM_CLICKHOUSE_URL")


def add_listen_args(parser: argparse.ArgumentParser) -> None:
    add_store_args(parser)
    parser.add_argument("--host", help="bind address (AGENTMORTEM_HOST)")
    parser.add_argument("--grpc-port", dest="otlp_grpc_port", type=int, help="OTLP/gRPC port (0 = any free)")
    parser.add_argument("--http-port", dest="otlp_http_port", type=int, help="OTLP/HTTP port (0 = any free)")
    parser.add_argument("--ready-file", help="write the bound ports as JSON here once listening")
