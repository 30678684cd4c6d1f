"""`/metrics` and `/health` on a port of their own, for a process without another HTTP listener.

The stand-alone analyzer (`agentmortem analyzer`) has no OTLP/HTTP port to put its metrics
on, so this small service serves a Prometheus registry (`GET /metrics`) and the database's
reachability (`GET /health`, 503 when unreachable) through the same hosting as our other
listeners (`hosting.serve_asgi`). Its bound port is `metrics_port` (the ready file publishes it).
"""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentmortem.platform.hosting import QuietServer, bind_socket, serve_asgi
from agentmortem.platform.settings import ServerSettings
from agentmortem.platform.store import Store

log = logging.getLogger(__name__)


def build_metrics_app(registry: CollectorRegistry, store: Store) -> Starlette:
    started = time.time()

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def health(_: Request) -> JSONResponse:
        db_ok = await asyncio.to_thread(store.ping)
        return JSONResponse({"status": "ok" if db_ok else "degraded", "database": "ok" if db_ok else "unreachable",
                             "uptime_seconds": round(time.time() - started, 1)}, status_code=200 if db_ok else 503)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"]), Route("/health", health, methods=["GET"])])


class MetricsEndpoint:
    """Serves `registry` on `port` (0 = any free; `metrics_port` is the bound one once started)."""

    listeners = 1

    def __init__(self, registry: CollectorRegistry, store: Store, server: ServerSettings, port: int,
                 retry_after_seconds: int = 1) -> None:
        self.registry, self.store, self.server_settings = registry, store, server
        self.metrics_port = port
        self._retry_after = retry_after_seconds
        self._server: QuietServer | None = None

    async def start(self) -> None:
        sock = bind_socket(self.server_settings.host, self.metrics_port)
        self.metrics_port = sock.getsockname()[1]
        self._server = await serve_asgi(build_metrics_app(self.registry, self.store), sock, self.server_settings,
                                        self._retry_after)
        log.info("metrics on http://%s:%d/metrics", self.server_settings.host, self.metrics_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            await self._server.task  # type: ignore[attr-defined]
            self._server = None
