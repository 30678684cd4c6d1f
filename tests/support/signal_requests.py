"""Small, valid OTLP logs and metrics requests made by the Python SDK (its own encoders), each marked
with a resource attribute `tag` so a test can count what of it was stored."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.resources import Resource

from agentmortem.collector.signals import LOGS, METRICS, Signal
from agentmortem.platform.store import Store


def log_records(tag: str, records: int = 2) -> list[ReadableLogRecord]:
    """`records` log records of one logger, as the SDK hands them to an exporter."""
    provider = LoggerProvider(resource=Resource({"service.name": "bad-input", "tag": tag}))
    memory = InMemoryLogRecordExporter()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("signal.requests")
    for n in range(records):
        logger.emit(body=f"record {n}", attributes={"n": n})
    provider.shutdown()
    return list(memory.get_finished_logs())


def log_request(tag: str, records: int = 2) -> bytes:
    """`log_records` as a protobuf `ExportLogsServiceRequest`."""
    return encode_logs(log_records(tag, records)).SerializeToString()


def metrics_data(tag: str, counters: int = 2) -> MetricsData:
    """One sum point for each of `counters` counters, as the SDK hands them to an exporter."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], resource=Resource({"service.name": "bad-input", "tag": tag}))
    meter = provider.get_meter("signal.requests")
    for n in range(counters):
        meter.create_counter(f"counter.{n}").add(n + 1)
    data = reader.get_metrics_data()
    provider.shutdown()
    return data


def metric_request(tag: str, counters: int = 2) -> bytes:
    """`metrics_data` as a protobuf `ExportMetricsServiceRequest`."""
    return encode_metrics(metrics_data(tag, counters)).SerializeToString()


def request_for(signal: Signal, tag: str) -> bytes:
    """A valid protobuf request of `signal` holding two items (log records or data points)."""
    return {LOGS.name: log_request, METRICS.name: metric_request}[signal.name](tag)


STORED_SQL = {
    LOGS.name: "SELECT count() FROM otel_logs WHERE ResourceAttributes['tag'] = {tag:String}",
    METRICS.name: "SELECT count() FROM otel_metrics_sum WHERE ResourceAttributes['tag'] = {tag:String}",
}


def stored_count(store: Store, signal: Signal, tag: str) -> int:
    """How many items of the requests tagged `tag` are in `signal`'s tables."""
    ((count,),) = store.query(STORED_SQL[signal.name], {"tag": tag})
    return count
