"""The API as a service: `ApiService.start()` binds `api_port` and serves the app; `stop()` drains.

In `serve` it shares the collector's ingest path (one writer for every input); alone
(`agentmortem api`) it builds its own group-commit writer over the same store, so
`POST /v1/runs` still lands in `otel_traces` durably. The tables must exist already: the
command line creates or verifies them before any service starts (`agentmortem.cli.schema`).
"""

from __future__ import annotations

import asyncio
import logging
import time

from agentmortem.analyzer.api.app import build_app
from agentmortem.analyzer.api.deps import ApiContext
from agentmortem.analyzer.api.ratelimit import RateLimiter
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.collector.config import IngestSettings
from agentmortem.collector.ingest import Ingest
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.service import writer_limits
from agentmortem.collector.writer import GroupCommitWriter
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
                 limits: IngestSettings, retention_days: int = 0, ingest: Ingest | None = None) -> None:
        self.server, self.store, self.limits = server, store, limits
        self._own_writer: GroupCommitWriter | None = None
        if ingest is None:
            metrics = CollectorMetrics()
            self._own_writer = GroupCommitWriter(store, writer_limits(limits), metrics)
            ingest = Ingest(limits, auth, self._own_writer, KeyRing(store, auth.key_cache_seconds), metrics)
        self.context = make_context(store, api, auth, ingest, retention_days)
        self.app = build_app(self.context)
        self.api_port: int | None = None
        self._server: QuietServer | None = None

    async def start(self) -> None:
        if self._own_writer is not None:
            self._own_writer.start()
        sock = bind_socket(self.server.host, self.server.api_port)
        self.api_port = sock.getsockname()[1]
        self.context.started_at = time.time()
        self._server = await serve_asgi(self.app, sock, self.server, self.limits.retry_after_seconds)
        log.info("API listening on http://%s:%d (docs at /docs)", self.server.host, self.api_port)

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish, then flush the API's own writer."""
        if self._server is not None:
            self._server.should_exit = True
            await self._server.task  # type: ignore[attr-defined]
        if self._own_writer is not None:
            await asyncio.to_thread(self._own_writer.stop)
        log.info("API stopped")
