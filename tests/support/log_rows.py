"""Log records written straight into `otel_logs` (the contrib exporter's logs table), for tests.

`LogRecord` is one row as the collector stores it: attributes and body as text, complex values
as JSON (pdata's `AsString`: maps with sorted keys). `records_from_request` turns an SDK's
`ExportLogsServiceRequest` into such rows; `insert_logs` writes rows; `raw_logs` reads them back
for the Python reference (`reference_mapping.fold_log_events`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from agentmortem.platform.schema import LOGS_TABLE
from agentmortem.platform.store import Store
from agentmortem.semconv import keys as k

COLUMNS = ("Timestamp", "TraceId", "SpanId", "ServiceName", "Body", "ResourceAttributes", "ScopeName",
           "LogAttributes", "EventName")


@dataclass(frozen=True)
class LogRecord:
    """One `otel_logs` row; `event_name` goes to the `EventName` column, or with `name_as_attribute`
    to the `event.name` attribute (older SDKs); `body` JSON-encoded unless already text."""

    trace_id: str
    span_id: str
    event_name: str
    attributes: dict[str, str] = field(default_factory=dict)
    body: Any = ""
    timestamp_ns: int = 1_750_000_000 * 10**9
    tenant: str = ""
    service: str = "svc"
    name_as_attribute: bool = False

    def row(self) -> list:
        attrs = dict(self.attributes)
        if self.name_as_attribute:
            attrs[k.LOG_EVENT_NAME_ATTRIBUTE] = self.event_name
        resource = {"service.name": self.service, **({k.TENANT: self.tenant} if self.tenant else {})}
        body = self.body if isinstance(self.body, str) else as_json(self.body)
        return [self.timestamp_ns, self.trace_id, self.span_id, self.service, body, resource, "test.scope", attrs,
                "" if self.name_as_attribute else self.event_name]


def as_json(value: Any) -> str:
    """A map or array value as the collector stores it (compact JSON, keys sorted)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def insert_logs(store: Store, records: list[LogRecord]) -> None:
    """Write `records` into `otel_logs` as the collector would."""
    rows = [r.row() for r in records]
    store.insert_columns(LOGS_TABLE, [list(c) for c in zip(*rows)], list(COLUMNS))


def _plain(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None if kind is None else getattr(value, kind)


def _text(value: AnyValue) -> str:
    plain = _plain(value)
    if isinstance(plain, (dict, list)):
        return as_json(plain)
    if isinstance(plain, bool):
        return "true" if plain else "false"
    return "" if plain is None else str(plain)


def records_from_request(data: bytes, tenant: str = "") -> list[LogRecord]:
    """The log records of a serialized `ExportLogsServiceRequest`, as `otel_logs` rows."""
    out = []
    for rl in ExportLogsServiceRequest.FromString(data).resource_logs:
        service = next((_text(a.value) for a in rl.resource.attributes if a.key == "service.name"), "")
        for sl in rl.scope_logs:
            for lr in sl.log_records:
                attrs = {a.key: _text(a.value) for a in lr.attributes}
                out.append(LogRecord(lr.trace_id.hex(), lr.span_id.hex(), lr.event_name, attrs, _text(lr.body),
                                     lr.time_unix_nano or lr.observed_time_unix_nano, tenant, service))
    return out


RAW_LOGS_SQL = f"SELECT * REPLACE (toUnixTimestamp64Nano(Timestamp) AS Timestamp) FROM {LOGS_TABLE}"


def raw_logs(store: Store) -> list[dict]:
    """Every `otel_logs` row, column names as keys (the Python reference's input)."""
    return store.query_dicts(RAW_LOGS_SQL)
