"""The one export handler both transports call: authenticate, admit, validate, queue, await durability.

Transports reserve a request's share of the in-flight budget before reading its body
(`reserve`), decode it, hand it to `admit` and await `finish`; they map the exceptions
raised here to their protocol's codes and never touch the database. Errors are
classified once, in this module.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from dataclasses import dataclass

from google.protobuf.unknown_fields import UnknownFieldSet
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.collector.admission import InflightBudget, Reservation
from agentmortem.collector.config import IngestSettings
from agentmortem.collector.convert import SpanCheck, check_spans
from agentmortem.collector.metrics import CollectorMetrics
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
    """A request queued for writing: its checked spans, final once `future` resolves (with the
    spans the database refused)."""

    future: Future
    check: SpanCheck
    protocol: str


class Ingest:
    """Shared by the gRPC and HTTP receivers."""

    def __init__(
        self, limits: IngestSettings, auth: AuthSettings, writer: GroupCommitWriter, keys: KeyRing,
        metrics: CollectorMetrics, budget: InflightBudget | None = None,
    ) -> None:
        self._require_auth = auth.require_auth
        self._writer = writer
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

    async def export(
        self, request: ExportTraceServiceRequest, raw: bytes | None, nbytes: int, tenant: str | None, protocol: str,
        decoded: SpanCheck | None = None,
    ) -> ExportResult:
        """Reserve, validate, queue and wait until the spans are durable (or raise).

        For callers that hold a decoded request already; `nbytes` is its size.
        """
        with self.reserve(nbytes) as reservation:
            admission = self.admit(request, raw, tenant, protocol, reservation, decoded)
        return await self.finish(admission)

    def admit(
        self, request: ExportTraceServiceRequest, raw: bytes | None, tenant: str | None, protocol: str,
        reservation: Reservation, decoded: SpanCheck | None = None,
    ) -> Admission:
        """Validate and queue a decoded request holding `reservation`; raises `Overloaded`/`Unavailable`.

        `raw` is the request's protobuf encoding when the transport has it (saves a
        re-encode); `decoded` holds what decoding dropped or repaired (`collector.salvage`).
        The reservation becomes what the queue keeps — the encoding and the valid spans —
        and passes to the writer. Synchronous on purpose: the decoded request must not
        outlive this call (callers pass it without keeping it), so only the bytes wait for
        the insert. On an error the reservation is released.
        """
        with reservation:
            check = check_spans(request)
            if check.rejected:
                self.metrics.spans_rejected.labels("invalid").inc(check.rejected)
            if decoded is not None:
                if decoded.rejected:
                    self.metrics.spans_rejected.labels("malformed").inc(decoded.rejected)
                check.absorb(decoded)
            self.metrics.spans_received.labels(protocol).inc(check.accepted + check.rejected)
            if raw is None or len(UnknownFieldSet(request)):
                # Unknown top-level fields could collide with the tenant field: re-encode without them.
                request.DiscardUnknownFields()
                raw = request.SerializeToString()
            del request
            item = Admitted(raw, tenant, check.accepted)
            try:
                reservation.resize(len(raw), item.count)
                future = self._writer.submit(item, reservation)
            except Overloaded:
                self.metrics.spans_rejected.labels("overloaded").inc(item.count)
                raise
            except Unavailable:
                self.metrics.spans_rejected.labels("unavailable").inc(item.count)
                raise
        return Admission(future, check, protocol)

    async def finish(self, admission: Admission) -> ExportResult:
        """Wait until the admitted spans are durable; raises `Unavailable` if their write failed.
        Spans the database refused are rejected in the result, never retried."""
        check = admission.check
        try:
            written: SpanCheck = await asyncio.wrap_future(admission.future)
        except Unavailable:
            self.metrics.spans_rejected.labels("write_failed").inc(check.accepted)
            raise
        if written.rejected:
            self.metrics.spans_rejected.labels("refused_by_database").inc(written.rejected)
            check.accepted -= written.rejected
            check.absorb(written)
        self.metrics.spans_accepted.labels(admission.protocol).inc(check.accepted)
        return ExportResult(check.accepted, check.rejected, check.message())
