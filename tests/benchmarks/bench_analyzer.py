"""Analyzer benchmark: full analysis of ~1M spans, incremental analysis of 1 % more, and serve latency.

    python tests/benchmarks/bench_analyzer.py                 # 1,000,000 spans (~54,000 runs)
    python tests/benchmarks/bench_analyzer.py --spans 200000  # smaller
    python tests/benchmarks/bench_analyzer.py --skip-serve
    python tests/benchmarks/bench_analyzer.py --compare-loads   # also: loading by trace id vs staged, alone
    python tests/benchmarks/bench_analyzer.py --ceilings        # also: where the full analysis' time goes
    python tests/benchmarks/bench_analyzer.py --tool-sets 8     # long runs offer 24 tools (~8 KB), as real agents
    python tests/benchmarks/bench_analyzer.py --repeat 3        # the full analysis 3 times from scratch, and the median

Data: realistic runs are emitted once through the OTel SDK (a 20-span healthy agent run
in both conventions, plus every failure scenario), stored like the collector stores
them, then copied inside ClickHouse with fresh trace/span ids and shifted times (one
`INSERT … SELECT` per template kind — column-wise, no Python per span); each copy of a
long run gets its own cities and country, so no two runs share a conversation (as real
runs do not; text-keyed caches in the rules would otherwise always hit). 90 % of runs
are long healthy runs, 10 % failure scenarios. Targets on 2 cores: full ≤ 30 s,
incremental (1 % new) ≤ 2 s, run end → explanation in `serve` ≤ 10 s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings, Shard
from agentmortem.analyzer.engine.load import analysis_select, load_baselines, query_payload, spans_payload, trace_keys
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_batches
from agentmortem.analyzer.engine.scheduler import Scheduler
from agentmortem.analyzer.engine.stage import RoundStage, create_canonical_table, stage_prefix, staged_batches
from agentmortem.analyzer.engine.workers import AnalysisWorkers
from agentmortem.analyzer.engine.write import EXPLANATIONS_TABLE, RUNS_TABLE, SIGNALS_TABLE
from agentmortem.collector.migrations import migrate_collector
from agentmortem.demo.scenarios import SCENARIOS
from agentmortem.platform.schema import TRACES_TABLE
from agentmortem.platform.store import Store

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.support.bench_corpus import DAY_NS, generate, make_templates  # noqa: E402


def compare_loads(store: Store, batch_traces: int) -> None:
    """CPU of loading every trace's canonical spans in batches, alone: by trace id vs through a round stage."""
    ids = trace_keys(store)
    batches = staged_batches(ids, batch_traces)
    figures = []
    for name in ("by trace id", "staged"):
        cpu, t = _cpu_seconds()[0], time.perf_counter()
        if name == "staged":
            with RoundStage(store, stage_prefix(Shard()), batches) as stage:
                size = sum(len(stage.payload(i)) for i in range(len(batches)))
        else:
            size = sum(len(spans_payload(store, b, for_analysis=True)) for b in batches)
        figures.append(f"{name} {_cpu_seconds()[0] - cpu:.1f} CPU-s ({time.perf_counter() - t:.1f}s, {size:,} bytes)")
    print(f"loading {len(ids):,} traces in {len(batches)} batches, alone: " + ", ".join(figures))


_RESULT_TABLES = (RUNS_TABLE, EXPLANATIONS_TABLE, SIGNALS_TABLE)


def _results_hash(store: Store) -> tuple:
    """The analysis tables' rows, hashed (versions and analysis times left out)."""
    return tuple(store.query(f"SELECT count(), sum(cityHash64(*)) FROM (SELECT * EXCEPT ({skip}) FROM {table} "
                             "FINAL WHERE NOT Deleted)")[0]
                 for table, skip in zip(_RESULT_TABLES, ("Version, AnalyzedAt", "Version", "Version")))


def _timed_batches(store: Store, settings: AnalyzerSettings, batches: list[list[TraceKey]],
                   load: Callable[[int], bytes]) -> tuple[float, float]:
    """Analyze and write `batches` as a round does (worker processes, overlapped I/O) into emptied result
    tables, so that `_results_hash` afterwards covers exactly what this analysis wrote; (wall s, CPU s)."""
    for table in _RESULT_TABLES:
        store.command(f"TRUNCATE TABLE {table}")
    workers = AnalysisWorkers(settings.analyzer_workers)
    baselines = load_baselines(store)
    t, cpu = time.perf_counter(), _cpu_seconds()
    for _ in analyze_batches(store, batches, RuleSettings(), baselines, workers=workers, load=load):
        pass
    wall = time.perf_counter() - t
    workers.close()
    return wall, sum(after - before for after, before in zip(_cpu_seconds(), cpu))


def ceilings(store: Store, settings: AnalyzerSettings) -> None:
    """Where a full analysis' time goes: the same round analyzed from a stage (as rounds do) and from
    canonical spans mapped beforehand (what mapping at ingest would leave to do), back to back; and what
    the canonical mapping would cost each insert as a materialized view on `otel_traces`."""
    ids = trace_keys(store)
    batches = staged_batches(ids, settings.analyzer_batch_traces)
    with RoundStage(store, stage_prefix(Shard()), batches) as stage:
        wall, cpu = _timed_batches(store, settings, batches, stage.payload)
    staged = _results_hash(store)
    print(f"ceilings: {len(ids):,} traces mapped and analyzed as a round does: {wall:.1f}s, {cpu:.1f} CPU-s")

    store.command("DROP TABLE IF EXISTS bench_canonical")
    create_canonical_table(store, "bench_canonical")
    t, before = time.perf_counter(), _cpu_seconds()[0]
    store.command(f"INSERT INTO bench_canonical {analysis_select(TRACES_TABLE, '1')}")
    print(f"  the canonical mapping alone, in one pass: {time.perf_counter() - t:.1f}s, "
          f"{_cpu_seconds()[0] - before:.1f} CPU-s")

    def premapped(i: int) -> bytes:
        return query_payload(store, "SELECT * FROM bench_canonical WHERE (tenant, trace_id) IN "
                                    "{keys:Array(Tuple(String, String))}", {"keys": [tuple(k) for k in batches[i]]})

    wall, cpu = _timed_batches(store, settings, batches, premapped)
    same = "same results" if _results_hash(store) == staged else "RESULTS DIFFER"
    print(f"  the same round from spans mapped beforehand: {wall:.1f}s, {cpu:.1f} CPU-s ({same})")
    store.command("DROP TABLE IF EXISTS bench_canonical")
    mapping_view_cost(store)


def mapping_view_cost(store: Store) -> None:
    """Time inserts of spans into a copy of `otel_traces` without and with the canonical mapping as a
    materialized view on it: its cost per insert and per span."""
    tables = ("bench_mv", "bench_mv_spans", "bench_mv_canonical")
    for table in tables:
        store.command(f"DROP TABLE IF EXISTS {table}")
    store.command(f"CREATE TABLE bench_mv_spans AS {TRACES_TABLE}")
    create_canonical_table(store, "bench_mv_canonical")
    sizes, costs = (1_000, 20_000), {}
    for view in (False, True):
        if view:
            store.command(f"CREATE MATERIALIZED VIEW bench_mv TO bench_mv_canonical AS "
                          f"{analysis_select('bench_mv_spans', '1')}")
        for n in sizes * 2:  # each size twice: the first insert of a kind warms up
            t = time.perf_counter()
            store.command(f"INSERT INTO bench_mv_spans SELECT * FROM {TRACES_TABLE} LIMIT {n}")
            costs[view, n] = time.perf_counter() - t
    for table in tables:
        store.command(f"DROP TABLE IF EXISTS {table}")
    small, big = sizes
    per_span = (costs[True, big] - costs[True, small] - costs[False, big] + costs[False, small]) / (big - small)
    fixed = costs[True, small] - costs[False, small] - per_span * small
    inserts = ", ".join(f"{n:,} spans {costs[False, n]:.2f}s → {costs[True, n]:.2f}s" for n in sizes)
    print(f"  the mapping as a materialized view, added to each insert: {fixed * 1000:.0f} ms + "
          f"{per_span * 1e6:.0f} µs per span ({inserts})")


def bench_store(spans: int, loads: bool = False, ceiling: bool = False, tool_sets: int = 1, repeat: int = 1) -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-analyzer-"))
    store = Store(f"chdb://{data}")
    migrate_collector(store)
    migrate_analyzer(store)
    long_ids, fail_ids, fail_spans = make_templates(store, tool_sets)
    now = time.time_ns()
    t = time.perf_counter()
    traces = generate(store, spans, 0, now - DAY_NS, 10**6, long_ids, fail_ids, fail_spans)
    stored = store.query("SELECT count() FROM otel_traces")[0][0]
    print(f"generated {stored:,} spans in ~{traces:,} traces in {time.perf_counter() - t:.1f}s")

    settings = AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0, abandon_after_seconds=0.001,
                                analyzer_batch_traces=5000)
    if loads:
        compare_loads(store, settings.analyzer_batch_traces)
    walls, first_hash = [], None
    for attempt in range(repeat):
        if attempt:  # analyze everything again from scratch: no results, no watermark, no trace state
            for table in (*_RESULT_TABLES, "agent_analysis_state", "agent_watermarks"):
                store.command(f"TRUNCATE TABLE {table}")
        sch = Scheduler(store, settings, RuleSettings())
        t, cpu = time.perf_counter(), _cpu_seconds()
        full = sch.run_once()
        walls.append(time.perf_counter() - t)
        sch.close()  # its worker processes: their CPU time is counted once they have exited
        own, workers = (after - before for after, before in zip(_cpu_seconds(), cpu))
        print(f"full analysis: {full.analyzed:,} traces, {full.runs:,} runs in {walls[-1]:.1f}s "
              f"({full.runs / walls[-1]:,.0f} runs/s, {settings.analyzer_workers} worker process(es)) — target ≤ 30 s")
        print(f"  CPU: {own:.1f}s in this process (engine, loading, writing) + {workers:.1f}s in workers (analysis)")
        results = _results_hash(store)
        first_hash = first_hash or results
        if results != first_hash:
            raise SystemExit("a repeated full analysis wrote other results than the first")
    if repeat > 1:
        print(f"full analysis, {repeat} runs: median {statistics.median(walls):.1f}s, min {min(walls):.1f}s, "
              f"max {max(walls):.1f}s (same results each time)")

    t = time.perf_counter()
    more = generate(store, spans // 100, 10_000_000, now - DAY_NS // 2, 10**6, long_ids, fail_ids, fail_spans)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    inc = sch.run_once()
    inc_s = time.perf_counter() - t
    print(f"incremental (1 % new: {more:,} traces stored in {gen_s:.1f}s): {inc.analyzed:,} traces, "
          f"{inc.runs:,} runs in {inc_s:.2f}s — target ≤ 2 s")
    t = time.perf_counter()
    idle = sch.run_once()
    print(f"idle round (nothing new): {time.perf_counter() - t:.3f}s, {idle.analyzed} traces")
    sch.close()
    if ceiling:
        ceilings(store, settings)
    store.close()
    shutil.rmtree(data, ignore_errors=True)


def _cpu_seconds() -> tuple[float, float]:
    """(this process, its exited children): user + system CPU seconds."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def bench_serve() -> None:
    """Start `serve` with defaults, send the demo, time each run's end → its analysis being written."""
    from agentmortem.demo.send import send_demo

    data = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    ready = data / "ready.json"
    env = {**os.environ, "AGENTMORTEM_CLICKHOUSE_URL": f"chdb://{data / 'db'}", "AGENTMORTEM_OTLP_GRPC_PORT": "0",
           "AGENTMORTEM_OTLP_HTTP_PORT": "0", "AGENTMORTEM_API_PORT": "0"}
    for key in [k for k in env if k.startswith("AGENTMORTEM_ANALYZER") or k.startswith("AGENTMORTEM_SETTLE")]:
        del env[key]
    proc = subprocess.Popen([sys.executable, "-m", "agentmortem", "serve", "--ready-file", str(ready)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not ready.exists():
            time.sleep(0.05)
        import json

        url = f"http://127.0.0.1:{json.loads(ready.read_text())['http_port']}"
        latencies = []
        for _ in range(5):
            before = _runs(url)
            send_demo(url, scenarios=[s for s in SCENARIOS if s.name == "tool_error"])
            ended = time.perf_counter()
            while _runs(url) <= before:
                time.sleep(0.05)
            latencies.append(time.perf_counter() - ended)
        print("serve (defaults): run end → explanation written: "
              + ", ".join(f"{x:.2f}s" for x in latencies) + f" (max {max(latencies):.2f}s) — target ≤ 10 s")
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data, ignore_errors=True)


def _runs(url: str) -> float:
    text = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
    match = re.search(r"^agentmortem_analyzer_runs_analysed_total ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--compare-loads", action="store_true",
                        help="before the full analysis, time loading the spans by trace id and through a round stage")
    parser.add_argument("--ceilings", action="store_true",
                        help="after the rounds, time a full analysis from a stage and from spans mapped beforehand, "
                             "and the mapping's cost as a materialized view on inserts")
    parser.add_argument("--tool-sets", type=int, default=1, metavar="N",
                        help="long runs offer N sets of 3 tools (default 1; 8 makes ~8 KB of definitions per call)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run the full analysis N times from scratch (this machine's speed drifts): each "
                             "run's figures, then the median")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs")
    if not args.skip_serve:
        bench_serve()  # first: chDB allows one data path per process, and this one is a subprocess
    bench_store(args.spans, args.compare_loads, args.ceilings, args.tool_sets, max(1, args.repeat))


if __name__ == "__main__":
    main()
