"""The three OTLP signals as data: what each one's request, answer, checks, rows and routes are.

Receivers, the ingest and the writer are written once and take a `Signal`: traces, logs and
metrics differ only in what is listed here — the protobuf messages, the `partial_success`
field that counts what was refused, the gRPC service and the HTTP path, the OTLP/JSON fields
that hold hex ids, and the three functions that validate a request, convert it to rows and
insert those rows. Traces alone have a native insert path (`collector.native`) and a tolerant
decode (`collector.salvage`); the writer and the decoder ask `Signal.name` for those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from agentmortem.collector.batch import Batch
from agentmortem.collector.convert import SpanCheck, check_spans, insert_spans, request_to_batch
from agentmortem.collector.convert_logs import check_log_records, insert_logs, logs_to_batch
from agentmortem.collector.convert_metrics import check_data_points, insert_metrics, metrics_to_batch
from agentmortem.platform.schema import LOGS_TABLE, TRACES_TABLE
from agentmortem.platform.signal_tables import METRIC_TABLES
from agentmortem.platform.store import Store

# A path through an OTLP/JSON document to the objects that hold hex ids: each step is a field
# (under its lowerCamelCase or its original name), holding a list or one object.
JsonPath = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Signal:
    name: str  # "traces", as in the HTTP path and the settings
    item: str  # one of what it carries, in messages: "span"
    items: str  # the plural, in metric names: "spans"
    request_type: type[Message]
    response_type: type[Message]
    rejected_field: str  # the `partial_success` field counting what was refused
    grpc_service: str
    json_root: str  # the top-level field of an OTLP/JSON body
    json_id_paths: tuple[JsonPath, ...]
    check: Callable[[Any], SpanCheck]
    convert: Callable[[Any, str | None], Batch]
    insert: Callable[[Store, Any], None]
    tables: tuple[str, ...]

    @property
    def http_path(self) -> str:
        return f"/v1/{self.name}"

    def decode(self, raw: bytes) -> Any:
        return self.request_type.FromString(raw)

    def response(self, rejected: int, message: str) -> Message:
        """The success answer; `partial_success` only when something was refused or noted."""
        response = self.response_type()
        if rejected or message:
            partial = response.partial_success  # type: ignore[attr-defined]
            setattr(partial, self.rejected_field, rejected)
            partial.error_message = message
        return response


_RESOURCE_SPANS = (("resourceSpans", "resource_spans"), ("scopeSpans", "scope_spans"), ("spans", "spans"))
_METRIC_POINTS = (("resourceMetrics", "resource_metrics"), ("scopeMetrics", "scope_metrics"), ("metrics", "metrics"))

TRACES = Signal(
    name="traces", item="span", items="spans",
    request_type=ExportTraceServiceRequest, response_type=ExportTraceServiceResponse,
    rejected_field="rejected_spans", grpc_service="opentelemetry.proto.collector.trace.v1.TraceService",
    json_root="resourceSpans",
    json_id_paths=(_RESOURCE_SPANS, (*_RESOURCE_SPANS, ("links", "links"))),
    check=check_spans, convert=request_to_batch, insert=insert_spans, tables=(TRACES_TABLE,),
)

LOGS = Signal(
    name="logs", item="log record", items="log_records",
    request_type=ExportLogsServiceRequest, response_type=ExportLogsServiceResponse,
    rejected_field="rejected_log_records", grpc_service="opentelemetry.proto.collector.logs.v1.LogsService",
    json_root="resourceLogs",
    json_id_paths=((("resourceLogs", "resource_logs"), ("scopeLogs", "scope_logs"), ("logRecords", "log_records")),),
    check=check_log_records, convert=logs_to_batch, insert=insert_logs, tables=(LOGS_TABLE,),
)

METRICS = Signal(
    name="metrics", item="data point", items="data_points",
    request_type=ExportMetricsServiceRequest, response_type=ExportMetricsServiceResponse,
    rejected_field="rejected_data_points", grpc_service="opentelemetry.proto.collector.metrics.v1.MetricsService",
    json_root="resourceMetrics",
    json_id_paths=tuple(
        (*_METRIC_POINTS, (kind, snake), ("dataPoints", "data_points"), ("exemplars", "exemplars"))
        for kind, snake in (("gauge", "gauge"), ("sum", "sum"), ("histogram", "histogram"),
                            ("exponentialHistogram", "exponential_histogram"))
    ),
    check=check_data_points, convert=metrics_to_batch, insert=insert_metrics, tables=METRIC_TABLES,
)

SIGNALS: tuple[Signal, ...] = (TRACES, LOGS, METRICS)
