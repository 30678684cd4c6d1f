"""Raw sockets that misbehave on purpose — trickle headers or a body, stall, say nothing —
and a bare HTTP/2 peer that never answers, for the slow-client tests of every listener."""

from __future__ import annotations

import select
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # length 0, type SETTINGS, no flags, stream 0
PING, GOAWAY = 6, 7  # HTTP/2 frame types
T = TypeVar("T")


@dataclass(eq=False)
class RawConnection:
    """One TCP connection that sends `pending` a little at a time (or never) and records the answer."""

    sock: socket.socket
    pending: bytes = b""
    chunk: int = 1  # bytes per drip
    received: bytearray = field(default_factory=bytearray)
    closed_after: float | None = None  # seconds from opening to the server's close
    opened_at: float = field(default_factory=time.monotonic)

    @property
    def open(self) -> bool:
        return self.closed_after is None

    @property
    def status(self) -> int | None:
        """The status code of the first response received, if any."""
        if not self.received.startswith(b"HTTP/1.1 "):
            return None
        return int(self.received.split(b" ", 2)[1])

    def header(self, name: str) -> str | None:
        head = bytes(self.received).split(b"\r\n\r\n", 1)[0].decode("latin-1")
        for line in head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    def send_all(self, data: bytes) -> None:
        self.sock.sendall(data)

    def drip(self) -> None:
        if self.open and self.pending:
            try:
                sent = self.sock.send(self.pending[:self.chunk])
            except OSError:
                return  # the server closed: `read` sees it
            self.pending = self.pending[sent:]

    def read(self) -> None:
        try:
            data = self.sock.recv(65536)
        except OSError:  # reset by the server
            data = b""
        if data:
            self.received += data
        else:
            self.closed_after = time.monotonic() - self.opened_at

    def close(self) -> None:
        self.sock.close()


def connect(port: int, first: bytes = b"", then: bytes = b"", chunk: int = 1) -> RawConnection:
    """Open a connection, send `first` at once, keep `then` to trickle `chunk` bytes at a time."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = RawConnection(sock, pending=then, chunk=chunk)
    if first:
        sock.sendall(first)
    return conn


def drive(conns: list[RawConnection], seconds: float, drip_every: float = 0.2,
          until: Callable[[], bool] | None = None) -> None:
    """For up to `seconds`: trickle to every open connection each `drip_every`, read what the
    server says, note when it closes each. Stops early once `until()` holds (by default: once
    every connection is closed)."""
    done = until or (lambda: not any(c.open for c in conns))
    deadline = time.monotonic() + seconds
    next_drip = 0.0
    with selectors.DefaultSelector() as selector:  # epoll: hundreds of sockets, descriptors past 1024
        for conn in conns:
            if conn.open:
                selector.register(conn.sock, selectors.EVENT_READ, conn)
        while time.monotonic() < deadline and not done():
            now = time.monotonic()
            if now >= next_drip:
                for conn in conns:
                    conn.drip()
                next_drip = now + drip_every
            for key, _ in selector.select(0.05):
                conn = key.data
                conn.read()
                if not conn.open:
                    selector.unregister(conn.sock)


def http_request(path: str, body: bytes = b"", content_type: str = "application/x-protobuf",
                 method: str = "POST") -> bytes:
    """The bytes of a complete HTTP/1.1 request (keep-alive)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class Background:
    """A well-behaved client calling `request()` over and over in a thread; records every status."""

    def __init__(self, request: Callable[[httpx.Client], int], pause: float = 0.05) -> None:
        self.statuses: list[int] = []
        self.answered_at: list[float] = []  # monotonic time of each answer
        self._request, self._pause = request, pause
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                self.statuses.append(self._request(client))
                self.answered_at.append(time.monotonic())
                self._stop.wait(self._pause)

    def __enter__(self) -> Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def assert_served_during(self, conns: list[RawConnection]) -> None:
        """Every answer was a 200, and some came while the server still held one of `conns`."""
        assert self.statuses and set(self.statuses) == {200}, self.statuses
        last_close = max(c.opened_at + (c.closed_after or float("inf")) for c in conns)
        assert self.answered_at[0] < last_close, "no answer while the slow connections were open"


def http2_frames(conn: RawConnection, seconds: float) -> list[tuple[int, float]]:
    """Read HTTP/2 frames for up to `seconds` (or until the server closes): (type, seconds since open)."""
    deadline = time.monotonic() + seconds
    frames: list[tuple[int, float]] = []
    buffer = b""
    while conn.open and time.monotonic() < deadline:
        readable, _, _ = select.select([conn.sock], [], [], 0.05)
        if not readable:
            continue
        before = len(conn.received)
        conn.read()
        buffer += bytes(conn.received[before:])
        while len(buffer) >= 9 and len(buffer) >= 9 + int.from_bytes(buffer[:3], "big"):
            length = int.from_bytes(buffer[:3], "big")
            frames.append((buffer[3], time.monotonic() - conn.opened_at))
            buffer = buffer[9 + length:]
    return frames


@dataclass
class SlowClients:
    """Ten of each kind of slow client of one HTTP request: trickling its headers (five bytes
    a second), trickling its body, stalling before the body's end, and saying nothing."""

    trickled_headers: list[RawConnection]
    trickled_body: list[RawConnection]
    stalled_body: list[RawConnection]
    silent: list[RawConnection]

    @classmethod
    def open(cls, port: int, request: bytes) -> SlowClients:
        body_at = request.index(b"\r\n\r\n") + 4
        return cls(
            [connect(port, then=request) for _ in range(10)],
            # five bytes a second never pauses for a whole second, but is far below the minimum rate
            [connect(port, first=request[:body_at + 10], then=request[body_at + 10:]) for _ in range(10)],
            [connect(port, first=request[:-5]) for _ in range(10)],
            [connect(port) for _ in range(10)],
        )

    @property
    def all(self) -> list[RawConnection]:
        return self.trickled_headers + self.trickled_body + self.stalled_body + self.silent

    def assert_cut_off(self, header_timeout: str, body_timeout: str, min_rate: str) -> None:
        """Each got the 408 its kind earns (the silent ones nothing: they asked nothing) and was closed."""
        for conn in self.trickled_headers:
            assert not conn.open and conn.status == 408, conn.received
            assert f"request headers not received within {header_timeout} s".encode() in conn.received
        for conn in self.trickled_body:
            assert not conn.open and conn.status == 408, conn.received
            assert f"request body slower than {min_rate} bytes/s after {body_timeout} s".encode() in conn.received
        for conn in self.stalled_body:
            assert not conn.open and conn.status == 408, conn.received
            assert f"request body stalled for {body_timeout} s".encode() in conn.received
        for conn in self.silent:
            assert not conn.open and conn.received == b""


def until_ok(call: Callable[[], T], ok: T, seconds: float = 10) -> T:
    """Call `call` until it returns `ok` or `seconds` have passed; returns the last result."""
    deadline = time.monotonic() + seconds
    while (result := call()) != ok and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def assert_http_cap_holds(port: int, cap: int, request: bytes, fresh: Callable[[], int]) -> None:
    """With `cap` connections allowed, open twice as many silent ones: the excess are answered
    503 + `Retry-After: 1` and closed while the rest are held untouched; a fresh client
    (`fresh()` returns its status) is refused too; a held connection is still served
    `request`; once a few held ones close, a fresh client is served."""
    conns = [connect(port) for _ in range(2 * cap)]
    drive(conns, seconds=3, until=lambda: False)
    refused = [c for c in conns if not c.open]
    held = [c for c in conns if c.open]
    assert len(refused) == cap and len(held) == cap
    for conn in refused:
        assert conn.status == 503 and conn.header("retry-after") == "1", conn.received
    assert all(c.received == b"" for c in held)
    assert fresh() == 503

    held[0].send_all(request)
    drive([held[0]], seconds=10, until=lambda: held[0].status is not None)
    assert held[0].status == 200 and held[0].open

    for conn in held[1:6]:
        conn.close()
    assert until_ok(fresh, 200) == 200
