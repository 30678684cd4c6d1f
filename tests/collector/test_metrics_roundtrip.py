"""Real OTel SDK metrics (Python `MeterProvider`, OTLP exporters over gRPC and HTTP) → the collector →
the five `otel_metrics_*` tables: every point read back equal to what the SDK collected, with its
temporality, monotonicity, buckets and exemplars."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    Gauge,
    Histogram,
    InMemoryMetricReader,
    MetricExportResult,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from tests.support.inprocess_collector import running_collector
from tests.support.signal_exporters import metric_exporter, preferred_temporality

RESOURCE = {"service.name": "metrics-svc", "host.cores": 2}
RESOURCE_URL = "https://opentelemetry.io/schemas/1.30.0"
SCOPE_URL = "https://example.com/meter-schema"
DELTA, CUMULATIVE = AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE

COMMON = ("MetricName", "MetricDescription", "MetricUnit", "Attributes", "toUnixTimestamp(StartTimeUnix)",
          "toUnixTimestamp(TimeUnix)")
EXEMPLARS = ("Exemplars.FilteredAttributes", "arrayMap(t -> toUnixTimestamp(t), Exemplars.TimeUnix)",
             "Exemplars.Value", "Exemplars.SpanId", "Exemplars.TraceId")
READBACK = {
    "otel_metrics_sum": (*COMMON, "Value", *EXEMPLARS, "AggregationTemporality", "IsMonotonic"),
    "otel_metrics_gauge": (*COMMON, "Value", *EXEMPLARS),
    "otel_metrics_histogram": (*COMMON, "Count", "Sum", "BucketCounts", "ExplicitBounds", *EXEMPLARS, "Min", "Max",
                               "AggregationTemporality"),
    "otel_metrics_exponential_histogram": (
        *COMMON, "Count", "Sum", "Scale", "ZeroCount", "PositiveOffset", "PositiveBucketCounts", "NegativeOffset",
        "NegativeBucketCounts", *EXEMPLARS, "Min", "Max", "AggregationTemporality"),
}


def collect_twice(temporality: AggregationTemporality) -> tuple[list[MetricsData], str, str]:
    """Every instrument kind, measured, collected, measured again and collected again; the counter and
    histogram's first measurements are made inside a sampled span (so they carry exemplars).
    Returns both collections and the span's trace and span id."""
    reader = InMemoryMetricReader(preferred_temporality=preferred_temporality(temporality))
    sizes_view = View(instrument_name="py.sizes", aggregation=ExponentialBucketHistogramAggregation(max_scale=4))
    # a view keeping only `route`: the rest of a measurement's attributes go to its exemplar
    requests_view = View(instrument_name="py.requests", attribute_keys={"route"})
    provider = MeterProvider(metric_readers=[reader], resource=Resource(RESOURCE, schema_url=RESOURCE_URL),
                             views=[sizes_view, requests_view])
    meter = provider.get_meter("py.metrics", "1.0.0", schema_url=SCOPE_URL, attributes={"scope.n": 7})
    requests = meter.create_counter("py.requests", unit="1", description="requests served")
    queue = meter.create_up_down_counter("py.queue")
    temperature = meter.create_gauge("py.temperature", unit="Cel")
    meter.create_observable_gauge("py.memory", callbacks=[lambda _: [Observation(1234, {"kind": "heap"})]])
    latency = meter.create_histogram("py.latency", unit="ms", explicit_bucket_boundaries_advisory=[0, 100, 1000])
    sizes = meter.create_histogram("py.sizes")

    with TracerProvider().get_tracer("py.metrics").start_as_current_span("measure") as span:
        requests.add(3, {"route": "/a", "user": "u1"})
        requests.add(2, {"route": "/a", "user": "u2"})
        for value in (10, 20, 700):
            latency.record(value)
    queue.add(5)
    queue.add(-2)
    temperature.set(21.5, {"room": "lab"})
    for value in (1, 2, 4):
        sizes.record(value)
    first = reader.get_metrics_data()
    requests.add(4, {"route": "/a"})
    latency.record(50)
    queue.add(1)
    temperature.set(22.0, {"room": "lab"})
    sizes.record(0.25)
    second = reader.get_metrics_data()
    provider.shutdown()
    context = span.get_span_context()
    return [first, second], f"{context.trace_id:032x}", f"{context.span_id:016x}"


def _exemplars(point: Any) -> tuple:
    exemplars = point.exemplars
    return ([dict(e.filtered_attributes or {}) for e in exemplars], [e.time_unix_nano // 10**9 for e in exemplars],
            [e.value for e in exemplars], [f"{e.span_id:016x}" for e in exemplars],
            [f"{e.trace_id:032x}" for e in exemplars])


def expected_rows(collections: list[MetricsData]) -> dict[str, list[tuple]]:
    """What each table should hold, from the SDK's own data points (times in whole seconds: the
    newest tables' `DateTime`)."""
    rows: dict[str, list[tuple]] = {table: [] for table in READBACK}
    for data in collections:
        (resource_metrics,) = data.resource_metrics
        (scope_metrics,) = resource_metrics.scope_metrics
        for metric in scope_metrics.metrics:
            kind = metric.data
            for p in kind.data_points:
                head = (metric.name, metric.description, metric.unit, dict(p.attributes or {}),
                        (p.start_time_unix_nano or 0) // 10**9, p.time_unix_nano // 10**9)
                if isinstance(kind, Sum):
                    rows["otel_metrics_sum"].append((*head, p.value, *_exemplars(p), kind.aggregation_temporality,
                                                     kind.is_monotonic))
                elif isinstance(kind, Gauge):
                    rows["otel_metrics_gauge"].append((*head, p.value, *_exemplars(p)))
                elif isinstance(kind, Histogram):
                    rows["otel_metrics_histogram"].append(
                        (*head, p.count, p.sum, list(p.bucket_counts), list(p.explicit_bounds), *_exemplars(p),
                         p.min, p.max, kind.aggregation_temporality))
                elif isinstance(kind, ExponentialHistogram):
                    rows["otel_metrics_exponential_histogram"].append(
                        (*head, p.count, p.sum, p.scale, p.zero_count, p.positive.offset, list(p.positive.bucket_counts),
                         p.negative.offset, list(p.negative.bucket_counts), *_exemplars(p), p.min, p.max,
                         kind.aggregation_temporality))
    return {table: sorted(found, key=_order) for table, found in rows.items()}


def read_back(store) -> dict[str, list[tuple]]:
    return {table: sorted(store.query(f"SELECT {', '.join(columns)} FROM {table}"), key=_order)
            for table, columns in READBACK.items()}


def _order(row: tuple) -> str:
    """A sort key equal for a stored row and the SDK's (ints stored as Float64 included)."""
    return repr([float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in row])


def _column(rows: list[tuple], table: str, name: str, metric: str) -> list:
    index = READBACK[table].index(name)
    return [row[index] for row in rows if row[0] == metric]


@pytest.mark.parametrize(("protocol", "temporality"),
                         [("grpc", DELTA), ("http", CUMULATIVE), ("grpc-gzip", CUMULATIVE), ("http-gzip", DELTA)],
                         ids=lambda value: getattr(value, "name", value))
def test_every_point_round_trips(protocol, temporality, store):
    collections, trace_id, span_id = collect_twice(temporality)
    with running_collector(store) as service:
        exporter = metric_exporter(protocol, service)
        for data in collections:
            assert exporter.export(data) == MetricExportResult.SUCCESS
        exporter.shutdown()
    stored, expected = read_back(store), expected_rows(collections)
    for table in READBACK:
        assert len(stored[table]) == len(expected[table]), table
        for got, want in zip(stored[table], expected[table]):
            assert dict(zip(READBACK[table], got)) == dict(zip(READBACK[table], want)), table
    assert store.query("SELECT count() FROM otel_metrics_summary") == [(0,)]

    # The same, spelled out: what each temporality means for the values stored.
    sums, hists = stored["otel_metrics_sum"], stored["otel_metrics_histogram"]
    chosen = int(temporality)
    assert sorted(_column(sums, "otel_metrics_sum", "Value", "py.requests")) == (
        [4.0, 5.0] if temporality is DELTA else [5.0, 9.0])
    assert set(_column(sums, "otel_metrics_sum", "AggregationTemporality", "py.requests")) == {chosen}
    assert set(_column(sums, "otel_metrics_sum", "IsMonotonic", "py.requests")) == {True}
    assert sorted(_column(sums, "otel_metrics_sum", "Value", "py.queue")) == [3.0, 4.0]  # always cumulative
    assert set(_column(sums, "otel_metrics_sum", "AggregationTemporality", "py.queue")) == {int(CUMULATIVE)}
    assert set(_column(sums, "otel_metrics_sum", "IsMonotonic", "py.queue")) == {False}
    assert sorted(_column(hists, "otel_metrics_histogram", "BucketCounts", "py.latency")) == (
        [[0, 1, 0, 0], [0, 2, 1, 0]] if temporality is DELTA else [[0, 2, 1, 0], [0, 3, 1, 0]])
    assert _column(hists, "otel_metrics_histogram", "ExplicitBounds", "py.latency") == [[0.0, 100.0, 1000.0]] * 2
    gauges = stored["otel_metrics_gauge"]
    assert sorted(_column(gauges, "otel_metrics_gauge", "Value", "py.temperature")) == [21.5, 22.0]
    assert _column(gauges, "otel_metrics_gauge", "Value", "py.memory") == [1234.0, 1234.0]
    exp = stored["otel_metrics_exponential_histogram"]
    assert sorted(_column(exp, "otel_metrics_exponential_histogram", "Count", "py.sizes")) == (
        [1, 3] if temporality is DELTA else [3, 4])

    # Measurements made inside the sampled span carry its ids as exemplars; the others none.
    def exemplar_ids(column: str) -> dict[str, set[str]]:
        return {table: {i for row in rows for i in row[READBACK[table].index(column)]} for table, rows in stored.items()}

    traces, spans = exemplar_ids("Exemplars.TraceId"), exemplar_ids("Exemplars.SpanId")
    assert traces == {"otel_metrics_sum": {trace_id}, "otel_metrics_histogram": {trace_id},
                      "otel_metrics_gauge": set(), "otel_metrics_exponential_histogram": set()}
    assert spans["otel_metrics_sum"] == spans["otel_metrics_histogram"] == {span_id}
    filtered = [a for row in sums for a in row[READBACK["otel_metrics_sum"].index("Exemplars.FilteredAttributes")]]
    assert filtered and all(a.keys() == {"user"} for a in filtered)


def test_resource_and_scope_are_stored_with_every_point(store):
    collections, _, _ = collect_twice(DELTA)
    with running_collector(store) as service:
        exporter = metric_exporter("http", service)
        assert exporter.export(collections[0]) == MetricExportResult.SUCCESS
    expected = ("metrics-svc", {"host.cores": "2", "service.name": "metrics-svc"}, RESOURCE_URL, "py.metrics",
                "1.0.0", {"scope.n": "7"}, SCOPE_URL, 0)
    for table in READBACK:
        heads = store.query(
            "SELECT ServiceName, ResourceAttributes, ResourceSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, "
            f"ScopeSchemaUrl, ScopeDroppedAttrCount FROM {table}")
        assert heads and all(head == expected for head in heads), table
