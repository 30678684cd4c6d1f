"""`/metrics` and `/health` on the OTLP/HTTP port, and a clean exit on SIGTERM/SIGINT."""

from __future__ import annotations

import signal

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.support.prometheus_text import metric
from tests.support.sdk_spans import simple_spans


def test_metrics_count_received_accepted_rejected_and_written(server):
    good = encode_spans(simple_spans(5)).SerializeToString()
    headers = {"content-type": "application/x-protobuf"}
    assert httpx.post(f"{server.http_url}/v1/traces", content=good, headers=headers).status_code == 200
    assert httpx.post(f"{server.http_url}/v1/traces", content=b"junk", headers=headers).status_code == 400
    text = httpx.get(f"{server.http_url}/metrics").text
    assert metric(text, "agentmortem_receiver_spans_received_total") == 5
    assert metric(text, "agentmortem_receiver_spans_accepted_total") == 5
    assert metric(text, "agentmortem_writer_spans_written_total") == 5
    assert metric(text, 'agentmortem_receiver_requests_total{outcome="400"') == 1
    assert metric(text, "agentmortem_writer_queue_spans") == 0
    assert metric(text, "agentmortem_writer_insert_seconds_count") >= 1


def test_health_reports_the_database(server):
    body = httpx.get(f"{server.http_url}/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["uptime_seconds"] >= 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_cleanly(server, sig):
    assert server.stop(sig) == 0
    assert "collector stopped; all admitted spans, log records and data points written" in server.log()
