"""Retrying OTLP clients for durability and overload tests: they record what was acknowledged."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.collector.signals import Signal

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def export_method(signal: Signal) -> str:
    """The gRPC method a signal's exporters call, as `channel.unary_unary` takes it."""
    return f"/{signal.grpc_service}/Export"


def hold_declared_body(http_port: int, length: int, path: str = "/v1/traces") -> socket.socket:
    """Open a request to `path` that declares `length` bytes and send none of them yet."""
    sock = socket.create_connection(("127.0.0.1", http_port))
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-protobuf\r\n".encode()
        + f"Content-Length: {length}\r\n\r\n".encode()
    )
    return sock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_request(n_spans: int, tag: str) -> tuple[bytes, list[str]]:
    """A protobuf request of `n_spans` spans with fresh ids; returns the body and the span ids."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "load"
    ss = rs.scope_spans.add()
    trace_id = uuid.uuid4().bytes
    ids = []
    now = time.time_ns()
    for i in range(n_spans):
        span = ss.spans.add()
        span.trace_id = trace_id
        span.span_id = uuid.uuid4().bytes[:8]
        span.name = "load-span"
        span.start_time_unix_nano = now + i
        span.end_time_unix_nano = now + i + 1000
        attr = span.attributes.add()
        attr.key, attr.value.string_value = "tag", tag
        ids.append(span.span_id.hex())
    return request.SerializeToString(), ids


@dataclass
class AckLog:
    """What a client got acknowledged, and which retryable answers it saw on the way."""

    acked: list[str] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)
    retry_after: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, ids: list[str]) -> None:
        with self.lock:
            self.acked.extend(ids)

    def refused(self, why: str) -> None:
        with self.lock:
            self.refusals[why] = self.refusals.get(why, 0) + 1


def http_send_until_acked(url: str, body: bytes, log: AckLog, ids: list[str], deadline: float) -> bool:
    """POST until a 200 (retrying 429/503 and connection errors) or the deadline."""
    while time.monotonic() < deadline:
        try:
            response = httpx.post(
                url, content=body, headers={"content-type": "application/x-protobuf"}, timeout=10
            )
        except httpx.HTTPError:
            log.refused("connection")
            time.sleep(0.05)
            continue
        if response.status_code == 200:
            log.ack(ids)
            return True
        assert response.status_code in (429, 503), response.text
        log.refused(str(response.status_code))
        if "retry-after" in response.headers:
            log.retry_after.add(response.headers["retry-after"])
        time.sleep(0.05)
    return False


def grpc_send_until_acked(target: str, body: bytes, log: AckLog, ids: list[str], deadline: float) -> bool:
    """Export over gRPC until OK (retrying RESOURCE_EXHAUSTED/UNAVAILABLE) or the deadline."""
    with grpc.insecure_channel(target) as channel:
        export = channel.unary_unary(EXPORT_METHOD, request_serializer=None, response_deserializer=None)
        while time.monotonic() < deadline:
            try:
                export(body, timeout=10)
            except grpc.RpcError as err:
                code = err.code()
                assert code in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE), err
                log.refused(code.name)
                metadata = dict(err.trailing_metadata() or ())
                if "google.rpc.retryinfo-bin" in metadata:
                    log.retry_after.add("retryinfo")
                time.sleep(0.05)
                continue
            log.ack(ids)
            return True
    return False
