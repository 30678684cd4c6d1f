"""What the commands share: settings from flags, running services until a signal, the ready file, common flags."""

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

from agentmortem.platform.hosting import raise_open_files_limit
from agentmortem.platform.settings import Settings
from agentmortem.platform.store import Store

log = logging.getLogger("agentmortem")


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {}
    for name in ("clickhouse_url", "host", "otlp_grpc_port", "otlp_http_port", "api_port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


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


def local_host(settings: Settings) -> str:
    """The address this machine reaches our listeners on (loopback when bound to every interface)."""
    return "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host


def serve_until_stopped(args: argparse.Namespace, make: Callable[[Settings, Store], list],
           after_start: Callable[[Settings, dict[str, int]], None] | None = None) -> int:
    """Run the services `make` builds on one store until SIGTERM/SIGINT, then close the store."""
    settings = settings_from(args)
    store = Store(settings.clickhouse_url)
    hook = (lambda ports: after_start(settings, ports)) if after_start is not None else None
    services = make(settings, store)
    raise_open_files_limit(settings, sum(getattr(service, "listeners", 0) for service in services))
    try:
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
