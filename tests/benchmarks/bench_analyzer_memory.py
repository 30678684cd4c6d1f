"""Peak memory of the analyzer on huge traces, with and without the per-trace bound.

Stores `--traces` traces of `--spans` spans each (an agent calling a model and a tool in
turn, every model call carrying its last messages and the tool definitions), then runs
one analysis round in a fresh process per setting of `AGENTMORTEM_ANALYZER_MAX_SPANS_PER_TRACE`
and prints that process's peak RSS (VmHWM from /proc) and the round's time.

    .venv/bin/python tests/benchmarks/bench_analyzer_memory.py [--traces 2] [--spans 100000] [--bounds 20000,0]

A bound of 0 means none (every span of every trace loaded at once, as before the bound).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402

from agentmortem.analyzer.engine.migrations import migrate_analyzer  # noqa: E402
from agentmortem.collector.convert import request_to_batch  # noqa: E402
from agentmortem.collector.migrations import migrate_collector  # noqa: E402
from agentmortem.platform.schema import INSERT_COLUMNS, TRACES_TABLE  # noqa: E402
from agentmortem.platform.store import Store  # noqa: E402

TOOLS = json.dumps([{"type": "function", "name": f"tool_{i}", "description": "looks things up " * 8,
                     "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}} for i in range(4)])
CHUNK = 10_000


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def store_trace(store: Store, spans: int, start_ns: int) -> None:
    """One agent run of `spans` spans, inserted in chunks."""
    trace = bytes.fromhex(uuid.uuid4().hex)
    root = bytes.fromhex(uuid.uuid4().hex[:16])
    for first in range(0, spans, CHUNK):
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.append(_kv("service.name", "bench-memory"))
        scope = rs.scope_spans.add()
        for i in range(first, min(spans, first + CHUNK)):
            t = start_ns + i * 10**6
            span = scope.spans.add(trace_id=trace, span_id=root if i == 0 else bytes.fromhex(uuid.uuid4().hex[:16]),
                                   parent_span_id=b"" if i == 0 else root, start_time_unix_nano=t,
                                   end_time_unix_nano=start_ns + (spans + 1) * 10**6 if i == 0 else t + 5 * 10**5)
            if i == 0:
                span.name = "invoke_agent big-agent"
                span.attributes.extend([_kv("gen_ai.operation.name", "invoke_agent"),
                                        _kv("gen_ai.agent.name", "big-agent")])
            elif i % 2:
                span.name = "chat gpt-4o-mini"
                history = [{"role": "user", "parts": [{"type": "text", "content": f"step {j}: look up item {j}"}]}
                           for j in range(max(0, i - 6), i)]
                span.attributes.extend([_kv("gen_ai.operation.name", "chat"), _kv("gen_ai.request.model", "gpt-4o-mini"),
                                        _kv("gen_ai.input.messages", json.dumps(history)),
                                        _kv("gen_ai.tool.definitions", TOOLS)])
            else:
                span.name = "execute_tool tool_1"
                span.attributes.extend([_kv("gen_ai.operation.name", "execute_tool"), _kv("gen_ai.tool.name", "tool_1"),
                                        _kv("gen_ai.tool.call.arguments", json.dumps({"q": f"item {i}"})),
                                        _kv("gen_ai.tool.call.result", json.dumps({"item": i, "text": "x" * 300}))])
        batch = request_to_batch(request)
        store.insert_columns(TRACES_TABLE, batch.columns, INSERT_COLUMNS)


ROUND = """
import json, sys, time
from agentmortem.analyzer.engine.config import AnalyzerSettings
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.scheduler import Scheduler
from agentmortem.platform.store import Store
store = Store(sys.argv[1])
bound = int(sys.argv[2]) or 10**9
settings = AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0, abandon_after_seconds=0.001, analyzer_workers=0,
                            analyzer_max_spans_per_trace=bound)
t = time.perf_counter()
result = Scheduler(store, settings, RuleSettings()).run_once()
wall = time.perf_counter() - t
hwm = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:'))
print(json.dumps({"traces": result.analyzed, "runs": result.runs, "seconds": wall, "peak_rss_mb": hwm / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=2)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--bounds", default="20000,0", help="comma-separated per-trace bounds to run (0: none)")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-analyzer-memory-"))
    for bound in (int(b) for b in args.bounds.split(",")):
        # A fresh copy of the data per setting: the round's own process opens it (chDB: one per directory).
        url = f"chdb://{data / f'bound-{bound}'}"
        t = time.perf_counter()
        root = str(Path(__file__).resolve().parents[2])
        code = (f"import sys; sys.path.insert(0, {root!r}); from tests.benchmarks.bench_analyzer_memory import prepare; "
                f"prepare({url!r}, {args.traces}, {args.spans})")
        subprocess.run([sys.executable, "-c", code], check=True)
        made = time.perf_counter() - t
        out = subprocess.run([sys.executable, "-c", ROUND, url, str(bound)], check=True, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"bound {bound or 'none':>6}: {args.traces} traces x {args.spans:,} spans (stored in {made:.0f}s) → "
              f"{figures['runs']} runs in {figures['seconds']:.1f}s, peak RSS {figures['peak_rss_mb']:,.0f} MB")


def prepare(url: str, traces: int, spans: int) -> None:
    """Create the store at `url` holding the benchmark's traces."""
    store = Store(url)
    migrate_collector(store)
    migrate_analyzer(store)
    now = time.time_ns() - 86_400 * 10**9
    for i in range(traces):
        store_trace(store, spans, now + i * spans * 10**6)
    store.close()


if __name__ == "__main__":
    main()
