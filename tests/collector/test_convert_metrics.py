"""OTLP metrics → the five `otel_metrics_*` tables, rendered as the contrib exporter renders them, read back.

Points come from the real Python SDK (a `MeterProvider` with an in-memory reader, every exemplar
kept, recorded inside a span; encoded with the OTLP encoder) and, for what an SDK will not send
(summaries, NaN, untyped metrics, bad exemplar ids), from hand-built protobufs.
"""

from __future__ import annotations

import math

from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import Exemplar, Metric
from opentelemetry.sdk.metrics import AlwaysOnExemplarFilter, Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from agentmortem.collector.convert_metrics import check_data_points, insert_metrics, metrics_to_batch
from agentmortem.semconv.keys import TENANT
from tests.support.otlp_logs import key_values

HEAD = ("ServiceName", "MetricName", "MetricDescription", "MetricUnit", "Attributes", "ScopeName", "ScopeVersion",
        "ResourceAttributes", "toUnixTimestamp(TimeUnix)", "toUnixTimestamp(StartTimeUnix)", "Flags")
EXEMPLARS = ("Exemplars.TraceId", "Exemplars.SpanId", "Exemplars.Value", "Exemplars.FilteredAttributes",
             "arrayMap(t -> toUnixTimestamp(t), Exemplars.TimeUnix)")


def read(store, table: str, *columns: str) -> list[dict]:
    names = HEAD + columns
    rows = store.query(f"SELECT {', '.join(names)} FROM {table} ORDER BY MetricName, toString(Attributes)")
    return [dict(zip(names, row)) for row in rows]


def sdk_request():
    reader = InMemoryMetricReader(preferred_temporality={Counter: AggregationTemporality.DELTA})
    provider = MeterProvider(
        metric_readers=[reader], exemplar_filter=AlwaysOnExemplarFilter(),
        resource=Resource.create({"service.name": "agent-svc"}),
        views=[View(instrument_name="gen_ai.exp", aggregation=ExponentialBucketHistogramAggregation())],
    )
    meter = provider.get_meter("gen_ai.meter", "0.9")
    tokens = meter.create_counter("gen_ai.client.token.usage.total", unit="{token}", description="tokens used")
    inflight = meter.create_up_down_counter("gen_ai.inflight")
    gauge = meter.create_gauge("gen_ai.temperature")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    exp = meter.create_histogram("gen_ai.exp")
    with TracerProvider().get_tracer("t").start_as_current_span("chat") as span:
        tokens.add(7, {"gen_ai.token.type": "input"})
        tokens.add(5, {"gen_ai.token.type": "input"})
        inflight.add(3)
        gauge.set(0.25, {"model": "m"})
        duration.record(0.5)
        duration.record(12.0)
        exp.record(3.0)
        exp.record(0.001)
        context = span.get_span_context()
    return encode_metrics(reader.get_metrics_data()), context


def test_sdk_points_are_stored_as_the_exporter_writes_them(store):
    request, context = sdk_request()
    batch = metrics_to_batch(request, "team-a")
    assert (batch.check.accepted, batch.check.rejected, batch.count) == (5, 0, 5)
    insert_metrics(store, batch)
    trace_hex, span_hex = format(context.trace_id, "032x"), format(context.span_id, "016x")
    point = request.resource_metrics[0].scope_metrics[0].metrics[0]
    time_s = next(iter([p for p in getattr(point, point.WhichOneof("data")).data_points])).time_unix_nano // 10**9

    (total, inflight) = read(store, "otel_metrics_sum", "Value", "AggregationTemporality", "IsMonotonic", *EXEMPLARS)
    assert total["ServiceName"] == "agent-svc"
    assert total["ResourceAttributes"][TENANT] == "team-a"
    assert (total["MetricName"], total["MetricDescription"], total["MetricUnit"]) == (
        "gen_ai.client.token.usage.total", "tokens used", "{token}")
    assert (total["ScopeName"], total["ScopeVersion"]) == ("gen_ai.meter", "0.9")
    assert total["Attributes"] == {"gen_ai.token.type": "input"}
    assert (total["Value"], total["AggregationTemporality"], total["IsMonotonic"]) == (12.0, 1, True)  # delta
    assert total["toUnixTimestamp(TimeUnix)"] == time_s  # DateTime: whole seconds
    assert set(total["Exemplars.TraceId"]) == {trace_hex} and set(total["Exemplars.SpanId"]) == {span_hex}
    sent = request.resource_metrics[0].scope_metrics[0]
    sent_total = next(m for m in sent.metrics if m.name == "gen_ai.client.token.usage.total").sum.data_points[0]
    assert total["Exemplars.Value"] == [float(e.as_int) for e in sent_total.exemplars]
    assert total["Exemplars.Value"] and set(total["Exemplars.Value"]) <= {5.0, 7.0}
    assert (inflight["Value"], inflight["AggregationTemporality"], inflight["IsMonotonic"]) == (3.0, 2, False)

    (gauge,) = read(store, "otel_metrics_gauge", "Value", *EXEMPLARS)
    assert (gauge["Value"], gauge["Attributes"], gauge["Exemplars.Value"]) == (0.25, {"model": "m"}, [0.25])

    (hist,) = read(store, "otel_metrics_histogram", "Count", "Sum", "BucketCounts", "ExplicitBounds", "Min", "Max",
                   "AggregationTemporality", *EXEMPLARS)
    assert (hist["Count"], hist["Sum"], hist["Min"], hist["Max"]) == (2, 12.5, 0.5, 12.0)
    assert hist["ExplicitBounds"][:3] == [0.0, 5.0, 10.0] and sum(hist["BucketCounts"]) == 2
    assert hist["AggregationTemporality"] == 2  # cumulative
    assert set(hist["Exemplars.TraceId"]) == {trace_hex}

    (exp,) = read(store, "otel_metrics_exponential_histogram", "Count", "Sum", "Scale", "ZeroCount",
                  "PositiveOffset", "PositiveBucketCounts", "NegativeBucketCounts", "Min", "Max")
    sent_exp = next(m for m in sent.metrics if m.name == "gen_ai.exp").exponential_histogram.data_points[0]
    assert (exp["Count"], exp["Sum"], exp["Min"], exp["Max"]) == (2, 3.001, 0.001, 3.0)
    assert (exp["Scale"], exp["ZeroCount"], exp["PositiveOffset"]) == (
        sent_exp.scale, sent_exp.zero_count, sent_exp.positive.offset)
    assert exp["PositiveBucketCounts"] == list(sent_exp.positive.bucket_counts) and sum(exp["PositiveBucketCounts"]) == 2
    assert exp["NegativeBucketCounts"] == list(sent_exp.negative.bucket_counts)


def _request(*metrics: Metric) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    resource.resource.attributes.extend(key_values({"service.name": 42, TENANT: "forged"}))
    scope = resource.scope_metrics.add()
    scope.scope.name = "lib"
    scope.scope.dropped_attributes_count = 3
    scope.schema_url = "https://opentelemetry.io/schemas/1.30.0"
    scope.metrics.extend(metrics)
    return request


def test_edges_summary_nan_untyped_and_bad_exemplars(store):
    summary = Metric(name="latency.summary")
    point = summary.summary.data_points.add(time_unix_nano=1_700_000_000_999_999_999, count=3, sum=float("nan"))
    point.quantile_values.add(quantile=0.5, value=1.5)
    point.quantile_values.add(quantile=0.99, value=float("inf"))
    nan_gauge = Metric(name="nan.gauge")
    nan_gauge.gauge.data_points.add(time_unix_nano=10**18, as_double=float("nan"))
    int_gauge = Metric(name="int.gauge")
    no_ids = int_gauge.gauge.data_points.add(time_unix_nano=10**18, as_int=-4, flags=1)
    no_ids.exemplars.add(as_int=9, time_unix_nano=10**18)
    bad = int_gauge.gauge.data_points.add(time_unix_nano=10**18, as_int=1)
    bad.exemplars.append(Exemplar(trace_id=b"\x01" * 3, as_double=1.0))
    int_gauge.gauge.data_points.add(time_unix_nano=2**33 * 10**9)  # after DateTime ends
    untyped = Metric(name="untyped")
    pointless = Metric(name="pointless")
    pointless.sum.is_monotonic = True
    request = _request(summary, nan_gauge, int_gauge, untyped, pointless)

    check = check_data_points(request)
    batch = metrics_to_batch(request)
    assert (check.accepted, check.rejected) == (batch.check.accepted, batch.check.rejected) == (3, 2)
    assert [why for why, _ in batch.check.reasons] == [
        "gauge data point 1 of 'int.gauge': exemplars[0].trace_id must be empty or 16 bytes (got 3)",
        "gauge data point 2 of 'int.gauge': time_unix_nano 8589934592000000000 is after 2106-02-07T06:28:15Z, "
        "the last time otel_metrics_* can store",
    ]
    assert batch.check.notes == ["metric 'untyped' of scope 'lib' has no data type: nothing stored"]
    assert batch.label(0) == "data point of 'nan.gauge'" and batch.label(2) == "data point of 'latency.summary'"
    insert_metrics(store, batch)

    (stored,) = read(store, "otel_metrics_summary", "Count", "Sum", "ValueAtQuantiles.Quantile",
                     "ValueAtQuantiles.Value", "ScopeDroppedAttrCount", "ScopeSchemaUrl")
    assert stored["ServiceName"] == "42"  # GetServiceName: AsString()
    assert TENANT not in stored["ResourceAttributes"]
    assert stored["toUnixTimestamp(TimeUnix)"] == 1_700_000_000
    assert stored["Count"] == 3 and math.isnan(stored["Sum"])
    assert stored["ValueAtQuantiles.Quantile"] == [0.5, 0.99] and stored["ValueAtQuantiles.Value"] == [1.5, math.inf]
    assert (stored["ScopeDroppedAttrCount"], stored["ScopeSchemaUrl"]) == (3, "https://opentelemetry.io/schemas/1.30.0")
    int_point, nan_point = read(store, "otel_metrics_gauge", "Value", *EXEMPLARS)
    assert math.isnan(nan_point["Value"])
    assert (int_point["Value"], int_point["Flags"], int_point["Exemplars.Value"]) == (-4.0, 1, [9.0])
    assert int_point["Exemplars.TraceId"] == ["0" * 32] and int_point["Exemplars.SpanId"] == ["0" * 16]
    assert store.query("SELECT count() FROM otel_metrics_sum") == [(0,)]


def test_batch_rows_run_table_by_table():
    request, _ = sdk_request()
    batch = metrics_to_batch(request)
    batch.extend(metrics_to_batch(request))
    assert batch.count == 10
    labels = [batch.label(i) for i in range(batch.count)]
    part = batch.rows(1, 9)
    assert part.count == 8
    assert [part.label(i) for i in range(part.count)] == labels[1:9]
    assert labels[:2] == ["data point of 'gen_ai.temperature'"] * 2  # gauge rows come first
