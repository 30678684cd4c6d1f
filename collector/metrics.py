"""The collector's own health as Prometheus metrics (served at `/metrics`).

One registry per running collector, so several can live in one test process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CollectorMetrics", "CONTENT_TYPE_LATEST"]


class CollectorMetrics:
    """Counters and gauges for receiving, rejecting and writing spans."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "agentmortem_receiver_requests", "Export requests by protocol and outcome",
            ["protocol", "outcome"], registry=r,
        )
        self.spans_received = Counter(
            "agentmortem_receiver_spans_received", "Spans decoded from requests", ["protocol"], registry=r
        )
        self.spans_accepted = Counter(
            "agentmortem_receiver_spans_accepted", "Spans durably written and acknowledged",
            ["protocol"], registry=r,
        )
        self.spans_rejected = Counter(
            "agentmortem_receiver_spans_rejected", "Spans refused, by reason", ["reason"], registry=r
        )
        self.spans_written = Counter(
            "agentmortem_writer_spans_written", "Spans inserted into otel_traces", registry=r
        )
        self.inserts = Counter(
            "agentmortem_writer_inserts", "Insert statements by outcome", ["outcome"], registry=r
        )
        self.insert_seconds = Histogram(
            "agentmortem_writer_insert_seconds", "Insert latency",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.queue_spans = Gauge(
            "agentmortem_writer_queue_spans", "Spans accepted but not yet durable", registry=r
        )
        self.queue_bytes = Gauge(
            "agentmortem_writer_queue_bytes",
            "In-flight budget in use: bodies being read and requests waiting for their insert, in bytes",
            registry=r,
        )

    def render(self) -> bytes:
        """The text exposition of every metric."""
        return generate_latest(self.registry)
