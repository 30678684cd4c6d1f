"""Poison-request benchmark: what validation, tolerant decoding and isolation cost.

In process, on the embedded engine in a temporary directory, with requests shaped like
`bench_ingest.py`'s (GenAI spans, ~15 attributes). Prints milliseconds (best of
`--repeat`) for:
- the strict decode, the span rules (`check_spans`) and the nesting probe of a clean request;
- decoding the same request with one span spoiled (invalid UTF-8; values nested 90 deep),
  protobuf and OTLP/JSON, and with every span spoiled (the hostile case the repair budget bounds);
- writing it when the database refuses 1 or 16 of its spans (a CHECK constraint): the
  isolation's inserts and wall time.

    python tests/benchmarks/bench_poison.py [--spans 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402

from agentmortem.collector.convert import check_spans, request_to_batch  # noqa: E402
from agentmortem.collector.metrics import CollectorMetrics  # noqa: E402
from agentmortem.collector.migrations import migrate_collector  # noqa: E402
from agentmortem.collector.nesting import renders_natively  # noqa: E402
from agentmortem.collector.payload import parse_otlp_json, parse_protobuf  # noqa: E402
from agentmortem.collector.writer import Admitted, GroupCommitWriter, WriterLimits  # noqa: E402
from agentmortem.platform.store import Store  # noqa: E402
from tests.support.pressure import genai_request  # noqa: E402
from tests.support.sdk_spans import otlp_json  # noqa: E402
from tests.support.writer_queue import submit  # noqa: E402

MARK = "@@@@"


def best_ms(repeat: int, action: Callable[..., object], *args: object) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action(*args)
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def spoiled(spans: int, every: bool, kind: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest.FromString(genai_request(spans))
    targets = request.resource_spans[0].scope_spans[0].spans
    for span in targets if every else targets[spans // 2: spans // 2 + 1]:
        kv = span.attributes.add()
        kv.key = "spoiled"
        if kind == "utf8":
            kv.value.string_value = MARK
        else:
            value = kv.value
            for _ in range(90):
                value = value.array_value.values.add()
    return request


def spoil(body: bytes) -> bytes:
    return body.replace(MARK.encode(), b"a\xffb\xfe")


def decoding(spans: int, repeat: int) -> None:
    clean = genai_request(spans)
    request = ExportTraceServiceRequest.FromString(clean)
    print(f"clean request: {spans} spans, {len(clean) / 1e6:.1f} MB")
    print(f"  strict decode            {best_ms(repeat, ExportTraceServiceRequest.FromString, clean):8.1f} ms")
    print(f"  span rules (check_spans) {best_ms(repeat, check_spans, request):8.1f} ms")
    print(f"  nesting probe            {best_ms(repeat, renders_natively, clean):8.1f} ms")
    print(f"  conversion (reference)   {best_ms(repeat, request_to_batch, request):8.1f} ms")
    text = otlp_json(request)
    print(f"  OTLP/JSON decode ({len(text) / 1e6:.1f} MB) {best_ms(repeat, parse_otlp_json, text):8.1f} ms")
    for every in (False, True):
        for kind in ("utf8", "deep"):
            message = spoiled(spans, every, kind)
            body = spoil(message.SerializeToString())
            text = spoil(otlp_json(message))
            decoded = parse_protobuf(body)
            what = f"{'every span' if every else 'one span'} {kind}"
            print(f"{what:<16} protobuf {len(body) / 1e6:5.1f} MB {best_ms(repeat, parse_protobuf, body):8.1f} ms"
                  f"  json {len(text) / 1e6:5.1f} MB {best_ms(repeat, parse_otlp_json, text):8.1f} ms"
                  f"  kept {len(decoded.request.resource_spans[0].scope_spans[0].spans) if decoded.request.resource_spans else 0}"
                  f", {decoded.salvage.message()[:90] if decoded.salvage else ''}")


def isolation(spans: int, folder: str) -> None:
    store = Store(f"chdb://{folder}", database="bench")
    migrate_collector(store)
    store.command("ALTER TABLE otel_traces ADD CONSTRAINT no_poison CHECK SpanName != 'poison'")
    limits = WriterLimits(batch_max_spans=10**6, batch_max_delay_s=0.001, native_min_spans=10**9)
    for refused in (0, 1, 16):
        request = ExportTraceServiceRequest.FromString(genai_request(spans))
        targets = request.resource_spans[0].scope_spans[0].spans
        for i in range(refused):
            targets[(i * 7919) % spans].name = "poison"
        for span in targets:
            span.span_id = uuid.uuid4().bytes[:8]
        metrics = CollectorMetrics()
        writer = GroupCommitWriter(store, limits, metrics)
        writer.start()
        started = time.perf_counter()
        result = submit(writer, Admitted(request.SerializeToString(), None, spans)).result(600)
        elapsed = time.perf_counter() - started
        writer.stop()
        inserts = metrics.inserts.labels("ok")._value.get() + metrics.inserts.labels("error")._value.get()
        print(f"refused {refused:2}: {elapsed * 1000:8.0f} ms, {inserts:.0f} inserts, "
              f"stored {result.accepted}, rejected {result.rejected}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    decoding(args.spans, args.repeat)
    folder = tempfile.mkdtemp(prefix="bench-poison-")
    try:
        isolation(args.spans, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
