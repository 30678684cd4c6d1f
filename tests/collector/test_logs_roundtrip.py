"""Real OTel SDK log records (Python `LoggerProvider`, OTLP exporters over gRPC and HTTP) → the
collector → `otel_logs`, every column read back as the contrib clickhouseexporter renders it."""

from __future__ import annotations

import logging

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from tests.support.inprocess_collector import running_collector
from tests.support.signal_exporters import COMPRESSED, log_exporter

RESOURCE_URL = "https://opentelemetry.io/schemas/1.30.0"
SCOPE_URL = "https://example.com/scope-schema"
T0 = 1_700_000_000_123_456_789

# Log attributes of every AnyValue kind, and what pdata's AsString() makes of each.
ATTRIBUTES = {
    "str": "hello <world> & co",
    "int": -42,
    "float": 2.5,
    "whole_float": 3.0,
    "bool": True,
    "bytes": b"\x00\xffok",
    "list": ["x", 1, True, 0.5],
    "map": {"z": 1, "k": "<v>", "nested": {"a": [1, 2]}},
    "event.name": "as.attribute",  # the older spelling of an event's name stays an attribute
}
ATTRIBUTES_STORED = {
    "str": "hello <world> & co",
    "int": "-42",
    "float": "2.5",
    "whole_float": "3",
    "bool": "true",
    "bytes": "AP9vaw==",
    "list": '["x",1,true,0.5]',
    "map": '{"k":"\\u003cv\\u003e","nested":{"a":[1,2]},"z":1}',
    "event.name": "as.attribute",
}
RESOURCE = {"service.name": "logs-svc", "host.cores": 2, "tags": ("a", "b")}
RESOURCE_STORED = {"service.name": "logs-svc", "host.cores": "2", "tags": '["a","b"]'}
SCOPE_ATTRIBUTES = {"scope.flag": False, "scope.n": 7}
SCOPE_STORED = {"scope.flag": "false", "scope.n": "7"}

READBACK = (
    "toUnixTimestamp64Nano(Timestamp)", "TraceId", "SpanId", "TraceFlags", "SeverityText", "SeverityNumber",
    "ServiceName", "Body", "ResourceSchemaUrl", "ResourceAttributes", "ScopeSchemaUrl", "ScopeName",
    "ScopeVersion", "ScopeAttributes", "LogAttributes", "EventName",
)


def emit_records() -> tuple[list[ReadableLogRecord], str, str, int]:
    """Five records: one inside a sampled span (ids, every attribute kind, an event name), a map body,
    a list body without a time of its own, an int body without severity, a bytes body; returns them and the span's
    ids and W3C trace flags (sampled, and "random" from SDKs that set it)."""
    provider = LoggerProvider(resource=Resource(RESOURCE, schema_url=RESOURCE_URL))
    memory = InMemoryLogRecordExporter()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("py.logs", "0.9.1", schema_url=SCOPE_URL, attributes=SCOPE_ATTRIBUTES)
    tracer = TracerProvider().get_tracer("py.logs")
    with tracer.start_as_current_span("work") as span:
        logger.emit(timestamp=T0, severity_number=SeverityNumber.WARN, severity_text="WARN", body="disk almost full",
                    attributes=ATTRIBUTES, event_name="py.event")
    context = span.get_span_context()
    logger.emit(timestamp=T0 + 1, severity_number=SeverityNumber.ERROR, severity_text="ERROR",
                body={"reason": "timeout", "attempts": 3, "ok": False, "ratio": 0.25})
    logger.emit(severity_number=SeverityNumber.DEBUG2, body=["a", 2, {"b": None}])
    logger.emit(timestamp=T0 + 3, body=12345)
    logger.emit(timestamp=T0 + 4, body=b"\x01\x02", attributes={"big": 2**63 - 1, "tiny": 1e-7, "empty": ""})
    provider.shutdown()
    flags = int(context.trace_flags)
    assert flags & 1
    return list(memory.get_finished_logs()), f"{context.trace_id:032x}", f"{context.span_id:016x}", flags


def expected_rows(records: list[ReadableLogRecord], trace_id: str, span_id: str, flags: int) -> list[tuple]:
    common = ("logs-svc",)
    untimed = records[2].log_record.observed_timestamp  # stored in place of the missing time
    head = (RESOURCE_URL, RESOURCE_STORED, SCOPE_URL, "py.logs", "0.9.1", SCOPE_STORED)
    return sorted([
        (T0, trace_id, span_id, flags, "WARN", 13, *common, "disk almost full", *head, ATTRIBUTES_STORED, "py.event"),
        (T0 + 1, "", "", 0, "ERROR", 17, *common, '{"attempts":3,"ok":false,"ratio":0.25,"reason":"timeout"}',
         *head, {}, ""),
        (untimed, "", "", 0, "", 6, *common, '["a",2,{"b":null}]', *head, {}, ""),
        (T0 + 3, "", "", 0, "", 0, *common, "12345", *head, {}, ""),
        (T0 + 4, "", "", 0, "", 0, *common, "AQI=", *head, {"big": "9223372036854775807", "tiny": "1e-7", "empty": ""},
         ""),
    ])


@pytest.mark.parametrize("protocol", COMPRESSED)
def test_every_log_field_round_trips(protocol, store):
    records, *ids = emit_records()
    with running_collector(store) as service:
        exporter = log_exporter(protocol, service)
        assert exporter.export(records) == LogRecordExportResult.SUCCESS
        exporter.shutdown()
    rows = sorted(store.query(f"SELECT {', '.join(READBACK)} FROM otel_logs"))
    expected = expected_rows(records, *ids)
    assert len(rows) == len(expected) == 5
    for got, want in zip(rows, expected):
        assert dict(zip(READBACK, got)) == dict(zip(READBACK, want))


# The SDK's handler is deprecated in favour of opentelemetry-instrumentation-logging's (not a test
# dependency); both bridge `logging` records the same way.
@pytest.mark.filterwarnings("ignore:`LoggingHandler` in `opentelemetry-sdk` is deprecated:DeprecationWarning")
def test_stdlib_logging_through_the_sdk_handler_round_trips(store):
    """The common path in Python services: `logging` records bridged by the SDK's `LoggingHandler`,
    an exception's type, message and stack trace among their attributes."""
    provider = LoggerProvider(resource=Resource({"service.name": "stdlib-svc"}))
    memory = InMemoryLogRecordExporter()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = logging.getLogger("agentmortem.tests.stdlib")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(handler := LoggingHandler(logger_provider=provider))
    try:
        logger.info("starting %s", "job", extra={"job.id": 7})
        try:
            raise TimeoutError("tool call timed out")
        except TimeoutError:
            logger.exception("giving up")
    finally:
        logger.removeHandler(handler)
    provider.shutdown()
    records = list(memory.get_finished_logs())
    with running_collector(store) as service:
        exporter = log_exporter("http", service)
        assert exporter.export(records) == LogRecordExportResult.SUCCESS
    rows = store.query("SELECT toUnixTimestamp64Nano(Timestamp), SeverityText, SeverityNumber, Body, ScopeName, "
                       "LogAttributes FROM otel_logs ORDER BY Timestamp")
    assert [row[1:5] for row in rows] == [("INFO", 9, "starting job", "agentmortem.tests.stdlib"),
                                         ("ERROR", 17, "giving up", "agentmortem.tests.stdlib")]
    for (timestamp, *_, attributes), record in zip(rows, records):
        sent = record.log_record.attributes
        assert all(isinstance(v, str | int) for v in sent.values())
        assert attributes == {key: str(value) for key, value in sent.items()}
        assert timestamp == record.log_record.timestamp
    assert rows[0][5]["job.id"] == "7"
    assert rows[1][5]["exception.type"] == "TimeoutError"
    assert rows[1][5]["exception.message"] == "tool call timed out"
    assert "raise TimeoutError" in rows[1][5]["exception.stacktrace"]
