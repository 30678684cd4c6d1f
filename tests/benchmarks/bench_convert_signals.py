"""Conversion benchmark for logs and metrics: records (data points) per second, decode + convert + serialise.

Builds one OTLP logs request of GenAI-shaped log records (event name, eight attributes, a
kvlist body, trace context) and one metrics request spread over the five point types (with
exemplars), then times, single-threaded: protobuf decode, `logs_to_batch` / `metrics_to_batch`
and the `JSONColumns` payload. The insert itself is not timed (see bench_ingest.py for end to end).

    python tests/benchmarks/bench_convert_signals.py [--records 5000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest  # noqa: E402
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest  # noqa: E402
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord  # noqa: E402

from agentmortem.collector.convert_logs import logs_payload, logs_to_batch  # noqa: E402
from agentmortem.collector.convert_metrics import metrics_to_batch, table_payload  # noqa: E402
from agentmortem.platform.signal_tables import METRIC_TABLES  # noqa: E402
from tests.support.otlp_logs import any_value, key_values, log_request  # noqa: E402

BASE_NS = 1_765_000_000_000_000_000


def logs_bytes(records: int) -> bytes:
    out = []
    for i in range(records):
        record = LogRecord(time_unix_nano=BASE_NS + i, observed_time_unix_nano=BASE_NS + i, severity_number=9,
                           severity_text="INFO", event_name="gen_ai.choice", trace_id=i.to_bytes(16, "big"),
                           span_id=(i + 1).to_bytes(8, "big"), flags=1)
        record.body.CopyFrom(any_value({"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": f"answer {i}"}}))
        record.attributes.extend(key_values({
            "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.response.id": f"resp-{i}",
            "gen_ai.operation.name": "chat", "session.id": f"s{i % 50}", "user.id": "u1", "attempt": i % 3,
            "latency": 0.25 + i,
        }))
        out.append(record)
    request = log_request(*out, resource={"service.name": "agent", "deployment.environment": "prod"})
    return request.SerializeToString()


def metrics_bytes(points: int) -> bytes:
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    resource.resource.attributes.extend(key_values({"service.name": "agent"}))
    scope = resource.scope_metrics.add()
    scope.scope.name = "gen_ai"
    per = max(points // 5, 1)
    kinds = ("gauge", "sum", "histogram", "exponential_histogram", "summary")
    for kind in kinds:
        metric = scope.metrics.add(name=f"gen_ai.{kind}", unit="s", description=kind)
        data = getattr(metric, kind)
        for i in range(per):
            point = data.data_points.add(start_time_unix_nano=BASE_NS, time_unix_nano=BASE_NS + i)
            point.attributes.extend(key_values({"gen_ai.request.model": "gpt-4o", "gen_ai.token.type": "input",
                                                "series": i % 100}))
            if kind in ("gauge", "sum"):
                point.as_double = i * 0.5
            elif kind == "histogram":
                point.count, point.sum, point.min, point.max = 4, 10.0, 1.0, 4.0
                point.explicit_bounds.extend([0.1, 0.5, 1, 2.5, 5, 10])
                point.bucket_counts.extend([0, 0, 1, 1, 2, 0, 0])
            elif kind == "exponential_histogram":
                point.count, point.sum, point.scale = 4, 10.0, 3
                point.positive.offset = 2
                point.positive.bucket_counts.extend([1, 2, 1])
            else:
                point.count, point.sum = 4, 10.0
                point.quantile_values.add(quantile=0.5, value=2.0)
                point.quantile_values.add(quantile=0.99, value=4.0)
            if kind != "summary" and i % 4 == 0:
                point.exemplars.add(time_unix_nano=BASE_NS + i, as_double=1.0, trace_id=bytes(range(16)),
                                    span_id=bytes(range(8)))
    return request.SerializeToString()


def rate(label: str, seconds: float, work, count: int) -> None:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        work()
        done += count
    elapsed = time.perf_counter() - started
    print(f"{label}: {done / elapsed:,.0f}/s ({done} in {elapsed:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    logs, metrics = logs_bytes(args.records), metrics_bytes(args.records)

    def convert_logs() -> None:
        logs_payload(logs_to_batch(ExportLogsServiceRequest.FromString(logs), "tenant"))

    def convert_metrics() -> None:
        batch = metrics_to_batch(ExportMetricsServiceRequest.FromString(metrics), "tenant")
        for table in METRIC_TABLES:
            table_payload(batch, table)

    rate("log records (decode + convert + JSONColumns)", args.seconds, convert_logs, args.records)
    rate("data points (decode + convert + JSONColumns)", args.seconds, convert_metrics, args.records // 5 * 5)


if __name__ == "__main__":
    main()
