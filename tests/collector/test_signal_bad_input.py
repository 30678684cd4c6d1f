"""Logs and metrics get the traces' treatment at the edge: bad bodies refused with a clear message
(HTTP 400/415, gRPC INVALID_ARGUMENT), OTLP/JSON with hex ids accepted, partly bad batches answered
with `partial_success` and their good items kept, API keys enforced, overload answered with
429/RESOURCE_EXHAUSTED and a retry hint."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExportResult

from agentmortem.collector.service import CollectorService
from agentmortem.collector.signals import LOGS, METRICS, Signal
from agentmortem.platform.auth import create_key
from agentmortem.platform.settings import AuthSettings
from agentmortem.platform.store import Store
from tests.support.engine import fresh_store
from tests.support.inprocess_collector import running_collector
from tests.support.otlp_clients import export_method, hold_declared_body
from tests.support.servers import wait_for
from tests.support.signal_exporters import PROTOCOLS, log_exporter, metric_exporter
from tests.support.signal_requests import log_records, log_request, metrics_data, request_for, stored_count

SIGNALS = pytest.mark.parametrize("signal", [LOGS, METRICS], ids=lambda s: s.name)
TRACE, SPAN = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"


@dataclass
class Collector:
    service: CollectorService
    store: Store

    def post(self, signal: Signal, body: bytes, content_type: str = "application/x-protobuf",
             **headers: str) -> httpx.Response:
        return httpx.post(f"http://127.0.0.1:{self.service.http_port}{signal.http_path}", content=body,
                          headers={"content-type": content_type, **headers}, timeout=10)

    def export(self, signal: Signal, body: bytes, metadata: tuple = ()) -> bytes:
        with grpc.insecure_channel(f"127.0.0.1:{self.service.grpc_port}") as channel:
            call = channel.unary_unary(export_method(signal), request_serializer=None, response_deserializer=None)
            return call(body, timeout=10, metadata=metadata)

    def wait_stored(self, signal: Signal, tag: str, count: int) -> None:
        wait_for(lambda: stored_count(self.store, signal, tag) >= count, 20, lambda: f"{tag}: not {count} stored")
        assert stored_count(self.store, signal, tag) == count


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """One collector for the module's tests that need nothing special; each tags what it sends."""
    store = fresh_store(tmp_path_factory)
    with running_collector(store) as service:
        yield Collector(service, store)
    store.command(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def _message(response: httpx.Response) -> str:
    if response.headers["content-type"].startswith("application/json"):
        return response.json()["message"]
    return Status.FromString(response.content).message


# -- bad input ---------------------------------------------------------------------

BAD_HEX = {
    LOGS.name: {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]},
    METRICS.name: {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "m", "sum": {"dataPoints": [{"asInt": "1", "exemplars": [{"spanId": "zz"}]}]}}]}]}]},
}


@SIGNALS
@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (b"\x0a\xff\xff\xff\xff\x0f", "application/x-protobuf", 400, "protobuf"),
        (b"{not json", "application/json", 400, "not valid JSON"),
        (None, "application/json", 400, "hex"),
        (b'{"resourceLogs": "nope", "resourceMetrics": "nope"}', "application/json", 400, "OTLP/JSON"),
        (b"hello", "text/plain", 415, "unsupported content type"),
    ],
    ids=["bad-protobuf", "bad-json", "bad-hex-id", "wrong-json-shape", "content-type"],
)
def test_bad_http_input_is_refused_and_the_next_request_is_served(collector, signal, body, content_type, status,
                                                                  needle):
    body = json.dumps(BAD_HEX[signal.name]).encode() if body is None else body
    response = collector.post(signal, body, content_type)
    assert response.status_code == status
    assert needle in _message(response)
    tag = _tag()
    assert collector.post(signal, request_for(signal, tag)).status_code == 200
    collector.wait_stored(signal, tag, 2)


@SIGNALS
def test_bad_grpc_message_is_invalid_argument(collector, signal):
    with pytest.raises(grpc.RpcError) as err:
        collector.export(signal, b"\x0a\xff\xff\xff\xff\x0f")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "protobuf" in err.value.details()
    tag = _tag()
    assert signal.response_type.FromString(collector.export(signal, request_for(signal, tag))) == signal.response_type()
    collector.wait_stored(signal, tag, 2)


# -- OTLP/JSON with hex ids, and partial success -------------------------------------


def _json_logs(tag: str, *trace_ids: str) -> dict:
    records = [{"timeUnixNano": "1700000000000000001", "severityNumber": 9, "severityText": "INFO",
                "body": {"stringValue": f"record {n}"}, "traceId": trace_id, "spanId": SPAN, "flags": 1,
                "eventName": "json.event", "attributes": [{"key": "n", "value": {"intValue": str(n)}}]}
               for n, trace_id in enumerate(trace_ids)]
    return {"resourceLogs": [{
        "resource": {"attributes": [{"key": "tag", "value": {"stringValue": tag}}]},
        "scopeLogs": [{"scope": {"name": "hand.written"}, "logRecords": records}],
    }]}


def _json_metrics(tag: str, *trace_ids: str) -> dict:
    points = [{"timeUnixNano": "1700000000000000000", "asInt": str(n + 1), "attributes": [
        {"key": "n", "value": {"intValue": str(n)}}],
        "exemplars": [{"timeUnixNano": "1700000000000000000", "asDouble": 0.5, "traceId": trace_id,
                       "spanId": SPAN}]}
        for n, trace_id in enumerate(trace_ids)]
    return {"resourceMetrics": [{
        "resource": {"attributes": [{"key": "tag", "value": {"stringValue": tag}}]},
        "scopeMetrics": [{"scope": {"name": "hand.written"}, "metrics": [
            {"name": "json.counter", "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": points}},
        ]}],
    }]}


JSON_DOCS = {LOGS.name: _json_logs, METRICS.name: _json_metrics}
IDS_SQL = {
    LOGS.name: "SELECT TraceId, SpanId, LogAttributes['n'] FROM otel_logs WHERE ResourceAttributes['tag'] = {tag:String}",
    METRICS.name: "SELECT Exemplars.TraceId[1], Exemplars.SpanId[1], Attributes['n'] FROM otel_metrics_sum "
                  "WHERE ResourceAttributes['tag'] = {tag:String}",
}


@SIGNALS
def test_otlp_json_with_hex_ids_is_stored(collector, signal):
    tag = _tag()
    response = collector.post(signal, json.dumps(JSON_DOCS[signal.name](tag, TRACE, TRACE)).encode(),
                              "application/json")
    assert response.status_code == 200
    assert response.json() == {}
    collector.wait_stored(signal, tag, 2)
    assert sorted(collector.store.query(IDS_SQL[signal.name], {"tag": tag})) == [(TRACE, SPAN, "0"), (TRACE, SPAN, "1")]


PARTIAL = {LOGS.name: ("rejectedLogRecords", "trace_id must be empty or 16 bytes (got 2)"),
           METRICS.name: ("rejectedDataPoints", "trace_id must be empty or 16 bytes (got 2)")}


@SIGNALS
def test_an_item_with_a_bad_trace_id_is_refused_and_the_others_kept(collector, signal):
    tag = _tag()
    doc = JSON_DOCS[signal.name](tag, TRACE, "abcd", TRACE)
    response = collector.post(signal, json.dumps(doc).encode(), "application/json")
    assert response.status_code == 200
    field, needle = PARTIAL[signal.name]
    partial = response.json()["partialSuccess"]
    assert partial[field] in ("1", 1)
    assert needle in partial["errorMessage"]
    collector.wait_stored(signal, tag, 2)
    assert sorted(collector.store.query(IDS_SQL[signal.name], {"tag": tag})) == [(TRACE, SPAN, "0"), (TRACE, SPAN, "2")]


# -- API keys --------------------------------------------------------------------------


@pytest.fixture
def keyed(store: Store) -> Iterator[tuple[Collector, str]]:
    """A collector that requires API keys, and the secret of a key of tenant "acme"."""
    _, secret = create_key(store, "acme", "ci")
    with running_collector(store, auth=AuthSettings(require_auth=True)) as service:
        yield Collector(service, store), secret


@SIGNALS
def test_keys_are_required_and_stamp_the_tenant(keyed, signal):
    collector, secret = keyed
    tag = _tag()
    body = request_for(signal, tag)
    assert collector.post(signal, body).status_code == 401
    assert collector.post(signal, body, authorization="Bearer am_nope_nope").status_code == 401
    for metadata in ((), (("x-api-key", "wrong"),)):
        with pytest.raises(grpc.RpcError) as err:
            collector.export(signal, body, metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert collector.post(signal, body, authorization=f"Bearer {secret}").status_code == 200
    collector.export(signal, body, (("x-api-key", secret),))
    collector.wait_stored(signal, tag, 4)
    table = signal.tables[0] if signal is LOGS else "otel_metrics_sum"
    tenants = collector.store.query(f"SELECT DISTINCT ResourceAttributes['agentmortem.tenant'] FROM {table}")
    assert tenants == [("acme",)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sdk_exporters_pass_their_key(keyed, protocol):
    collector, secret = keyed
    tag, key = _tag(), {"authorization": f"Bearer {secret}"}
    logs, metrics = log_exporter(protocol, collector.service, key), metric_exporter(protocol, collector.service, key)
    assert logs.export(log_records(tag)) == LogRecordExportResult.SUCCESS
    assert metrics.export(metrics_data(tag)) == MetricExportResult.SUCCESS
    collector.wait_stored(LOGS, tag, 2)
    collector.wait_stored(METRICS, tag, 2)
    nameless = log_exporter(protocol, collector.service)
    assert nameless.export(log_records(tag)) == LogRecordExportResult.FAILURE
    for exporter in (logs, metrics, nameless):
        exporter.shutdown()


# -- overload --------------------------------------------------------------------------


@SIGNALS
def test_overload_is_refused_with_a_retry_hint(store, signal):
    held_body, small = log_request("held", 2000), request_for(signal, "small")
    with running_collector(store, max_inflight_bytes=len(held_body) + len(small) // 2) as service:
        collector = Collector(service, store)
        held = hold_declared_body(service.http_port, len(held_body), LOGS.http_path)
        try:
            early: list[int] = []  # answers before the held request's headers were in (none, almost always)
            wait_for(lambda: early.append(collector.post(signal, small).status_code) or early[-1] == 429, 10,
                     lambda: f"never refused: {early}")
            response = collector.post(signal, small)
            assert response.status_code == 429
            assert response.headers["retry-after"] == "1"
            with pytest.raises(grpc.RpcError) as err:
                collector.export(signal, small)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "google.rpc.retryinfo-bin" in dict(err.value.trailing_metadata() or ())
            held.sendall(held_body)
            answer = held.recv(65536)
        finally:
            held.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        assert collector.post(signal, small).status_code == 200  # the held request's share is back
    assert stored_count(store, LOGS, "held") == 2000
    assert stored_count(store, signal, "small") == 2 * early.count(200) + 2

