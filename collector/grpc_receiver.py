"""OTLP/gRPC receiver: `TraceService/Export`, `LogsService/Export` and `MetricsService/Export`
(package `opentelemetry.proto.collector.{trace,logs,metrics}.v1`).

A thin adapter over `Ingest` on grpc.aio. Overload answers RESOURCE_EXHAUSTED
with a `RetryInfo` (the OTLP spec makes that code retryable only with one), database
trouble UNAVAILABLE, bad keys UNAUTHENTICATED. Message size is capped by gRPC itself.

The method is served as client-streaming (the same bytes on the wire as unary), so the
handler runs before the message is read, and a message's size is unknown until it has
been read. So: a message is read only when the in-flight budget has room (otherwise the
call is refused unread) and one of `read_slots`, shared by the three services, is free (a call waits up to
`retry_after_seconds` for one); each message is at most `max_request_bytes`, gRPC's own
limit here, checked after its decompression. Once read, the message reserves its real
size like any request. For "unread" to mean "not buffered", HTTP/2 BDP probing is off:
with it gRPC widens each stream's flow-control window and buffers whole messages nobody
asked for; without it a stream that is not being read holds at most
`grpc.http2.lookahead_bytes` (64 KiB).

Slow and excess clients are bounded by gRPC core's channel arguments (connection cap,
handshake timeout, keepalive, idle/age limits, streams per connection: `grpc_options`)
and by one thing core lacks: a message whose reading has begun must have fully arrived
within `grpc_receive_timeout_seconds`, or the call ends with DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from agentmortem.collector.config import IngestSettings
from agentmortem.collector.ingest import Admission, BadRequest, Ingest, Overloaded, Unauthenticated, Unavailable
from agentmortem.collector.payload import Decoded, PayloadError, parse_protobuf
from agentmortem.collector.signals import SIGNALS, Signal
from agentmortem.platform.auth import presented_key
from agentmortem.platform.settings import ServerSettings

log = logging.getLogger(__name__)

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


def _decode(body: bytes, signal: Signal) -> Decoded:
    # Decoding here (not in gRPC's deserializer) lets a malformed message get
    # INVALID_ARGUMENT with a reason instead of gRPC's generic INTERNAL.
    try:
        return parse_protobuf(body, signal)
    except PayloadError as exc:
        raise BadRequest(str(exc)) from exc


def message_limit(limits: IngestSettings) -> int:
    """The largest gRPC message accepted (after gRPC's decompression)."""
    return min(limits.max_request_bytes, limits.max_decompressed_bytes)


def read_slots(limits: IngestSettings) -> int:
    """How many messages may be read at once: together at most a quarter of the budget."""
    return max(1, limits.max_inflight_bytes // (4 * message_limit(limits)))


class _ReceiveTimeout(Exception):
    """The request message did not arrive in time."""


class ExportServicer:
    """One signal's `Export` method."""

    def __init__(
        self, server: ServerSettings, limits: IngestSettings, ingest: Ingest, signal: Signal, slots: asyncio.Semaphore
    ) -> None:
        self._receive_timeout = server.grpc_receive_timeout_seconds
        self._retry_after = limits.retry_after_seconds
        self._ingest = ingest
        self._signal = signal
        self._read_slots = slots

    async def _receive(self, context: grpc.aio.ServicerContext, tenant: str | None) -> Admission:
        wait = self._retry_after
        self._ingest.budget.check_room()
        try:
            await asyncio.wait_for(self._read_slots.acquire(), wait)
        except TimeoutError:
            raise Overloaded(wait) from None
        timeout = self._receive_timeout
        try:
            body = await asyncio.wait_for(context.read(), timeout)
        except TimeoutError:
            raise _ReceiveTimeout(f"request message not received within {timeout:g} s") from None
        finally:
            self._read_slots.release()
        if not isinstance(body, bytes):  # grpc.aio.EOF: the client sent no message
            raise BadRequest(f"the call carried no {self._signal.request_type.__name__}")
        decoded = _decode(body, self._signal)
        with self._ingest.reserve(len(body)) as reservation:
            return self._ingest.admit(
                decoded.request, decoded.raw, tenant, "grpc", reservation, decoded.salvage, self._signal
            )

    async def Export(  # noqa: N802 (gRPC method name)
        self, _requests: object, context: grpc.aio.ServicerContext
    ) -> bytes:
        metrics = self._ingest.metrics
        metadata = {k.lower(): v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        try:
            tenant = self._ingest.authenticate(presented_key(metadata.get("authorization"), metadata.get("x-api-key")))
            result = await self._ingest.finish(await self._receive(context, tenant))
        except Exception as exc:  # noqa: BLE001 (every failure gets a status)
            outcome, status = self._failure(exc)
        else:
            metrics.requests.labels("grpc", "OK").inc()
            return self._signal.response(result.rejected, result.message).SerializeToString()
        # Aborting outside the `except` keeps the failure (whose traceback holds the
        # request's frames, body included) out of gRPC's abort exception, which stays
        # in a reference cycle with the call until the next garbage collection.
        metrics.requests.labels("grpc", outcome).inc()
        await context.abort_with_status(status)
        raise AssertionError("unreachable: abort_with_status raises")

    def _failure(self, exc: Exception) -> tuple[str, grpc.Status]:
        """The outcome label and the status a failed export answers with."""
        retry_after = self._retry_after
        if isinstance(exc, _ReceiveTimeout):
            return "DEADLINE_EXCEEDED", _Status(grpc.StatusCode.DEADLINE_EXCEEDED, str(exc), ())
        if isinstance(exc, Unauthenticated):
            return "UNAUTHENTICATED", _Status(grpc.StatusCode.UNAUTHENTICATED, str(exc), ())
        if isinstance(exc, BadRequest):
            return "INVALID_ARGUMENT", _Status(grpc.StatusCode.INVALID_ARGUMENT, str(exc), ())
        if isinstance(exc, Overloaded):
            return "RESOURCE_EXHAUSTED", _retry_status(code_pb2.RESOURCE_EXHAUSTED, str(exc), exc.retry_after)
        if isinstance(exc, Unavailable):
            return "UNAVAILABLE", _retry_status(code_pb2.UNAVAILABLE, str(exc), retry_after)
        log.error("unexpected error while exporting over gRPC", exc_info=exc)
        return "UNAVAILABLE", _retry_status(code_pb2.UNAVAILABLE, "internal error; retry", retry_after)


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def grpc_options(server: ServerSettings, limits: IngestSettings) -> list[tuple[str, int]]:
    """gRPC core channel arguments of the server (names from grpc/impl/channel_arg_names.h)."""
    options = [
        ("grpc.max_receive_message_length", message_limit(limits)),
        ("grpc.max_send_message_length", 4 * 1024 * 1024),
        ("grpc.http2.bdp_probe", 0),  # see the module docstring
        # Connections past the cap are closed as soon as they are accepted.
        ("grpc.max_allowed_incoming_connections", server.max_connections),
        # A connection that has not completed the HTTP/2 preface and SETTINGS exchange by then is closed.
        ("grpc.server_handshake_timeout_ms", _ms(server.header_timeout_seconds)),
        ("grpc.max_concurrent_streams", server.grpc_max_concurrent_streams),
        # The server pings quiet connections and drops those whose peer no longer answers.
        ("grpc.keepalive_time_ms", _ms(server.grpc_keepalive_time_seconds)),
        ("grpc.keepalive_timeout_ms", _ms(server.grpc_keepalive_timeout_seconds)),
        # chttp2 waits for a ping's ack this long (an internal arg, one minute by default), and
        # it, not keepalive_timeout_ms alone, decides when an unanswered keepalive ends the connection.
        ("grpc.http2.ping_timeout_ms", _ms(server.grpc_keepalive_timeout_seconds)),
        ("grpc.keepalive_permit_without_calls", 1),  # idle peers are checked too
    ]
    if server.grpc_max_connection_idle_seconds:
        options.append(("grpc.max_connection_idle_ms", _ms(server.grpc_max_connection_idle_seconds)))
    if server.grpc_max_connection_age_seconds:
        options.append(("grpc.max_connection_age_ms", _ms(server.grpc_max_connection_age_seconds)))
        options.append(("grpc.max_connection_age_grace_ms", _ms(server.grpc_max_connection_age_grace_seconds)))
    return options


def build_grpc_server(settings: ServerSettings, limits: IngestSettings, ingest: Ingest) -> grpc.aio.Server:
    """A grpc.aio server with the export service of every signal the ingest takes, not yet bound or started."""
    server = grpc.aio.server(options=grpc_options(settings, limits), compression=None)
    slots = asyncio.Semaphore(read_slots(limits))
    handlers = []
    for signal in SIGNALS:
        if not ingest.accepts(signal):
            continue
        servicer = ExportServicer(settings, limits, ingest, signal, slots)
        handlers.append(grpc.method_handlers_generic_handler(
            signal.grpc_service,
            # raw bytes in and out; client-streaming so that the handler decides before reading
            {"Export": grpc.stream_unary_rpc_method_handler(servicer.Export)},
        ))
    server.add_generic_rpc_handlers(tuple(handlers))
    return server
