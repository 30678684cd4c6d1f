"""Poison requests: content that must cost its own spans at most, never the request or a retry loop.

Each request carries good spans and one kind of poison. It goes through the real
receivers (OTLP/HTTP protobuf and JSON, OTLP/gRPC) of a collector running in this
process, once with every group decoded by ClickHouse (`native_min_spans=1`) and once
converted in Python. The answer must be a success — `partial_success` naming any span
dropped — and the table must hold exactly the good spans.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentmortem.collector.migrations import migrate_collector
from agentmortem.platform.store import Store
from tests.support.engine import engine_url
from tests.support.inprocess_collector import running_collector
from tests.support.otlp_clients import EXPORT_METHOD
from tests.support.sdk_spans import otlp_json

START = 1_700_000_000_000_000_000
DAY = 86_400 * 10**9
PLACEHOLDER = "@@@@"  # replaced by invalid UTF-8 of the same length in the encoded body
INVALID = b"a\xff\xfeb"
REPAIRED = "a\ufffd\ufffdb"


@dataclass
class Collector:
    http_url: str
    grpc_target: str
    store: Store
    path: str


@pytest.fixture(scope="module", params=["native", "converted"])
def collector(request, tmp_path_factory):
    store = Store(engine_url(tmp_path_factory), database=f"poison_{request.param}_{uuid.uuid4().hex[:8]}")
    migrate_collector(store)
    native_min_spans = 1 if request.param == "native" else 1_000_000
    with running_collector(store, native_min_spans=native_min_spans) as service:
        yield Collector(f"http://127.0.0.1:{service.http_port}", f"127.0.0.1:{service.grpc_port}", store, request.param)
    store.command(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


# -- requests -------------------------------------------------------------------------


def _span(scope_spans, name: str, start: int = START) -> Span:
    span = scope_spans.spans.add()
    span.trace_id, span.span_id = uuid.uuid4().bytes, uuid.uuid4().bytes[:8]
    span.name, span.start_time_unix_nano, span.end_time_unix_nano = name, start, start + 1000
    return span


def _resource(request: ExportTraceServiceRequest, service: str):
    rs = request.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", service
    return rs


def _nest(any_value, depth: int) -> None:
    for _ in range(depth):
        any_value = any_value.array_value.values.add()
    any_value.int_value = 7


def poisoned(service: str, poison: Callable[[Span], None]) -> ExportTraceServiceRequest:
    """good-0, poison, good-2 in one resource; `poison` spoils the middle span."""
    request = ExportTraceServiceRequest()
    scope = _resource(request, service).scope_spans.add()
    for name in ("good-0", "poison", "good-2"):
        span = _span(scope, name)
        if name == "poison":
            poison(span)
    return request


def _start(value: int) -> Callable[[Span], None]:
    def poison(span: Span) -> None:
        span.start_time_unix_nano = value
    return poison


def _end(span: Span) -> None:
    span.end_time_unix_nano = 2**64 - 1


def _event_time(span: Span) -> None:
    event = span.events.add()
    event.name, event.time_unix_nano = "late", 2**64 - 2


def _invalid_value(span: Span) -> None:
    kv = span.attributes.add()
    kv.key, kv.value.string_value = "u", PLACEHOLDER


def _invalid_name(span: Span) -> None:
    span.name = PLACEHOLDER


def _nested_90(span: Span) -> None:
    kv = span.attributes.add()
    kv.key = "deep"
    _nest(kv.value, 90)


def deep_resource(service: str) -> ExportTraceServiceRequest:
    """good-0..2 under one resource; two spans under a resource whose attribute nests 90 deep."""
    request = ExportTraceServiceRequest()
    scope = _resource(request, service).scope_spans.add()
    for i in range(3):
        _span(scope, f"good-{i}")
    rs = _resource(request, service)
    kv = rs.resource.attributes.add()
    kv.key = "deep"
    _nest(kv.value, 90)
    scope = rs.scope_spans.add()
    for i in range(2):
        _span(scope, f"lost-{i}")
    return request


def many_days(service: str) -> ExportTraceServiceRequest:
    """120 spans on 120 days: more partitions than ClickHouse takes in one insert (100)."""
    request = ExportTraceServiceRequest()
    scope = _resource(request, service).scope_spans.add()
    for i in range(120):
        _span(scope, f"good-{i:03}", START - i * DAY)
    return request


@dataclass(frozen=True)
class Case:
    build: Callable[[str], ExportTraceServiceRequest]
    rejected: int
    stored: list[str]
    needle: str  # in partial_success.error_message


GOOD = ["good-0", "good-2"]
CASES = {
    "start-2^64-2": Case(lambda s: poisoned(s, _start(2**64 - 2)), 1, GOOD, "start_time_unix_nano 18446744073709551614"),
    "start-2^63": Case(lambda s: poisoned(s, _start(2**63)), 1, GOOD, "after 2262-04-11T23:47:16.854775807Z"),
    "end-2^64-1": Case(lambda s: poisoned(s, _end), 1, GOOD, "end_time_unix_nano"),
    "event-time": Case(lambda s: poisoned(s, _event_time), 1, GOOD, "events[0].time_unix_nano"),
    "invalid-utf8-value": Case(lambda s: poisoned(s, _invalid_value), 0, ["good-0", "good-2", "poison"], "U+FFFD"),
    "invalid-utf8-name": Case(lambda s: poisoned(s, _invalid_name), 0, ["good-0", "good-2", REPAIRED], "U+FFFD"),
    "attribute-nested-90": Case(lambda s: poisoned(s, _nested_90), 1, GOOD, "nest deeper"),
    "resource-nested-90": Case(deep_resource, 2, ["good-0", "good-1", "good-2"], "resource: values nest deeper"),
    "120-days": Case(many_days, 0, [f"good-{i:03}" for i in range(120)], ""),
}


# -- transports ---------------------------------------------------------------------------


def _spoil(body: bytes) -> bytes:
    return body.replace(PLACEHOLDER.encode(), INVALID)


def _answer(response: ExportTraceServiceResponse) -> tuple[int, str]:
    return response.partial_success.rejected_spans, response.partial_success.error_message


def send_http_protobuf(collector: Collector, request: ExportTraceServiceRequest) -> tuple[int, str]:
    response = httpx.post(f"{collector.http_url}/v1/traces", content=_spoil(request.SerializeToString()),
                          headers={"content-type": "application/x-protobuf"}, timeout=60)
    assert response.status_code == 200, response.content
    return _answer(ExportTraceServiceResponse.FromString(response.content))


def send_http_json(collector: Collector, request: ExportTraceServiceRequest) -> tuple[int, str]:
    response = httpx.post(f"{collector.http_url}/v1/traces", content=_spoil(otlp_json(request)),
                          headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 200, response.content
    partial = response.json().get("partialSuccess", {})
    return int(partial.get("rejectedSpans", 0)), partial.get("errorMessage", "")


def send_grpc(collector: Collector, request: ExportTraceServiceRequest) -> tuple[int, str]:
    with grpc.insecure_channel(collector.grpc_target) as channel:
        export = channel.unary_unary(EXPORT_METHOD, request_serializer=None, response_deserializer=None)
        return _answer(ExportTraceServiceResponse.FromString(export(_spoil(request.SerializeToString()), timeout=60)))


SENDERS = {"http-protobuf": send_http_protobuf, "http-json": send_http_json, "grpc": send_grpc}


def _stored(collector: Collector, service: str, sql: str = "SpanName") -> list:
    return sorted(r[0] for r in collector.store.query(
        f"SELECT {sql} FROM otel_traces WHERE ServiceName = {{s:String}}", {"s": service}
    ))


@pytest.mark.parametrize("protocol", list(SENDERS))
@pytest.mark.parametrize("case", list(CASES))
def test_poison_costs_only_its_own_spans(collector, case, protocol):
    expected = CASES[case]
    service = f"poison-{uuid.uuid4().hex[:8]}"
    rejected, message = SENDERS[protocol](collector, expected.build(service))
    assert rejected == expected.rejected, message
    assert expected.needle in message
    assert _stored(collector, service) == sorted(expected.stored)


@pytest.mark.parametrize("protocol", list(SENDERS))
def test_invalid_utf8_is_stored_as_replacement_characters(collector, protocol):
    service = f"utf8-{uuid.uuid4().hex[:8]}"
    SENDERS[protocol](collector, poisoned(service, _invalid_value))
    assert _stored(collector, service, "SpanAttributes['u']") == ["", "", REPAIRED]


@pytest.mark.parametrize("protocol", list(SENDERS))
def test_nested_values_are_stored_whole_by_the_native_path(collector, protocol):
    """An array of maps (GenAI messages) is rendered as pdata does; the native structure stops
    one level down, so such requests must go the converted way (the converted path is the
    reference the native one is held to, so only the native run can fail)."""
    service = f"nested-{uuid.uuid4().hex[:8]}"

    def messages(span: Span) -> None:
        kv = span.attributes.add()
        kv.key = "gen_ai.input.messages"
        message = kv.value.array_value.values.add().kvlist_value.values
        role = message.add()
        role.key, role.value.string_value = "role", "user"
        parts = message.add()
        parts.key = "parts"
        part = parts.value.array_value.values.add().kvlist_value.values.add()
        part.key, part.value.string_value = "content", "hi"

    if collector.path != "native":
        pytest.skip("the converted path renders any depth; it is the reference here")
    SENDERS[protocol](collector, poisoned(service, messages))
    stored = _stored(collector, service, "SpanAttributes['gen_ai.input.messages']")
    assert stored == ["", "", '[{"parts":[{"content":"hi"}],"role":"user"}]']
