"""The collector's own health as Prometheus metrics (served at `/metrics`).

One registry per running collector, so several can live in one test process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CollectorMetrics", "CONTENT_TYPE_LATEST"]


# Each signal's counters are named after what it carries (`agentmortem_receiver_spans_received`,
# `…_log_records_received`, `…_data_points_received`); `collector.signals` names the same.
_SIGNAL_ITEMS = (("traces", "spans"), ("logs", "log_records"), ("metrics", "data_points"))


class SignalCounters:
    """What one signal's requests carried: received, accepted (durable), rejected (by reason), written."""

    def __init__(self, registry: CollectorRegistry, signal: str, items: str) -> None:
        what = items.replace("_", " ").capitalize()
        self.received = Counter(
            f"agentmortem_receiver_{items}_received", f"{what} decoded from requests", ["protocol"], registry=registry
        )
        self.accepted = Counter(
            f"agentmortem_receiver_{items}_accepted", f"{what} durably written and acknowledged",
            ["protocol"], registry=registry,
        )
        self.rejected = Counter(
            f"agentmortem_receiver_{items}_rejected", f"{what} refused, by reason", ["reason"], registry=registry
        )
        self.written = Counter(
            f"agentmortem_writer_{items}_written", f"{what} inserted into the {signal} table(s)", registry=registry
        )


class CollectorMetrics:
    """Counters and gauges for receiving, rejecting and writing spans, log records and data points."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "agentmortem_receiver_requests", "Export requests by protocol and outcome",
            ["protocol", "outcome"], registry=r,
        )
        self.signals = {name: SignalCounters(r, name, items) for name, items in _SIGNAL_ITEMS}
        traces = self.signals["traces"]
        self.spans_received, self.spans_accepted = traces.received, traces.accepted
        self.spans_rejected, self.spans_written = traces.rejected, traces.written
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
