"""Real OTel SDK exporters (gRPC and HTTP) → `agentmortem serve` → every field read back equal."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.support.sdk_spans import READBACK_COLUMNS, READBACK_SQL, expected_row, rich_spans
from tests.support.servers import query_data_dir


def _exporter(protocol: str, server):
    if protocol == "grpc":
        return GrpcExporter(endpoint=server.grpc_target, insecure=True, timeout=10)
    return HttpExporter(endpoint=f"{server.http_url}/v1/traces", timeout=10)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_every_field_round_trips(protocol, server):
    spans = rich_spans()
    exporter = _exporter(protocol, server)
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    exporter.shutdown()
    assert server.stop() == 0, server.log()

    rows = query_data_dir(server.data_dir, READBACK_SQL)
    stored = {row[2]: dict(zip(READBACK_COLUMNS, row)) for row in rows}
    assert len(rows) == len(spans) == 7
    for span in spans:
        expected = expected_row(span)
        got = stored[expected["SpanId"]]
        for column in READBACK_COLUMNS:
            assert got[column] == expected[column], f"{span.name}.{column}"


def test_error_status_and_kinds_are_exporter_spellings(server):
    exporter = _exporter("http", server)
    assert exporter.export(rich_spans()) == SpanExportResult.SUCCESS
    server.stop()
    kinds = {r[0] for r in query_data_dir(server.data_dir, "SELECT DISTINCT SpanKind FROM otel_traces")}
    statuses = {r[0] for r in query_data_dir(server.data_dir, "SELECT DISTINCT StatusCode FROM otel_traces")}
    assert kinds == {"Server", "Internal", "Client", "Producer", "Consumer"}
    assert statuses == {"Unset", "Ok", "Error"}
