"""OTLP logs → `otel_logs`, rendered as the contrib exporter renders them, read back from the real table.

Records come from the real Python SDK (a `LoggerProvider` exporting to memory, encoded with the
OTLP encoders) and, for what an SDK will not send (bad ids, bodies of every kind), from hand-built
protobufs.
"""

from __future__ import annotations

import base64

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from agentmortem.collector.convert_logs import check_log_records, insert_logs, logs_to_batch
from agentmortem.semconv.keys import TENANT
from tests.support.otlp_logs import log_request

COLUMNS = ("toUnixTimestamp64Nano(Timestamp)", "TraceId", "SpanId", "TraceFlags", "SeverityText", "SeverityNumber",
           "ServiceName", "Body", "ResourceSchemaUrl", "ResourceAttributes", "ScopeSchemaUrl", "ScopeName",
           "ScopeVersion", "ScopeAttributes", "LogAttributes", "EventName")


def read_back(store) -> list[dict]:
    rows = store.query(f"SELECT {', '.join(COLUMNS)} FROM otel_logs ORDER BY Timestamp, Body")
    return [dict(zip(COLUMNS, row)) for row in rows]


def sdk_request():
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "agent-svc", TENANT: "forged"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("gen_ai.instrumentation", "1.2.3")
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("chat") as span:
        logger.emit(timestamp=1_700_000_000_123_456_789, severity_number=SeverityNumber.INFO, severity_text="INFO",
                    body={"content": "hi <there>", "n": 2}, attributes={"gen_ai.system": "openai", "k": 1.5},
                    event_name="gen_ai.choice")
        context = span.get_span_context()
    logger.emit(observed_timestamp=1_700_000_001_000_000_000, body="plain text", severity_number=SeverityNumber.ERROR)
    return encode_logs(exporter.get_finished_logs()), context


def test_sdk_records_are_stored_as_the_exporter_writes_them(store):
    request, context = sdk_request()
    batch = logs_to_batch(request, "team-a")
    assert (batch.check.accepted, batch.check.rejected, batch.count) == (2, 0, 2)
    insert_logs(store, batch)
    first, second = read_back(store)
    assert first["toUnixTimestamp64Nano(Timestamp)"] == 1_700_000_000_123_456_789
    assert first["TraceId"] == format(context.trace_id, "032x")
    assert first["SpanId"] == format(context.span_id, "016x")
    sent_flags = request.resource_logs[0].scope_logs[0].log_records[0].flags
    assert first["TraceFlags"] == sent_flags & 0xFF and sent_flags & 1  # the W3C byte: sampled
    assert (first["SeverityText"], first["SeverityNumber"]) == ("INFO", 9)
    assert first["ServiceName"] == "agent-svc"
    assert first["Body"] == '{"content":"hi \\u003cthere\\u003e","n":2}'  # AsString: Go JSON, sorted keys
    assert first["ResourceAttributes"]["service.name"] == "agent-svc"
    assert first["ResourceAttributes"][TENANT] == "team-a"  # the forged tenant is replaced
    assert (first["ScopeName"], first["ScopeVersion"]) == ("gen_ai.instrumentation", "1.2.3")
    assert first["LogAttributes"] == {"gen_ai.system": "openai", "k": "1.5"}
    assert first["EventName"] == "gen_ai.choice"
    # no time given: the observed time; no span: empty ids
    assert second["toUnixTimestamp64Nano(Timestamp)"] == 1_700_000_001_000_000_000
    assert (second["TraceId"], second["SpanId"], second["TraceFlags"]) == ("", "", 0)
    assert (second["Body"], second["SeverityNumber"], second["EventName"]) == ("plain text", 17, "")


def test_without_a_tenant_a_client_sent_tenant_is_removed(store):
    request, _ = sdk_request()
    insert_logs(store, logs_to_batch(request, None))
    assert all(TENANT not in row["ResourceAttributes"] for row in read_back(store))


@pytest.mark.parametrize(("body", "stored"), [
    ({"b": [1, True, None], "a": 1.0}, '{"a":1,"b":[1,true,null]}'),
    (b"\x00\xffbytes", base64.b64encode(b"\x00\xffbytes").decode()),
    ([1, "x", 2.5e-7], '[1,"x",2.5e-7]'),
    (12, "12"),
    (False, "false"),
    (None, ""),
])
def test_bodies_are_rendered_as_pdata_as_string(store, body, stored):
    request = log_request(body=body, time_unix_nano=5, scope="s")
    insert_logs(store, logs_to_batch(request))
    assert read_back(store)[0]["Body"] == stored


def test_invalid_records_are_rejected_with_reasons_and_the_rest_stored(store):
    good = LogRecord(time_unix_nano=10, trace_id=bytes(range(16)), span_id=bytes(range(8)), flags=0x101)
    zero_ids = LogRecord(time_unix_nano=11, trace_id=bytes(16), span_id=bytes(8))
    bad_trace = LogRecord(time_unix_nano=12, trace_id=b"\x01" * 5)
    bad_span = LogRecord(time_unix_nano=13, span_id=b"\x01" * 9)
    too_late = LogRecord(time_unix_nano=2**63)
    request = log_request(good, zero_ids, bad_trace, bad_span, too_late, scope="lib")
    check = check_log_records(request)
    batch = logs_to_batch(request)
    assert (check.accepted, check.rejected) == (batch.check.accepted, batch.check.rejected) == (2, 3)
    assert [why for why, _ in batch.check.reasons] == [
        "log record 2 of scope 'lib': trace_id must be empty or 16 bytes (got 5)",
        "log record 3 of scope 'lib': span_id must be empty or 8 bytes (got 9)",
        "log record 4 of scope 'lib': time_unix_nano 9223372036854775808 is after 2262-04-11T23:47:16.854775807Z, "
        "the last time otel_logs can store",
    ]
    insert_logs(store, batch)
    rows = read_back(store)
    assert [(r["TraceId"], r["SpanId"], r["TraceFlags"]) for r in rows] == [
        (bytes(range(16)).hex(), bytes(range(8)).hex(), 1), ("", "", 0)]


def test_batch_protocol_rows_and_labels():
    request = log_request(LogRecord(time_unix_nano=1, event_name="gen_ai.choice"), LogRecord(time_unix_nano=2),
                          scope="lib")
    batch = logs_to_batch(request)
    batch.extend(logs_to_batch(request))
    assert batch.count == 4
    part = batch.rows(1, 3)
    assert part.count == 2
    assert part.label(0) == "log record of scope 'lib'"
    assert part.label(1) == "log record 'gen_ai.choice'"


def test_the_fast_path_agrees_with_the_rules():
    """The converter skips the rule table for the usual record; every kind of break must still be caught."""
    records = [LogRecord(time_unix_nano=1, severity_number=300), LogRecord(observed_time_unix_nano=2**63),
               LogRecord(trace_id=b"\x01" * 17), LogRecord(span_id=b"\x01"), LogRecord(time_unix_nano=7)]
    request = log_request(*records, scope="lib")
    batch = logs_to_batch(request)
    assert [why for why, _ in batch.check.reasons] == [why for why, _ in check_log_records(request).reasons]
    assert (batch.check.accepted, batch.check.rejected, batch.count) == (1, 4, 1)
    assert batch.check.reasons[0][0] == "log record 0 of scope 'lib': severity_number 300 is outside 0-255"
