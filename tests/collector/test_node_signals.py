"""Real OTel JS SDK logs and metrics (Node.js, npm packages pinned in
tests/support/producers/node_signals/package.json) exported over gRPC, HTTP/protobuf and HTTP/JSON
to the collector, and read back from `otel_logs` and `otel_metrics_*`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from agentmortem.platform.store import Store
from tests.support.inprocess_collector import running_collector

PRODUCER = Path(__file__).resolve().parents[1] / "support" / "producers" / "node_signals"
DELTA, CUMULATIVE = 1, 2  # OTLP AggregationTemporality


@pytest.fixture(scope="module")
def node_producer() -> Path:
    """The producer's directory, its pinned packages installed (`npm ci`, once)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: the Node.js producer cannot run")
    if not (PRODUCER / "node_modules" / "@opentelemetry" / "sdk-logs").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PRODUCER, check=True, capture_output=True,
                       timeout=300)
    return PRODUCER


def produce(producer: Path, protocol: str, temporality: str, endpoint: str) -> dict[str, str]:
    done = subprocess.run(["node", "produce.mjs", protocol, temporality, endpoint], cwd=producer,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"producer failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rows(store: Store, sql: str, protocol: str) -> list[tuple]:
    return sorted(store.query(sql, {"p": protocol}), key=repr)


RUNS = [("grpc", "delta"), ("http-proto", "cumulative"), ("http-json", "delta")]


@pytest.mark.parametrize(("protocol", "temporality"), RUNS, ids=[p for p, _ in RUNS])
def test_node_sdk_logs_and_metrics_round_trip(node_producer, store, protocol, temporality):
    with running_collector(store) as service:
        port = service.grpc_port if protocol == "grpc" else service.http_port
        span = produce(node_producer, protocol, temporality, f"http://127.0.0.1:{port}")
    where = "WHERE ResourceAttributes['producer.protocol'] = {p:String}"
    resource = {"service.name": "node-signals", "producer.protocol": protocol}

    logs = _rows(store, "SELECT toUnixTimestamp64Nano(Timestamp), TraceId, SpanId, TraceFlags, SeverityText, "
                        "SeverityNumber, ServiceName, Body, ResourceAttributes, ScopeName, ScopeVersion, "
                        f"ScopeAttributes, LogAttributes, EventName FROM otel_logs {where}", protocol)
    scope = ("node.producer", "1.2.3", {"scope.kind": "test"})
    assert logs == [
        (1_700_000_000_123_456_789, span["traceId"], span["spanId"], 1, "WARN", 13, "node-signals",
         "disk almost full", resource, *scope,
         {"s": "text", "i": "42", "d": "2.5", "b": "true", "list": '["x","y"]', "map": '{"k":"v","n":1}',
          "raw": "AQI="},
         "node.event"),
        (1_700_000_001_000_000_000, "", "", 0, "ERROR", 17, "node-signals", '{"attempts":3,"reason":"timeout"}',
         resource, *scope, {}, ""),
    ]

    head = "MetricName, ResourceAttributes, ScopeName, ScopeVersion, Attributes, ServiceName"
    meter = (resource, "node.meter", "4.5.6")
    chosen = DELTA if temporality == "delta" else CUMULATIVE
    assert _rows(store, f"SELECT {head}, Value, AggregationTemporality, IsMonotonic, MetricDescription, MetricUnit "
                        f"FROM otel_metrics_sum {where}", protocol) == [
        ("node.queue", *meter, {}, "node-signals", 3.0, CUMULATIVE, False, "", ""),
        ("node.requests", *meter, {"route": "/a"}, "node-signals", 5.0, chosen, True, "requests served", "1"),
    ]
    assert _rows(store, f"SELECT {head}, Value, MetricUnit FROM otel_metrics_gauge {where}", protocol) == [
        ("node.memory", *meter, {"kind": "heap"}, "node-signals", 1234.0, ""),
        ("node.temperature", *meter, {"room": "lab"}, "node-signals", 21.5, "Cel"),
    ]
    assert _rows(store, f"SELECT {head}, Count, Sum, BucketCounts, ExplicitBounds, Min, Max, AggregationTemporality "
                        f"FROM otel_metrics_histogram {where}", protocol) == [
        ("node.latency", *meter, {}, "node-signals", 3, 730.0, [0, 2, 1, 0], [0.0, 100.0, 1000.0], 10.0, 700.0,
         chosen),
    ]
    ((name, count, total, scale, zero, offset, buckets, low, high, kind),) = _rows(
        store, "SELECT MetricName, Count, Sum, Scale, ZeroCount, PositiveOffset, PositiveBucketCounts, Min, Max, "
               f"AggregationTemporality FROM otel_metrics_exponential_histogram {where}", protocol)
    assert (name, count, total, zero, low, high, kind) == ("node.sizes", 3, 7.0, 0, 1.0, 4.0, chosen)
    # 1, 2 and 4 are bucket boundaries (upper-inclusive): indexes -1, 2^scale - 1, 2^(scale+1) - 1
    assert offset == -1 and len(buckets) == 2 ** (scale + 1) + 1
    assert [i for i, n in enumerate(buckets) if n] == [0, 2 ** scale, 2 ** (scale + 1)]
    assert store.query(f"SELECT count() FROM otel_metrics_summary {where}", {"p": protocol}) == [(0,)]
