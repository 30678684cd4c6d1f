"""Hand-built OTLP logs requests for the edges an SDK will not produce (bad ids, odd bodies)."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord


def any_value(value: Any) -> AnyValue:
    """A Python value as an OTLP AnyValue (bytes, lists and dicts included)."""
    if isinstance(value, AnyValue):
        return value
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(any_value(v) for v in value)
        return out
    if isinstance(value, dict):
        out = AnyValue()
        out.kvlist_value.values.extend(KeyValue(key=k, value=any_value(v)) for k, v in value.items())
        return out
    return AnyValue(string_value=value)


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def log_request(*records: LogRecord, resource: dict[str, Any] | None = None, scope: str = "test.scope",
                **record_fields: Any) -> ExportLogsServiceRequest:
    """One resource, one scope; `records`, or else one record made of `record_fields`
    (`body` and `attributes` as Python values)."""
    if not records:
        fields = dict(record_fields)
        body = fields.pop("body", None)
        attributes = fields.pop("attributes", {})
        record = LogRecord(**fields)
        if body is not None:
            record.body.CopyFrom(any_value(body))
        record.attributes.extend(key_values(attributes))
        records = (record,)
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(key_values(resource or {"service.name": "svc"}))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = scope
    scope_logs.log_records.extend(records)
    return request
