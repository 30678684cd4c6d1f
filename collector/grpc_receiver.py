"""OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.

A thin adapter over `Ingest.export` on grpc.aio. Overload answers RESOURCE_EXHAUSTED
with a `RetryInfo` (the OTLP spec makes that code retryable only with one), database
trouble UNAVAILABLE, bad keys UNAUTHENTICATED. Message size is capped by gRPC itself.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from collector.auth import presented_key
from collector.config import Settings
from collector.ingest import BadRequest, Ingest, Overloaded, Unauthenticated, Unavailable
from collector.payload import Decoded, PayloadError, export_response, parse_protobuf

log = logging.getLogger(__name__)

SERVICE_NAME = "opentelemetry.proto.collector.trace.v1.TraceService"


def _retry_status(code: int, message: str, seconds: int) -> grpc.Status:
    info = error_details_pb2.RetryInfo(retry_delay=Duration(seconds=seconds))
    detail = status_pb2.Status(code=code, message=message)
    detail.details.add().Pack(info)
    status = rpc_status.to_status(detail)
    # opentelemetry-python reads the delay from this key; keep both forms.
    metadata = tuple(status.trailing_metadata) + (("google.rpc.retryinfo-bin", info.SerializeToString()),)
    return _Status(status.code, status.details, metadata)


class _Status(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: tuple) -> None:
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def _decode(body: bytes) -> Decoded:
    # Decoding here (not in gRPC's deserializer) lets a malformed message get
    # INVALID_ARGUMENT with a reason instead of gRPC's generic INTERNAL.
    try:
        return parse_protobuf(body)
    except PayloadError as exc:
        raise BadRequest(str(exc)) from exc


class TraceServicer:
    def __init__(self, settings: Settings, ingest: Ingest) -> None:
        self._settings = settings
        self._ingest = ingest

    async def Export(  # noqa: N802 (gRPC method name)
        self, body: bytes, context: grpc.aio.ServicerContext
    ) -> bytes:
        metrics = self._ingest.metrics
        metadata = {k.lower(): v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        try:
            tenant = self._ingest.authenticate(presented_key(metadata.get("authorization"), metadata.get("x-api-key")))
            decoded = _decode(body)
            result = await self._ingest.export(decoded.request, decoded.raw, len(body), tenant, "grpc", decoded.salvage)
        except Unauthenticated as exc:
            metrics.requests.labels("grpc", "UNAUTHENTICATED").inc()
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(exc))
        except BadRequest as exc:
            metrics.requests.labels("grpc", "INVALID_ARGUMENT").inc()
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except Overloaded as exc:
            metrics.requests.labels("grpc", "RESOURCE_EXHAUSTED").inc()
            await context.abort_with_status(_retry_status(code_pb2.RESOURCE_EXHAUSTED, str(exc), exc.retry_after))
        except Unavailable as exc:
            metrics.requests.labels("grpc", "UNAVAILABLE").inc()
            await context.abort_with_status(
                _retry_status(code_pb2.UNAVAILABLE, str(exc), self._settings.retry_after_seconds)
            )
        except Exception:
            log.exception("unexpected error while exporting over gRPC")
            metrics.requests.labels("grpc", "UNAVAILABLE").inc()
            await context.abort_with_status(
                _retry_status(code_pb2.UNAVAILABLE, "internal error; retry", self._settings.retry_after_seconds)
            )
        metrics.requests.labels("grpc", "OK").inc()
        return export_response(result.rejected, result.message).SerializeToString()


def build_grpc_server(settings: Settings, ingest: Ingest) -> grpc.aio.Server:
    """A grpc.aio server with the trace service, not yet bound or started."""
    limit = settings.max_decompressed_bytes
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", 4 * 1024 * 1024),
        ],
        compression=None,
    )
    servicer = TraceServicer(settings, ingest)
    handler = grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {"Export": grpc.unary_unary_rpc_method_handler(servicer.Export)},  # raw bytes in and out
    )
    server.add_generic_rpc_handlers((handler,))
    return server
