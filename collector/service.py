"""The collector factory: wires a writer per signal, the key ring and both receivers over a ready store.

`CollectorService.start()` makes the signals' tables as durable as configured (`apply_durability`),
binds the listeners (port 0 picks a free port; the bound ports are on the instance) and
`stop()` shuts down in the safe order: stop accepting, let in-flight requests finish, then
drain the writers so every admitted span, log record and data point is written. The tables must exist already: the
command line creates or verifies them before any service starts (`agentmortem.cli.schema`).
"""

from __future__ import annotations

import asyncio
import logging

from agentmortem.collector.config import IngestSettings
from agentmortem.collector.durability import apply_durability
from agentmortem.collector.grpc_receiver import build_grpc_server
from agentmortem.collector.http_receiver import build_http_app
from agentmortem.collector.ingest import Ingest
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.native import clear_spool
from agentmortem.collector.signals import LOGS, METRICS, SIGNALS
from agentmortem.collector.writer import GroupCommitWriter, WriterLimits
from agentmortem.platform.auth import KeyRing
from agentmortem.platform.hosting import QuietServer, bind_socket, serve_asgi
from agentmortem.platform.settings import AuthSettings, ServerSettings, StoreSettings
from agentmortem.platform.store import Store

log = logging.getLogger(__name__)


def writer_limits(limits: IngestSettings) -> WriterLimits:
    return WriterLimits(
        batch_max_spans=limits.batch_max_spans,
        batch_max_delay_s=limits.batch_max_delay_ms / 1000.0,
        batch_max_bytes=limits.batch_max_bytes,
        writer_threads=limits.writer_threads,
        native_min_spans=limits.native_min_spans,
    )


class CollectorService:
    """OTLP gRPC + HTTP receivers writing traces, logs and metrics durably into the contrib tables."""

    listeners = 2

    def __init__(self, store: Store, *, store_settings: StoreSettings, server: ServerSettings,
                 limits: IngestSettings, auth: AuthSettings) -> None:
        self.store, self.store_settings, self.server, self.limits = store, store_settings, server, limits
        self.metrics = CollectorMetrics()
        self.writer = GroupCommitWriter(store, writer_limits(limits), self.metrics)
        self.signal_writers = {
            signal.name: GroupCommitWriter(store, writer_limits(limits), self.metrics, signal) for signal in (LOGS, METRICS)
        }
        self.keys = KeyRing(store, auth.key_cache_seconds)
        self.ingest = Ingest(limits, auth, self.writer, self.keys, self.metrics, signal_writers=self.signal_writers)
        self.grpc_port: int | None = None
        self.http_port: int | None = None
        self._grpc = None
        self._http: QuietServer | None = None

    def prepare(self) -> None:
        """Durability as configured; staged files a killed process left behind removed."""
        apply_durability(self.store, self.store_settings, [t for signal in SIGNALS for t in signal.tables])
        clear_spool(self.store)

    @property
    def writers(self) -> list[GroupCommitWriter]:
        return [self.writer, *self.signal_writers.values()]

    async def start(self) -> None:
        self.prepare()
        for writer in self.writers:
            writer.start()
        s = self.server
        self._grpc = build_grpc_server(s, self.limits, self.ingest)
        self.grpc_port = self._grpc.add_insecure_port(f"{_grpc_host(s.host)}:{s.otlp_grpc_port}")
        await self._grpc.start()
        sock = bind_socket(s.host, s.otlp_http_port)
        self.http_port = sock.getsockname()[1]
        app = build_http_app(self.limits, self.ingest, self.store)
        self._http = await serve_asgi(app, sock, s, self.limits.retry_after_seconds)
        log.info(
            "collector listening: OTLP/gRPC %s:%d, OTLP/HTTP %s:%d, store %s",
            s.host, self.grpc_port, s.host, self.http_port, self.store.location.describe(),
        )

    async def stop(self) -> None:
        """Stop accepting, finish in-flight requests, then flush the writer."""
        if self._grpc is not None:
            await self._grpc.stop(grace=10)
        if self._http is not None:
            self._http.should_exit = True
            await self._http.task  # type: ignore[attr-defined]
        for writer in self.writers:
            await asyncio.to_thread(writer.stop)
        log.info("collector stopped; all admitted spans, log records and data points written")


class IngestWriter:
    """The collector's durable write path without its receivers: a group-commit writer and the
    `Ingest` over it, for `agentmortem api` alone, whose AgentMetrics endpoints write spans (in `serve`
    they share `CollectorService.ingest`). `stop()` flushes every admitted span."""

    def __init__(self, store: Store, *, limits: IngestSettings, auth: AuthSettings) -> None:
        metrics = CollectorMetrics()
        self.writer = GroupCommitWriter(store, writer_limits(limits), metrics)
        self.ingest = Ingest(limits, auth, self.writer, KeyRing(store, auth.key_cache_seconds), metrics)

    async def start(self) -> None:
        self.writer.start()

    async def stop(self) -> None:
        await asyncio.to_thread(self.writer.stop)


def _grpc_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
