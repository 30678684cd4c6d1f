"""The API as a service: `ApiService.start()` binds `api_port` and serves the app; `stop()` drains.

The AgentMetrics ingest endpoints write through the collector's `Ingest`, given by whoever
composes the process: in `serve` the collector's own (one writer for every input); alone
(`agentmortem api`) a writer of its own (`collector.service.IngestWriter`), so `POST /v1/runs`
still lands in `otel_traces` durably. Without one they answer 503. The analysis tables are
migrated at start.
"""

from __future__ import annotations

import asyncio
import logging
import time

from agentmortem.analyzer.api.app import build_app
from agentmortem.analyzer.api.deps import ApiContext
from agentmortem.analyzer.api.ratelimit import RateLimiter
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.collector.ingest import Ingest
from agentmortem.platform.auth import KeyRing
from agentmortem.platform.hosting import QuietServer, bind_socket, serve_asgi
from agentmortem.platform.settings import Settings
from agentmortem.platform.store import Store

log = logging.getLogger(__name__)


def make_context(store: Store, settings: Settings, api: ApiSettings, ingest: Ingest | None) -> ApiContext:
    """The shared state of the API's routes."""
    return ApiContext(store=store, settings=settings, api=api, keys=KeyRing(store, settings.key_cache_seconds),
                      limiter=RateLimiter(api.rate_limit_per_hour), ingest=ingest, started_at=time.time())


class ApiService:
    """HTTP query API + run pages on `settings.api_port`."""

    listeners = 1

    def __init__(self, settings: Settings, store: Store, api: ApiSettings | None = None,
                 ingest: Ingest | None = None) -> None:
        self.settings, self.store = settings, store
        self.api = api or ApiSettings()
        self.context = make_context(store, settings, self.api, ingest)
        self.app = build_app(self.context)
        self.api_port: int | None = None
        self._server: QuietServer | None = None

    def prepare(self) -> None:
        """Create or verify the analysis tables the API reads (idempotent); the collector's tables are
        prepared by the collector's own start step."""
        migrate_analyzer(self.store)

    async def start(self) -> None:
        await asyncio.to_thread(self.prepare)
        sock = bind_socket(self.settings.host, self.settings.api_port)
        self.api_port = sock.getsockname()[1]
        self.context.started_at = time.time()
        self._server = await serve_asgi(self.app, sock, self.settings)
        log.info("API listening on http://%s:%d (docs at /docs)", self.settings.host, self.api_port)

    async def stop(self) -> None:
        """Stop accepting and let in-flight requests finish (the ingest's writer flushes after)."""
        if self._server is not None:
            self._server.should_exit = True
            await self._server.task  # type: ignore[attr-defined]
        log.info("API stopped")
