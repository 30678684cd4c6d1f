"""The collector factory: wires store, migrations, writer, key ring and both receivers.

`CollectorService.start()` binds the listeners (port 0 picks a free port; the bound
ports are on the instance) and `stop()` shuts down in the safe order: stop accepting,
let in-flight requests finish, then drain the writer so every admitted span is written.
"""

from __future__ import annotations

import asyncio
import logging

from agentmortem.collector.grpc_receiver import build_grpc_server
from agentmortem.collector.http_receiver import build_http_app
from agentmortem.collector.ingest import Ingest
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.migrations import migrate_collector
from agentmortem.collector.native import clear_spool
from agentmortem.collector.writer import GroupCommitWriter, WriterLimits
from agentmortem.platform.auth import KeyRing
from agentmortem.platform.hosting import QuietServer, bind_socket, serve_asgi
from agentmortem.platform.schema import TRACES_TABLE
from agentmortem.platform.settings import Settings
from agentmortem.platform.store import Store

log = logging.getLogger(__name__)


def writer_limits(settings: Settings) -> WriterLimits:
    return WriterLimits(
        batch_max_spans=settings.batch_max_spans,
        batch_max_delay_s=settings.batch_max_delay_ms / 1000.0,
        batch_max_bytes=settings.batch_max_bytes,
        writer_threads=settings.writer_threads,
        native_min_spans=settings.native_min_spans,
    )


def apply_durability(store: Store, settings: Settings) -> None:
    """Set the MergeTree fsync settings on `otel_traces` to match the config."""
    value = 1 if settings.fsync_after_insert else 0
    store.command(
        f"ALTER TABLE {TRACES_TABLE} MODIFY SETTING fsync_after_insert = {value}, fsync_part_directory = {value}"
    )


class CollectorService:
    """OTLP gRPC + HTTP receivers writing durably into `otel_traces`."""

    listeners = 2

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.metrics = CollectorMetrics()
        self.writer = GroupCommitWriter(store, writer_limits(settings), self.metrics)
        self.keys = KeyRing(store, settings.key_cache_seconds)
        self.ingest = Ingest(settings, self.writer, self.keys, self.metrics)
        self.grpc_port: int | None = None
        self.http_port: int | None = None
        self._grpc = None
        self._http: QuietServer | None = None

    def prepare(self) -> None:
        """Create or verify the tables (idempotent)."""
        migrate_collector(self.store, self.settings.ttl_days)
        apply_durability(self.store, self.settings)
        clear_spool(self.store)

    async def start(self) -> None:
        self.prepare()
        self.writer.start()
        s = self.settings
        self._grpc = build_grpc_server(s, self.ingest)
        self.grpc_port = self._grpc.add_insecure_port(f"{_grpc_host(s.host)}:{s.otlp_grpc_port}")
        await self._grpc.start()
        sock = bind_socket(s.host, s.otlp_http_port)
        self.http_port = sock.getsockname()[1]
        self._http = await serve_asgi(build_http_app(s, self.ingest, self.store), sock, s)
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
        await asyncio.to_thread(self.writer.stop)
        log.info("collector stopped; all admitted spans written")


class CollectorTables:
    """A start step for a process without the collector (`agentmortem analyzer`, `agentmortem api`):
    the collector's tables, which the analyzer and the API read, created or verified first."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store

    async def start(self) -> None:
        await asyncio.to_thread(migrate_collector, self.store, self.settings.ttl_days)

    async def stop(self) -> None:
        pass


class IngestWriter:
    """The collector's durable write path without its receivers: a group-commit writer and the
    `Ingest` over it, for `agentmortem api` alone, whose AgentMetrics endpoints write spans (in `serve`
    they share `CollectorService.ingest`). `stop()` flushes every admitted span."""

    def __init__(self, settings: Settings, store: Store) -> None:
        metrics = CollectorMetrics()
        self.writer = GroupCommitWriter(store, writer_limits(settings), metrics)
        self.ingest = Ingest(settings, self.writer, KeyRing(store, settings.key_cache_seconds), metrics)

    async def start(self) -> None:
        self.writer.start()

    async def stop(self) -> None:
        await asyncio.to_thread(self.writer.stop)


def _grpc_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
