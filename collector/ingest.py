"""The one export handler both transports call, for every signal: authenticate, admit, validate,
queue, await durability.

Transports reserve a request's share of the in-flight budget before reading its body
(`reserve`), decode it, hand it to `admit` and await `finish`; they map the exceptions
raised here to their protocol's codes and never touch the database. Errors are
classified once, in this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from google.protobuf.unknown_fields import UnknownFieldSet

from agentmortem.collector.admission import InflightBudget, Reservation
from agentmortem.collector.config import IngestSettings
from agentmortem.collector.convert import SpanCheck
from agentmortem.collector.metrics import CollectorMetrics, SignalCounters
from agentmortem.collector.signals import TRACES, Signal
from agentmortem.collector.writer import Admitted, GroupCommitWriter, Overloaded, Unavailable
from agentmortem.platform.auth import KeyRing
from agentmortem.platform.settings import AuthSettings
from agentmortem.platform.store import StoreError

__all__ = ["Ingest", "ExportResult", "Unauthenticated", "Overloaded", "Unavailable", "BadRequest"]


class Unauthenticated(Exception):
    """Missing, unknown or revoked API key."""


class BadRequest(Exception):
    """The payload cannot be decoded; retrying it will not help."""


@dataclass(frozen=True)
class ExportResult:
    accepted: int
    rejected: int
    message: str


@dataclass(frozen=True)
class Admission:
    """A request queued for writing: its checked items, final once `future` resolves (with the
    items the database refused)."""

    future: Future
    check: SpanCheck
    protocol: str
    counters: SignalCounters


class Ingest:
    """Shared by the gRPC and HTTP receivers. `writer` takes the spans; `signal_writers` the
    other signals (by `Signal.name`), which are refused without one."""

    def __init__(
        self, limits: IngestSettings, auth: AuthSettings, writer: GroupCommitWriter, keys: KeyRing,
        metrics: CollectorMetrics, budget: InflightBudget | None = None,
        signal_writers: Mapping[str, GroupCommitWriter] | None = None,
    ) -> None:
        self._require_auth = auth.require_auth
        self._writers = {TRACES.name: writer, **(signal_writers or {})}
        self._keys = keys
        self.metrics = metrics
        self.retry_after_seconds = limits.retry_after_seconds
        self.budget = budget or InflightBudget(
            limits.max_inflight_bytes, limits.max_inflight_spans, limits.retry_after_seconds, metrics
        )

    def reserve(self, nbytes: int) -> Reservation:
        """Reserve `nbytes` of the in-flight budget before reading a body; raises `Overloaded`."""
        return self.budget.reserve(nbytes)

    def authenticate(self, key: str | None) -> str | None:
        """The tenant to stamp on the spans, or raise `Unauthenticated`.

        Without `require_auth` a request may come without a key; a key that is
        presented must still be valid, so a typo never silently drops the tenant.
        """
        if key is None:
            if self._require_auth:
                raise Unauthenticated("an API key is required (Authorization: Bearer <key> or x-api-key)")
            return None
        try:
            tenant = self._keys.tenant_for(key)
        except StoreError as exc:
            raise Unavailable(f"cannot check the API key: {exc}") from exc
        if tenant is None:
            raise Unauthenticated("the API key is unknown or revoked")
        return tenant

    def accepts(self, signal: Signal) -> bool:
        return signal.name in self._writers

    async def export(
        self, request: Any, raw: bytes | None, nbytes: int, tenant: str | None, protocol: str,
        decoded: SpanCheck | None = None, signal: Signal = TRACES,
    ) -> ExportResult:
        """Reserve, validate, queue and wait until the items are durable (or raise).

        For callers that hold a decoded request already; `nbytes` is its size.
        """
        with self.reserve(nbytes) as reservation:
            admission = self.admit(request, raw, tenant, protocol, reservation, decoded, signal)
        return await self.finish(admission)

    def admit(
        self, request: Any, raw: bytes | None, tenant: str | None, protocol: str,
        reservation: Reservation, decoded: SpanCheck | None = None, signal: Signal = TRACES,
    ) -> Admission:
        """Validate and queue a decoded request holding `reservation`; raises `Overloaded`/`Unavailable`.

        `raw` is the request's protobuf encoding when the transport has it (saves a
        re-encode); `decoded` holds what decoding dropped or repaired (`collector.salvage`).
        The reservation becomes what the queue keeps — the encoding and the valid spans —
        and passes to the writer. Synchronous on purpose: the decoded request must not
        outlive this call (callers pass it without keeping it), so only the bytes wait for
        the insert. On an error the reservation is released.
        """
        counters = self.metrics.signals[signal.name]
        with reservation:
            check = signal.check(request)
            check.unit = signal.item
            if check.rejected:
                counters.rejected.labels("invalid").inc(check.rejected)
            if decoded is not None:
                if decoded.rejected:
                    counters.rejected.labels("malformed").inc(decoded.rejected)
                check.absorb(decoded)
            counters.received.labels(protocol).inc(check.accepted + check.rejected)
            if raw is None or len(UnknownFieldSet(request)):
                # Unknown top-level fields could collide with the tenant field: re-encode without them.
                request.DiscardUnknownFields()
                raw = request.SerializeToString()
            del request
            item = Admitted(raw, tenant, check.accepted)
            try:
                reservation.resize(len(raw), item.count)
                future = self._writers[signal.name].submit(item, reservation)
            except Overloaded:
                counters.rejected.labels("overloaded").inc(item.count)
                raise
            except Unavailable:
                counters.rejected.labels("unavailable").inc(item.count)
                raise
        return Admission(future, check, protocol, counters)

    async def finish(self, admission: Admission) -> ExportResult:
        """Wait until the admitted items are durable; raises `Unavailable` if their write failed.
        Items the database refused are rejected in the result, never retried."""
        check, counters = admission.check, admission.counters
        try:
            written: SpanCheck = await asyncio.wrap_future(admission.future)
        except Unavailable:
            counters.rejected.labels("write_failed").inc(check.accepted)
            raise
        if written.rejected:
            counters.rejected.labels("refused_by_database").inc(written.rejected)
            check.accepted -= written.rejected
            check.absorb(written)
        counters.accepted.labels(admission.protocol).inc(check.accepted)
        return ExportResult(check.accepted, check.rejected, check.message())
