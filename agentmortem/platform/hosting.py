"""Hosting our network servers: uvicorn on a socket we bind, guarded against slow and excess clients.

Both HTTP servers (OTLP/HTTP and the API) run through `serve_asgi`: uvicorn without its own
signal handling, on an already bound socket, with `http_guard`'s protocol (header/body
deadlines, the connection cap). `raise_open_files_limit` makes room for the caps.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket

import uvicorn

from agentmortem.platform.http_guard import ConnectionLimits, GuardedHttpProtocol
from agentmortem.platform.settings import ServerSettings

log = logging.getLogger(__name__)


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn releases
        return None


def raise_open_files_limit(settings: ServerSettings, listeners: int) -> None:
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


def connection_limits(settings: ServerSettings, retry_after_seconds: int) -> ConnectionLimits:
    return ConnectionLimits(
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        body_min_rate=settings.body_min_rate_bytes,
        max_connections=settings.max_connections,
        retry_after_seconds=retry_after_seconds,
    )


async def serve_asgi(app, sock: socket.socket, settings: ServerSettings, retry_after_seconds: int) -> QuietServer:
    """Start uvicorn on an already bound socket; returns the server (its task runs on).

    Connections are `GuardedHttpProtocol`s: uvicorn's own, plus header/body deadlines and
    the connection cap (see `agentmortem.platform.http_guard`), whose 503 says to retry after
    `retry_after_seconds`. No WebSocket upgrades: nothing of ours speaks them. uvicorn's
    loggers take the process's level (`AGENTMORTEM_LOG_LEVEL`, set by `configure_logging`).
    """
    config = uvicorn.Config(
        app, lifespan="off", access_log=False, log_level=logging.getLogger().getEffectiveLevel(), ws="none",
        http=functools.partial(GuardedHttpProtocol, limits=connection_limits(settings, retry_after_seconds)),  # type: ignore[arg-type]
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
