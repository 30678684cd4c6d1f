"""The Python OTel SDK's OTLP log and metric exporters, over gRPC or HTTP, pointed at a running collector."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.sdk.metrics import Counter, Histogram, ObservableCounter
from opentelemetry.sdk.metrics.export import AggregationTemporality

from agentmortem.collector.service import CollectorService

PROTOCOLS = ("grpc", "http")

_FOLLOWING = (Counter, Histogram, ObservableCounter)


def log_exporter(protocol: str, service: CollectorService, headers: dict[str, str] | None = None):
    """An OTLP log exporter of `protocol` ("grpc" or "http") for `service`."""
    if protocol == "grpc":
        return GrpcLogExporter(endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True, timeout=10, headers=headers)
    return HttpLogExporter(endpoint=f"http://127.0.0.1:{service.http_port}/v1/logs", timeout=10, headers=headers)


def preferred_temporality(temporality: AggregationTemporality) -> dict[type, AggregationTemporality]:
    """A metric reader's preference as the specification's "delta" or "cumulative" preset: counters and
    histograms follow `temporality`, up-down counters (and gauges, which have none) stay cumulative."""
    return dict.fromkeys(_FOLLOWING, temporality)


def metric_exporter(protocol: str, service: CollectorService, headers: dict[str, str] | None = None):
    """An OTLP metric exporter of `protocol` for `service` (it exports what a reader collected, in the
    temporality that reader chose)."""
    if protocol == "grpc":
        return GrpcMetricExporter(endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True, timeout=10, headers=headers)
    return HttpMetricExporter(endpoint=f"http://127.0.0.1:{service.http_port}/v1/metrics", timeout=10,
                              headers=headers)
