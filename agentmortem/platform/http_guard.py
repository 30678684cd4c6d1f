"""uvicorn's HTTP/1.1 protocol with the read timeouts and connection cap uvicorn lacks.

uvicorn only times out idle keep-alive connections, and any byte resets that timer, so a
client that trickles its headers or body holds a connection (and its buffers) for as long
as it likes. `GuardedHttpProtocol` is uvicorn's own httptools protocol plus:

- a header deadline: the request line and headers must be complete within
  `header_timeout` of the connection opening or of the request's first byte (408, then
  close; a connection that never sent a byte is just closed), and may not exceed
  `MAX_HEADER_BYTES` (431);
- a body deadline: once headers are in, the body must keep arriving — no silence longer
  than `body_timeout`, and after that much time, on average at least `body_min_rate`
  bytes a second (408 unless the app has answered, then close). The app's pending
  `receive()` sees `http.disconnect`. Time the server itself stopped reading (flow
  control, a slow app) is never held against the client;
- a cap: past `max_connections` open connections on the listener, a new connection is
  answered `503` with `Retry-After` and closed, without touching the others.

Only the parser-independent parts are ours; parsing, keep-alive and the ASGI cycle stay
uvicorn's (pinned to httptools, which `uvicorn[standard]` installs).
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import TimerHandle
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger(__name__)

# Request line plus headers; Go's net/http allows 1 MiB, nginx 8-32 KiB, h11 16 KiB.
MAX_HEADER_BYTES = 64 * 1024
# At most one warning per this many seconds about closed and refused clients: an attack
# must not flood the log.
_REPORT_EVERY_SECONDS = 10.0
# How long a refused connection may stay half-open so the client reads the 503 (closing
# with its request unread would send a reset that can destroy the answer).
_REFUSAL_LINGER_SECONDS = 2.0


class _Report:
    """Counts closed and refused connections; logs a summary now and then, not a line each."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.next_at = 0.0

    def add(self, loop: asyncio.AbstractEventLoop, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        now = loop.time()
        if now >= self.next_at:
            log.warning("slow or excess HTTP clients: %s",
                        ", ".join(f"{n} {what}" for what, n in sorted(self.counts.items())))
            self.counts.clear()
            self.next_at = now + _REPORT_EVERY_SECONDS


_report = _Report()


@dataclass(frozen=True)
class ConnectionLimits:
    """What one HTTP listener tolerates from its clients."""

    header_timeout: float
    body_timeout: float
    body_min_rate: float
    max_connections: int
    retry_after_seconds: int


def _plain_response(status: int, message: str, default_headers: list[tuple[bytes, bytes]],
                    extra: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    body = message.encode()
    lines = [STATUS_LINE[status]]
    for name, value in (*default_headers, *extra, (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()), (b"connection", b"close")):
        lines.append(name + b": " + value + b"\r\n")
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)


class GuardedHttpProtocol(HttpToolsProtocol):
    """One connection; see the module docstring. Built by uvicorn through `partial(..., limits=)`."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None, *, limits: ConnectionLimits) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._refused = False
        self._phase = "idle"  # idle → headers → body → idle …
        self._timer: TimerHandle | None = None
        self._header_bytes = 0
        self._received_header_bytes = False
        self._body_since = 0.0  # the body clock: when the rate allowance started
        self._body_last = 0.0  # when body bytes last arrived
        self._body_bytes = 0

    # -- connection ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._refuse(transport)
            return
        super().connection_made(transport)
        self._start_headers(received=False)

    def _refuse(self, transport: asyncio.Transport) -> None:
        self._refused = True
        self.transport = transport
        _report.add(self.loop, f"refused past {self.limits.max_connections} connections")
        transport.write(_plain_response(
            503, "too many connections; retry later", self.server_state.default_headers,
            ((b"retry-after", str(self.limits.retry_after_seconds).encode()),)))
        if transport.can_write_eof():
            transport.write_eof()
        self._timer = self.loop.call_later(_REFUSAL_LINGER_SECONDS, transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped, so the close is clean
        if self._phase == "idle":
            self._start_headers(received=True)
        if self._phase == "headers":
            self._received_header_bytes = True
            self._header_bytes += len(data)
        super().data_received(data)
        # Still in the headers after this chunk: every byte counted so far was a header byte.
        if self._phase == "headers" and self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
            self._close(431, f"request headers exceed {MAX_HEADER_BYTES} bytes", answer=self._between_responses())

    # -- parser callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._phase == "idle":  # a pipelined request starting in the chunk that ended the last one
            self._start_headers(received=True)
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._cancel_timer()
        now = self.loop.time()
        self._phase, self._body_since, self._body_last, self._body_bytes = "body", now, now, 0
        self._timer = self.loop.call_at(now + self.limits.body_timeout, self._check_body)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_last = self.loop.time()
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._cancel_timer()
        self._phase = "idle"
        super().on_message_complete()

    # -- deadlines -----------------------------------------------------------------------
    def _start_headers(self, received: bool) -> None:
        self._phase, self._header_bytes = "headers", 0
        self._received_header_bytes = received
        self._cancel_timer()
        self._timer = self.loop.call_later(self.limits.header_timeout, self._headers_timed_out)

    def _headers_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if not self._received_header_bytes:
            self.transport.close()  # it never sent a byte: there is no request to answer
            return
        self._close(408, f"request headers not received within {self.limits.header_timeout:g} s",
                    answer=self._between_responses())

    def _check_body(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        now, limits = self.loop.time(), self.limits
        if self.flow.read_paused:
            # We stopped reading, not the client: give it a fresh allowance once we resume.
            self._body_last = now
            self._body_since = now - self._body_bytes / limits.body_min_rate if limits.body_min_rate else now
        stall_deadline = self._body_last + limits.body_timeout
        rate_deadline = (self._body_since + limits.body_timeout + self._body_bytes / limits.body_min_rate
                         if limits.body_min_rate else stall_deadline)
        deadline = min(stall_deadline, rate_deadline)
        if now < deadline:
            self._timer = self.loop.call_at(deadline, self._check_body)
            return
        why = "stalled for" if deadline == stall_deadline else f"slower than {limits.body_min_rate:g} bytes/s after"
        self._close(408, f"request body {why} {limits.body_timeout:g} s",
                    answer=self.cycle is not None and not self.cycle.response_started)

    def _between_responses(self) -> bool:
        """No response is being written, so an answer of ours cannot interleave with one."""
        return self.cycle is None or self.cycle.response_complete

    def _close(self, status: int, message: str, answer: bool) -> None:
        """Close the connection, first answering `status` when `answer`; the app's request ends."""
        self._cancel_timer()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # its receive() now returns http.disconnect; its send() is dropped
            cycle.message_event.set()
        if answer:
            self.transport.write(_plain_response(status, message, self.server_state.default_headers))
        log.debug("closed %s: %d %s", self.client, status, message)
        _report.add(self.loop, f"closed with {status}" if answer else "closed")
        self.transport.close()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
