"""The collector factory: wires store, migrations, writer, key ring and both receivers.

`CollectorService.start()` binds the listeners (port 0 picks a free port; the bound
ports are on the instance) and `stop()` shuts down in the safe order: stop accepting,
let in-flight requests finish, then drain the writer so every admitted span is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket

import uvicorn

from collector.auth import KeyRing
from collector.config import Settings
from collector.grpc_receiver import build_grpc_server
from collector.http_guard import ConnectionLimits, GuardedHttpProtocol
from collector.http_receiver import build_http_app
from collector.ingest import Ingest
from collector.metrics import CollectorMetrics
from collector.migrations import migrate_collector
from collector.native import clear_spool
from collector.schema import TRACES_TABLE
from collector.store import Store
from collector.writer import GroupCommitWriter, WriterLimits

log = logging.getLogger(__name__)


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn releases
        return None


def raise_open_files_limit(settings: Settings, listeners: int) -> None:
    """Lift the soft open-files limit (towards the hard one, as Go programs do) so that
    `listeners` full connection caps plus the database's own files fit; warn when even the
    hard limit is short. The embedded engine lifts it to the hard limit itself when it
    starts; against a ClickHouse server nothing else does."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    wanted = listeners * settings.max_connections + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft != resource.RLIM_INFINITY and soft < wanted:
        log.warning("open-files limit %d is below the %d that %d listeners of AGENTMORTEM_MAX_CONNECTIONS=%d "
                    "need: raise `ulimit -n` or lower the cap", soft, wanted, listeners, settings.max_connections)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 → any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def connection_limits(settings: Settings) -> ConnectionLimits:
    return ConnectionLimits(
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        body_min_rate=settings.body_min_rate_bytes,
        max_connections=settings.max_connections,
        retry_after_seconds=settings.retry_after_seconds,
    )


async def serve_asgi(app, sock: socket.socket, settings: Settings) -> QuietServer:
    """Start uvicorn on an already bound socket; returns the server (its task runs on).

    Connections are `GuardedHttpProtocol`s: uvicorn's own, plus header/body deadlines and
    the connection cap (see `collector.http_guard`). No WebSocket upgrades: nothing of ours
    speaks them.
    """
    config = uvicorn.Config(
        app, lifespan="off", access_log=False, log_level=settings.log_level.lower(), ws="none",
        http=functools.partial(GuardedHttpProtocol, limits=connection_limits(settings)),  # type: ignore[arg-type]
        timeout_keep_alive=settings.http_keep_alive_seconds,  # type: ignore[arg-type]
        timeout_graceful_shutdown=30,
    )
    server = QuietServer(config)
    server.task = asyncio.create_task(server.serve(sockets=[sock]))  # type: ignore[attr-defined]
    while not server.started:
        if server.task.done():  # type: ignore[attr-defined]
            server.task.result()  # type: ignore[attr-defined]
        await asyncio.sleep(0.01)
    return server


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


def _grpc_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
