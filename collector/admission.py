"""The in-flight budget: memory held by export requests, from their first byte read to durable.

A request reserves its cost *before* the receiver reads its body (the declared
`Content-Length` over HTTP), so a request that would not fit is refused with the OTLP
retryable answer before it costs anything. (A gRPC message's size is unknown until it
has been read; the gRPC receiver bounds what it reads unreserved, see there.) Once decoded and validated its
reservation becomes the bytes the queue keeps (its protobuf encoding) and its span
count; the writer releases it once the spans are durable.

What a request does synchronously on the event loop — decompressing, decoding,
validating — happens one request at a time, so it is bounded by the largest request
rather than by the number of requests; only what lives across an `await` (a body being
read, a request waiting for its insert) has to be reserved. The writer's working
memory for one insert is bounded by the group caps (`batch_max_spans`,
`batch_max_bytes`), not by this budget; docs/collector.md ("Memory") gives the whole formula.
"""

from __future__ import annotations

import threading

from agentmortem.collector.metrics import CollectorMetrics


class Overloaded(Exception):
    """The in-flight bound is reached; the client should retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("collector is at capacity; retry later")
        self.retry_after = retry_after


class InflightBudget:
    """Bytes and spans of every request in flight, capped; thread-safe.

    A request that is alone always fits: a request larger than the budget must still
    get through eventually, and the size limits on requests bound it anyway.
    """

    def __init__(
        self, max_bytes: int, max_spans: int, retry_after_seconds: int, metrics: CollectorMetrics | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.max_spans = max_spans
        self.retry_after_seconds = retry_after_seconds
        self._metrics = metrics
        self._lock = threading.Lock()
        self._bytes = 0
        self._spans = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def spans(self) -> int:
        return self._spans

    def check_room(self) -> None:
        """Raise `Overloaded` if the budget is full (for a request whose size is not known yet)."""
        if self._bytes >= self.max_bytes or self._spans >= self.max_spans:
            raise Overloaded(self.retry_after_seconds)

    def reserve(self, nbytes: int = 0) -> Reservation:
        """A reservation of `nbytes`, or raise `Overloaded` without reserving anything."""
        reservation = Reservation(self)
        reservation.resize(nbytes)
        return reservation

    def _change(self, reservation: Reservation, nbytes: int, spans: int) -> None:
        with self._lock:  # the reservation's own counts change under the lock too: releases may race
            others_bytes, others_spans = self._bytes - reservation.nbytes, self._spans - reservation.spans
            over_bytes = nbytes > reservation.nbytes and others_bytes + nbytes > self.max_bytes
            over_spans = spans > reservation.spans and others_spans + spans > self.max_spans
            if (over_bytes or over_spans) and (others_bytes or others_spans):
                raise Overloaded(self.retry_after_seconds)
            self._bytes, self._spans = others_bytes + nbytes, others_spans + spans
            reservation.nbytes, reservation.spans = nbytes, spans
            if self._metrics is not None:
                self._metrics.queue_bytes.set(self._bytes)
                self._metrics.queue_spans.set(self._spans)


class Reservation:
    """One request's share of the budget; `release()` (or leaving a `with` block by an error) returns it."""

    def __init__(self, budget: InflightBudget) -> None:
        self._budget = budget
        self.nbytes = 0
        self.spans = 0

    def resize(self, nbytes: int, spans: int | None = None) -> None:
        """Hold exactly `nbytes` (and `spans`, when given); growing past the bound raises `Overloaded`."""
        self._budget._change(self, nbytes, self.spans if spans is None else spans)

    def grow(self, nbytes: int) -> None:
        """Hold `nbytes` more (a body read piece by piece)."""
        self.resize(self.nbytes + nbytes)

    def release(self) -> None:
        self.resize(0, 0)

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.release()
