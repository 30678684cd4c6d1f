"""OTLP/JSON and gzip round-trips, and every kind of bad input against a live server.

Each bad request gets its status code and a message naming the problem, and the
server goes on accepting good requests afterwards.
"""

from __future__ import annotations

import gzip
import json

import grpc
import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.support.sdk_spans import simple_spans
from tests.support.servers import query_data_dir

TRACE = "5b8efff798038103d269b633813fc60c"

# Hand-written per the OTLP/JSON spec: hex ids, enum integers, lowerCamelCase, int64 as strings.
OTLP_JSON = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
            "scopeSpans": [
                {
                    "scope": {"name": "hand.written", "version": "0.1"},
                    "spans": [
                        {
                            "traceId": TRACE,
                            "spanId": "eee19b7ec3c1b174",
                            "parentSpanId": "eee19b7ec3c1b173",
                            "name": "json-span",
                            "kind": 3,
                            "startTimeUnixNano": "1544712660000000000",
                            "endTimeUnixNano": "1544712661000000000",
                            "attributes": [
                                {"key": "n", "value": {"intValue": "7"}},
                                {"key": "d", "value": {"doubleValue": 0.5}},
                                {"key": "b", "value": {"boolValue": True}},
                                {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "x"}]}}},
                                {"key": "m", "value": {"kvlistValue": {"values": [
                                    {"key": "z", "value": {"intValue": "1"}},
                                    {"key": "k", "value": {"stringValue": "<v>"}},
                                ]}}},
                            ],
                            "events": [{"timeUnixNano": "1544712660500000000", "name": "ev",
                                        "attributes": [{"key": "e", "value": {"stringValue": "1"}}]}],
                            "links": [{"traceId": TRACE, "spanId": "eee19b7ec3c1b170"}],
                            "status": {"code": 2, "message": "oops"},
                            "someFutureField": {"ignored": True},
                        }
                    ],
                }
            ],
        }
    ]
}


def _post(server, body: bytes, content_type: str = "application/x-protobuf", **headers) -> httpx.Response:
    return httpx.post(
        f"{server.http_url}/v1/traces", content=body, headers={"content-type": content_type, **headers}, timeout=10
    )


def _good_protobuf(n: int = 3) -> bytes:
    return encode_spans(simple_spans(n)).SerializeToString()


def test_hand_written_json_round_trips(server):
    response = _post(server, json.dumps(OTLP_JSON).encode(), "application/json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    server.stop()
    (row,) = query_data_dir(
        server.data_dir,
        "SELECT TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, SpanAttributes, "
        "toUnixTimestamp64Nano(Timestamp), Duration, StatusCode, StatusMessage, Events.Name, Links.SpanId, "
        "ScopeName FROM otel_traces",
    )
    assert row == (
        TRACE, "eee19b7ec3c1b174", "eee19b7ec3c1b173", "json-span", "Client", "json-svc",
        {"n": "7", "d": "0.5", "b": "true", "a": '["x"]', "m": '{"k":"\\u003cv\\u003e","z":1}'},
        1544712660000000000, 1_000_000_000, "Error", "oops", ["ev"], ["eee19b7ec3c1b170"], "hand.written",
    )


def test_gzip_protobuf_round_trips(server):
    spans = simple_spans(20)
    body = gzip.compress(encode_spans(spans).SerializeToString())
    response = _post(server, body, **{"content-encoding": "gzip"})
    assert response.status_code == 200
    parsed = ExportTraceServiceResponse.FromString(response.content)
    assert not parsed.HasField("partial_success")
    server.stop()
    assert query_data_dir(server.data_dir, "SELECT count() FROM otel_traces") == [(20,)]


def test_partial_success_keeps_good_spans(server):
    doc = json.loads(json.dumps(OTLP_JSON))
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    bad = dict(spans[0], spanId="abcd", name="short-id")
    spans.append(bad)
    response = _post(server, json.dumps(doc).encode(), "application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["partialSuccess"]["rejectedSpans"] in ("1", 1)
    assert "span_id must be 8 non-zero bytes" in body["partialSuccess"]["errorMessage"]
    server.stop()
    assert query_data_dir(server.data_dir, "SELECT SpanName FROM otel_traces") == [("json-span",)]


BOMB = gzip.compress(b"\0" * (80 * 1024 * 1024))  # 80 MiB of zeros in ~80 KiB


@pytest.mark.parametrize(
    ("body", "content_type", "headers", "status", "needle"),
    [
        (b"\x0a\xff\xff\xff\xff\x0f", "application/x-protobuf", {}, 400, "protobuf"),
        (b"{not json", "application/json", {}, 400, "not valid JSON"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "application/json", {}, 400,
         "hex"),
        (b'{"resourceSpans": "nope"}', "application/json", {}, 400, "OTLP/JSON"),
        (b"hello", "text/plain", {}, 415, "unsupported content type"),
        (b"hello", "application/x-protobuf", {"content-encoding": "br"}, 415, "Content-Encoding"),
        (b"not gzip at all", "application/x-protobuf", {"content-encoding": "gzip"}, 400, "gzip"),
        (BOMB, "application/x-protobuf", {"content-encoding": "gzip"}, 413, "decompressed"),
        (b"\0" * (9 * 1024 * 1024), "application/x-protobuf", {}, 413, "limit"),
    ],
    ids=["bad-protobuf", "bad-json", "bad-hex-id", "wrong-json-shape", "content-type", "encoding", "bad-gzip",
         "gzip-bomb", "too-large"],
)
def test_bad_http_input_is_refused_and_server_keeps_serving(server, body, content_type, headers, status, needle):
    response = _post(server, body, content_type, **headers)
    assert response.status_code == status
    if response.headers["content-type"].startswith("application/json"):
        message = response.json()["message"]
    else:
        message = Status.FromString(response.content).message
    assert needle in message
    assert _post(server, _good_protobuf()).status_code == 200


def test_bad_grpc_message_is_invalid_argument(server):
    channel = grpc.insecure_channel(server.grpc_target)
    export = channel.unary_unary(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        request_serializer=None, response_deserializer=None,
    )
    with pytest.raises(grpc.RpcError) as err:
        export(b"\x0a\xff\xff\xff\xff\x0f", timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "protobuf" in err.value.details()
    assert ExportTraceServiceResponse.FromString(export(_good_protobuf(), timeout=10)) == ExportTraceServiceResponse()
    channel.close()


def test_oversized_grpc_message_is_refused(server_factory):
    srv = server_factory({"AGENTMORTEM_MAX_DECOMPRESSED_BYTES": "100000"})
    channel = grpc.insecure_channel(srv.grpc_target)
    export = channel.unary_unary(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        request_serializer=None, response_deserializer=None,
    )
    with pytest.raises(grpc.RpcError) as err:
        export(_good_protobuf(2000), timeout=10)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert export(_good_protobuf(3), timeout=10) == b""
    channel.close()
