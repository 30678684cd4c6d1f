"""OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.

A thin adapter over `Ingest.export` on grpc.aio. Overload answers RESOURCE_EXHAUSTED
with a `RetryInfo` (the OTLP spec makes that code retryable only with one), database
trouble UNAVAILABLE, bad keys UNAUTHENTICATED. Message size is capped by gRPC itself.

Slow and excess clients are bounded by gRPC core's channel arguments (connection cap,
handshake timeout, keepalive, idle/age limits, streams per connection: `grpc_options`)
and by one thing core lacks: a call whose request message has not fully arrived within
`grpc_receive_timeout_seconds` ends with DEADLINE_EXCEEDED. That is why `Export` is
registered as a stream-request handler (a unary client sees no difference on the wire):
only then does the handler run before the message is in, and can bound the wait.
"""

from __future__ import annotations

import asyncio
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


class _ReceiveTimeout(Exception):
    """The request message did not arrive in time."""


class TraceServicer:
    def __init__(self, settings: Settings, ingest: Ingest) -> None:
        self._settings = settings
        self._ingest = ingest

    async def _receive(self, context: grpc.aio.ServicerContext) -> bytes:
        timeout = self._settings.grpc_receive_timeout_seconds
        try:
            body = await asyncio.wait_for(context.read(), timeout)
        except TimeoutError:
            raise _ReceiveTimeout(f"request message not received within {timeout:g} s of the call opening") from None
        if body is grpc.aio.EOF:
            raise BadRequest("the call carried no request message")
        return body

    async def Export(  # noqa: N802 (gRPC method name)
        self, _requests: object, context: grpc.aio.ServicerContext
    ) -> bytes:
        metrics = self._ingest.metrics
        metadata = {k.lower(): v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        try:
            tenant = self._ingest.authenticate(presented_key(metadata.get("authorization"), metadata.get("x-api-key")))
            body = await self._receive(context)
            decoded = _decode(body)
            result = await self._ingest.export(decoded.request, decoded.raw, len(body), tenant, "grpc", decoded.salvage)
        except _ReceiveTimeout as exc:
            metrics.requests.labels("grpc", "DEADLINE_EXCEEDED").inc()
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc))
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


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def grpc_options(settings: Settings) -> list[tuple[str, int]]:
    """gRPC core channel arguments of the server (names from grpc/impl/channel_arg_names.h)."""
    options = [
        ("grpc.max_receive_message_length", settings.max_decompressed_bytes),
        ("grpc.max_send_message_length", 4 * 1024 * 1024),
        # Connections past the cap are closed as soon as they are accepted.
        ("grpc.max_allowed_incoming_connections", settings.max_connections),
        # A connection that has not completed the HTTP/2 preface and SETTINGS exchange by then is closed.
        ("grpc.server_handshake_timeout_ms", _ms(settings.header_timeout_seconds)),
        ("grpc.max_concurrent_streams", settings.grpc_max_concurrent_streams),
        # The server pings quiet connections and drops those whose peer no longer answers.
        ("grpc.keepalive_time_ms", _ms(settings.grpc_keepalive_time_seconds)),
        ("grpc.keepalive_timeout_ms", _ms(settings.grpc_keepalive_timeout_seconds)),
        # chttp2 waits for a ping's ack this long (an internal arg, one minute by default), and
        # it, not keepalive_timeout_ms alone, decides when an unanswered keepalive ends the connection.
        ("grpc.http2.ping_timeout_ms", _ms(settings.grpc_keepalive_timeout_seconds)),
        ("grpc.keepalive_permit_without_calls", 1),  # idle peers are checked too
    ]
    if settings.grpc_max_connection_idle_seconds:
        options.append(("grpc.max_connection_idle_ms", _ms(settings.grpc_max_connection_idle_seconds)))
    if settings.grpc_max_connection_age_seconds:
        options.append(("grpc.max_connection_age_ms", _ms(settings.grpc_max_connection_age_seconds)))
        options.append(("grpc.max_connection_age_grace_ms", _ms(settings.grpc_max_connection_age_grace_seconds)))
    return options


def build_grpc_server(settings: Settings, ingest: Ingest) -> grpc.aio.Server:
    """A grpc.aio server with the trace service, not yet bound or started."""
    server = grpc.aio.server(options=grpc_options(settings), compression=None)
    servicer = TraceServicer(settings, ingest)
    handler = grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {"Export": grpc.stream_unary_rpc_method_handler(servicer.Export)},  # raw bytes in and out
    )
    server.add_generic_rpc_handlers((handler,))
    return server
