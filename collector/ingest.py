"""The one export handler both transports call: authenticate, convert, queue, await durability.

Transports decode bytes and map the exceptions raised here to their protocol's codes;
they never touch the database. Errors are classified once, in this module.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from google.protobuf.unknown_fields import UnknownFieldSet
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector.auth import KeyRing
from collector.config import Settings
from collector.convert import SpanCheck, check_spans
from collector.metrics import CollectorMetrics
from collector.store import StoreError
from collector.writer import Admitted, GroupCommitWriter, Overloaded, Unavailable

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


class Ingest:
    """Shared by the gRPC and HTTP receivers."""

    def __init__(
        self, settings: Settings, writer: GroupCommitWriter, keys: KeyRing, metrics: CollectorMetrics
    ) -> None:
        self._settings = settings
        self._writer = writer
        self._keys = keys
        self.metrics = metrics

    def authenticate(self, key: str | None) -> str | None:
        """The tenant to stamp on the spans, or raise `Unauthenticated`.

        Without `require_auth` a request may come without a key; a key that is
        presented must still be valid, so a typo never silently drops the tenant.
        """
        if key is None:
            if self._settings.require_auth:
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
        """Validate, queue and wait until the spans are durable (or raise).

        `raw` is the request's protobuf encoding when the transport has it (saves a
        re-encode); `decoded` holds what decoding dropped or repaired (`collector.salvage`).
        Spans the database refuses are rejected in the result, never retried.
        """
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
        item = Admitted(request, raw, tenant, check.accepted)
        try:
            future = self._writer.submit(item, nbytes)
        except Overloaded:
            self.metrics.spans_rejected.labels("overloaded").inc(item.count)
            raise
        except Unavailable:
            self.metrics.spans_rejected.labels("unavailable").inc(item.count)
            raise
        try:
            written: SpanCheck = await asyncio.wrap_future(future)
        except Unavailable:
            self.metrics.spans_rejected.labels("write_failed").inc(item.count)
            raise
        if written.rejected:
            self.metrics.spans_rejected.labels("refused_by_database").inc(written.rejected)
            check.accepted -= written.rejected
            check.absorb(written)
        self.metrics.spans_accepted.labels(protocol).inc(check.accepted)
        return ExportResult(check.accepted, check.rejected, check.message())
