"""API benchmark: latency of the query API over ~1M stored spans, and of a 2,000-span run page.

    python tests/benchmarks/bench_api.py                  # 1,000,000 spans (~54,000 runs)
    python tests/benchmarks/bench_api.py --spans 200000   # smaller
    python tests/benchmarks/bench_api.py --requests 300

Data: the analyzer benchmark's generator (SDK-emitted template runs copied inside
ClickHouse with fresh ids), analyzed by the real scheduler; plus one 2,001-span run.
The API is served by uvicorn over HTTP in this process and timed with a keep-alive
httpx client, sequentially. Targets: p99 ≤ 50 ms for a run's explanation, ≤ 300 ms
for `/v1/stats`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agentmortem.analyzer.api.app import build_app  # noqa: E402
from agentmortem.analyzer.api.service import make_context  # noqa: E402
from agentmortem.analyzer.api.settings import ApiSettings  # noqa: E402
from agentmortem.analyzer.core.model import TraceKey  # noqa: E402
from agentmortem.analyzer.core.rule_context import RuleSettings  # noqa: E402
from agentmortem.analyzer.engine.config import AnalyzerSettings  # noqa: E402
from agentmortem.analyzer.engine.migrations import migrate_analyzer  # noqa: E402
from agentmortem.analyzer.engine.pipeline import analyze_traces  # noqa: E402
from agentmortem.analyzer.engine.scheduler import Scheduler  # noqa: E402
from agentmortem.collector.migrations import migrate_collector  # noqa: E402
from agentmortem.demo.emit import Emitter  # noqa: E402
from agentmortem.demo.scenarios import AGENT, TOOLS  # noqa: E402
from agentmortem.platform.hosting import bind_socket  # noqa: E402
from agentmortem.platform.settings import AuthSettings  # noqa: E402
from agentmortem.platform.store import Store  # noqa: E402
from tests.support.bench_corpus import DAY_NS, generate, make_templates  # noqa: E402
from tests.support.demo_traces import store_spans  # noqa: E402


def big_run(store: Store, pairs: int) -> str:
    """One run of 2·pairs + 1 spans (model call + tool call pairs); returns its trace id."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    em = Emitter(provider.get_tracer("bench"), "genai", time.time_ns() - DAY_NS // 4)
    with em.agent(AGENT, "Check the weather everywhere") as run:
        for i in range(pairs):
            em.llm(tool_calls=[("get_weather", {"city": f"City{i}"})], tools=TOOLS)
            em.tool("get_weather", {"city": f"City{i}"}, {"city": f"City{i}", "temp_c": i % 30})
        run["answer"] = "Done."
    spans = list(exporter.get_finished_spans())
    store_spans(store, spans)
    trace_id = format(spans[0].context.trace_id, "032x")
    analyze_traces(store, [TraceKey("", trace_id)], RuleSettings())
    return trace_id


def serve(store: Store) -> tuple[str, uvicorn.Server, threading.Thread]:
    app = build_app(make_context(store, ApiSettings(rate_limit_per_hour=0), AuthSettings(), None))
    sock = bind_socket("127.0.0.1", 0)
    sock.setblocking(True)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def timed(http: httpx.Client, urls: list[str], n: int, target_ms: float | None, label: str) -> None:
    for url in urls[:3]:  # warm-up
        assert http.get(url).status_code == 200, url
    times = []
    for i in range(n):
        url = urls[i % len(urls)]
        t = time.perf_counter()
        r = http.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.text[:200])
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    goal = f" — target p99 ≤ {target_ms:.0f} ms {'OK' if p99 <= target_ms else 'MISSED'}" if target_ms else ""
    print(f"{label:<44} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   ({n} requests){goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-api-"))
    store = Store(f"chdb://{data}")
    migrate_collector(store)
    migrate_analyzer(store)
    long_ids, fail_ids, fail_spans = make_templates(store)
    t = time.perf_counter()
    generate(store, args.spans, 0, time.time_ns() - DAY_NS, 10**6, long_ids, fail_ids, fail_spans)
    spans = store.query("SELECT count() FROM otel_traces")[0][0]
    print(f"generated {spans:,} spans in {time.perf_counter() - t:.1f}s")
    t = time.perf_counter()
    settings = AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0, abandon_after_seconds=0.001,
                                analyzer_batch_traces=5000)
    result = Scheduler(store, settings, RuleSettings()).run_once()
    print(f"analyzed {result.runs:,} runs in {time.perf_counter() - t:.1f}s")
    big = big_run(store, 1000)
    print(f"stored and analyzed one run of {store.query('SELECT count() FROM otel_traces WHERE TraceId = {t:String}', {'t': big})[0][0]:,} spans")

    url, server, thread = serve(store)
    sample = store.query("SELECT RunId, TraceId FROM agent_runs FINAL WHERE FailureClass != '' ORDER BY cityHash64(RunId) LIMIT 500")
    run_ids = [r[0] for r in sample]
    with httpx.Client(base_url=url, timeout=60) as http:
        total = http.get("/v1/runs", params={"limit": 1}).json()["total"]
        print(f"API over {total:,} runs, {spans:,} spans (2 cores, embedded chDB, sequential keep-alive requests)")
        timed(http, ["/v1/runs?limit=50", "/v1/runs?outcome=failed&limit=50",
                     "/v1/runs?agent_id=travel_assistant&failure_class=tool_error&limit=50",
                     "/v1/runs?status=failed&min_cost=0.0001&sort=-duration_ms&limit=50"],
              args.requests, None, "GET /v1/runs (filtered, with total)")
        timed(http, [f"/v1/runs/{r}/explanation" for r in run_ids], args.requests, 50, "GET /v1/runs/{id}/explanation")
        timed(http, [f"/v1/runs/{r}" for r in run_ids], args.requests, None, "GET /v1/runs/{id}")
        timed(http, ["/v1/stats", "/v1/stats?agent_id=travel_assistant"], max(20, args.requests // 5), 300,
              "GET /v1/stats")
        timed(http, ["/v1/agents"], 20, None, "GET /v1/agents")
        timed(http, ["/v1/tools"], 5, None, "GET /v1/tools (raw spans)")
        timed(http, [f"/runs/{big}"], 10, None, "GET /runs/{id} page, 2,001-span run")
        timed(http, [f"/v1/runs/{big}/tree"], 10, None, "GET /v1/runs/{id}/tree, 2,001-span run")
        page = http.get(f"/runs/{big}")
        rows = page.text.count('class="span ')
        print(f"run page size: {len(page.content) / 1024:.0f} KiB, {rows} span rows")
    server.should_exit = True
    thread.join(10)
    store.close()
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
