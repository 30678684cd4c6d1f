"""Deep and wide trees benchmark: analysis, API and `explain` on extreme trace shapes.

    python tests/benchmarks/bench_deep_trees.py                 # 20,000 deep, 50,000 wide
    python tests/benchmarks/bench_deep_trees.py --depth 5000 --width 10000

Shapes (tests/support/trace_shapes.py, emitted through the OTel SDK and stored the collector's way):
a chain `--depth` levels deep failing at every level, a chain of `--depth` nested sub-agents,
`--width` calls to as many tools all failing, and `--width` calls half of them sub-agents.
Each is analyzed by the real pipeline (`analyze_traces`); then the API (TestClient, in process)
serves the deep chain's page, tree, events and explanation, and `agentmortem explain` prints it.
Everything here grows linearly with the shape: a figure several times the size ratio between
two runs of this script points at a quadratic step.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agentmortem.analyzer.api.settings import ApiSettings  # noqa: E402
from agentmortem.analyzer.core.model import TraceKey  # noqa: E402
from agentmortem.analyzer.core.rule_context import RuleSettings  # noqa: E402
from agentmortem.analyzer.engine.migrations import migrate_analyzer  # noqa: E402
from agentmortem.analyzer.engine.pipeline import analyze_traces  # noqa: E402
from agentmortem.cli.explain import explain_command  # noqa: E402
from agentmortem.collector.migrations import migrate_collector  # noqa: E402
from agentmortem.platform.store import Store  # noqa: E402
from tests.support.api_client import make_client  # noqa: E402
from tests.support.demo_traces import START_NS  # noqa: E402
from tests.support.trace_shapes import chain, store_all, wide  # noqa: E402

HOUR = 3600 * 10**9


def analyzed(store: Store, label: str, shape: tuple) -> str:
    spans, _ = shape
    trace_id = store_all(store, spans)
    t = time.perf_counter()
    result = analyze_traces(store, [TraceKey("", trace_id)], RuleSettings())
    print(f"analyze {label:<44} {time.perf_counter() - t:7.2f} s   ({len(spans):,} spans, {result.runs:,} runs)")
    return trace_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=20_000)
    parser.add_argument("--width", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="bench-deep-")
    try:
        run(args, Store(f"chdb://{data}"))
    finally:
        shutil.rmtree(data, ignore_errors=True)


def run(args: argparse.Namespace, store: Store) -> None:
    d, w = args.depth, args.width
    migrate_collector(store)
    migrate_analyzer(store)
    deep = analyzed(store, f"chain {d:,} deep, failing at every level", chain(d))
    analyzed(store, f"chain of {d:,} nested sub-agents", chain(d, agents=True, start_ns=START_NS + HOUR))
    analyzed(store, f"{w:,} calls to {w:,} tools, all failing",
             wide(w, range(w), START_NS + 2 * HOUR, tool=lambda i: f"tool_{i}"))
    analyzed(store, f"{w:,} calls, half of them sub-agents",
             wide(w, (), START_NS + 3 * HOUR, agent=lambda i: i % 2 == 0))

    api = make_client(store, api=ApiSettings(rate_limit_per_hour=0, api_max_spans=max(d, 20_000)))
    for path in (f"/runs/{deep}", f"/v1/runs/{deep}/tree", f"/v1/runs/{deep}/events", f"/v1/runs/{deep}/explanation"):
        times, size = [], 0
        for _ in range(args.requests):
            t = time.perf_counter()
            r = api.get(path)
            times.append(time.perf_counter() - t)
            assert r.status_code == 200, (path, r.status_code, r.text[:200])
            size = len(r.content)
        label = "GET " + path.replace(deep, "{id}")
        print(f"{label:<52} median {statistics.median(times):6.2f} s   ({size / 1e6:.2f} MB, {d:,}-deep chain)")
    t = time.perf_counter()
    explain_command(store, deep, RuleSettings(), Console(file=io.StringIO(), width=160))
    print(f"{'agentmortem explain':<52} {time.perf_counter() - t:13.2f} s   ({d:,}-deep chain, already analyzed)")


if __name__ == "__main__":
    main()
