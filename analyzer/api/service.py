"""The API as a service: `ApiService.start()` binds `api_port` and serves the app; `stop()` drains.

The AgentMetrics ingest endpoints write through the collector's `Ingest`, given by whoever
composes the process: in `serve` the collector's own (one writer for every input); alone
(`agentmortem api`) a writer of its own (`collector.service.IngestWriter`), so `POST /v1/runs`
still lands in `otel_traces` durably. Without one they answer 503. The tables must exist
already: the command line creates or verifies them before any service starts
(`agentmortem.cli.schema`).
"""

from __future__ import annotations

import logging
import time

from agentmortem.analyzer.api.app import build_app
from agentmortem.analyzer.api.deps import ApiContext
from agentmortem.analyzer.api.ratelimit import RateLimiter
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.collector.ingest import Ingest
from agentmortem.platform.auth import KeyRing
from agentmortem.platform.hosting import QuietServer, bind_socket, serve_asgi
from agentmortem.platform.settings import AuthSettings, ServerSettings
from agentmortem.platform.store import Store

log = logging.getLogger(__name__)


def make_context(store: Store, api: ApiSettings, auth: AuthSettings, ingest: Ingest | None,
                 retention_days: int = 0) -> ApiContext:
    """The shared state of the API's routes."""
    return ApiContext(store=store, api=api, auth=auth, keys=KeyRing(store, auth.key_cache_seconds),
                      limiter=RateLimiter(api.rate_limit_per_hour), ingest=ingest, started_at=time.time(),
                      retention_days=retention_days)


class ApiService:
    """HTTP query API + run pages on `server.api_port`."""

    listeners = 1

    def __init__(self, store: Store, *, server: ServerSettings, auth: AuthSettings, api: ApiSettings,
                 retry_after_seconds: int, retention_days: int = 0, ingest: Ingest | None = None) -> None:
        self.server, self.store, self.retry_after_seconds = server, store, retry_after_seconds
        self.context = make_context(store, api, auth, ingest, retention_days)
        self.app = build_app(self.context)
        self.api_port: int | None = None
        self._server: QuietServer | None = None

    async def start(self) -> None:
        sock = bind_socket(self.server.host, self.server.api_port)
        self.api_port = sock.getsockname()[1]
        self.context.started_at = time.time()
        self._server = await serve_asgi(self.app, sock, self.server, self.retry_after_seconds)
        log.info("API listening on http://%s:%d (docs at /docs)", self.server.host, self.api_port)

    async def stop(self) -> None:
        """Stop accepting and let in-flight requests finish (the ingest's writer flushes after)."""
        if self._server is not None:
            self._server.should_exit = True
            await self._server.task  # type: ignore[attr-defined]
        log.info("API stopped")
