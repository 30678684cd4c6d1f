"""The Python OTel SDK's OTLP log and metric exporters, over gRPC or HTTP (optionally gzip-compressed),
pointed at a running collector."""

from __future__ import annotations

import grpc
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.sdk.metrics import Counter, Histogram, ObservableCounter
from opentelemetry.sdk.metrics.export import AggregationTemporality

from agentmortem.collector.service import CollectorService

PROTOCOLS = ("grpc", "http")
"""The two transports, uncompressed; `COMPRESSED` adds their gzip variants ("grpc-gzip", "http-gzip")."""
COMPRESSED = (*PROTOCOLS, *(f"{protocol}-gzip" for protocol in PROTOCOLS))

_FOLLOWING = (Counter, Histogram, ObservableCounter)


def _exporter(grpc_type: type, http_type: type, protocol: str, service: CollectorService,
              headers: dict[str, str] | None, signal: str):
    transport, _, compression = protocol.partition("-")
    if transport == "grpc":
        return grpc_type(endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True, timeout=10, headers=headers,
                         compression=grpc.Compression.Gzip if compression else None)
    return http_type(endpoint=f"http://127.0.0.1:{service.http_port}/v1/{signal}", timeout=10, headers=headers,
                     compression=HttpCompression.Gzip if compression else None)


def log_exporter(protocol: str, service: CollectorService, headers: dict[str, str] | None = None):
    """An OTLP log exporter of `protocol` (one of `COMPRESSED`) for `service`."""
    return _exporter(GrpcLogExporter, HttpLogExporter, protocol, service, headers, "logs")


def preferred_temporality(temporality: AggregationTemporality) -> dict[type, AggregationTemporality]:
    """A metric reader's preference as the specification's "delta" or "cumulative" preset: counters and
    histograms follow `temporality`, up-down counters (and gauges, which have none) stay cumulative."""
    return dict.fromkeys(_FOLLOWING, temporality)


def metric_exporter(protocol: str, service: CollectorService, headers: dict[str, str] | None = None):
    """An OTLP metric exporter of `protocol` (one of `COMPRESSED`) for `service`; it exports what a reader
    collected, in the temporality that reader chose."""
    return _exporter(GrpcMetricExporter, HttpMetricExporter, protocol, service, headers, "metrics")
