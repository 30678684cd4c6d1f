"""GenAI-shaped OTLP log and metric requests for the ingest benchmark (`bench_ingest.py --signal`).

Log records look like the GenAI log events instrumentations send (`gen_ai.client.inference.operation.details`
with message attributes, tied to a trace and span); data points like the GenAI client metrics (token
usage and operation duration histograms, a few attribute sets per request).
"""

from __future__ import annotations

import time
import uuid

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

_RESOURCE = (("service.name", "bench-agent"), ("deployment.environment", "bench"),
             ("telemetry.sdk.language", "python"), ("telemetry.sdk.name", "opentelemetry"))
_BOUNDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)


def _set(attributes, pairs) -> None:  # noqa: ANN001 (a protobuf repeated KeyValue)
    for key, value in pairs:
        kv = attributes.add()
        kv.key = key
        if isinstance(value, int):
            kv.value.int_value = value
        else:
            kv.value.string_value = value


def genai_logs_request(n_records: int) -> bytes:
    """One request of `n_records` GenAI log events, ten per trace, each naming its span."""
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    _set(rl.resource.attributes, _RESOURCE)
    sl = rl.scope_logs.add()
    sl.scope.name, sl.scope.version = "opentelemetry.instrumentation.openai_v2", "2.4b0"
    now = time.time_ns()
    trace_id = uuid.uuid4().bytes
    for i in range(n_records):
        if i % 10 == 0:
            trace_id = uuid.uuid4().bytes
        record = sl.log_records.add()
        record.time_unix_nano = record.observed_time_unix_nano = now + i * 1000
        record.severity_number, record.severity_text = 9, "INFO"
        record.trace_id, record.span_id, record.flags = trace_id, uuid.uuid4().bytes[:8], 1
        record.event_name = "gen_ai.client.inference.operation.details"
        _set(record.attributes, (
            ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-4o-mini"), ("gen_ai.usage.input_tokens", 1200 + i),
            ("gen_ai.input.messages", '[{"role":"user","parts":[{"type":"text","content":"Where is order A17?"}]}]'),
            ("gen_ai.output.messages", '[{"role":"assistant","parts":[{"type":"text","content":"It shipped."}],'
                                       '"finish_reason":"stop"}]'),
        ))
    return request.SerializeToString()


def genai_metrics_request(n_points: int) -> bytes:
    """One request of `n_points` data points: half token-usage histograms, half duration histograms,
    each point its own attribute set (model × operation × token type × an index)."""
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    _set(rm.resource.attributes, _RESOURCE)
    sm = rm.scope_metrics.add()
    sm.scope.name, sm.scope.version = "opentelemetry.instrumentation.openai_v2", "2.4b0"
    now = time.time_ns()
    for name, unit in (("gen_ai.client.token.usage", "{token}"), ("gen_ai.client.operation.duration", "s")):
        metric = sm.metrics.add()
        metric.name, metric.unit, metric.description = name, unit, f"GenAI {name}"
        histogram = metric.histogram
        histogram.aggregation_temporality = 2  # cumulative
        for i in range(n_points // 2):
            point = histogram.data_points.add()
            point.start_time_unix_nano, point.time_unix_nano = now - 60_000_000_000, now
            point.count, point.sum, point.min, point.max = 10 + i, 1234.5 + i, 0.5, 99.0
            point.explicit_bounds.extend(_BOUNDS)
            point.bucket_counts.extend([i % 3] * (len(_BOUNDS) + 1))
            _set(point.attributes, (("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"),
                                    ("gen_ai.request.model", f"gpt-4o-mini-{i % 7}"), ("gen_ai.token.type", "input"),
                                    ("bench.series", i)))
    return request.SerializeToString()
