"""Precision on the framework corpus: per framework (and instrumentation), healthy runs flagged (must be 0),
failures given the right class, and root causes on the right span; then each miss.

    python tests/benchmarks/corpus_precision.py            # the whole corpus (tests/corpus/frameworks)
    python tests/benchmarks/corpus_precision.py langgraph  # frameworks whose name starts so
    python tests/benchmarks/corpus_precision.py --rules    # also: per expected failure class

Each recorded run is sent to a collector over OTLP/HTTP (as its SDK would), stored in a fresh
embedded store, analyzed, and its top-level run's verdict compared with the label.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agentmortem.analyzer.engine.migrations import migrate_analyzer  # noqa: E402
from agentmortem.collector.migrations import migrate_collector  # noqa: E402
from agentmortem.platform.store import Store  # noqa: E402
from tests.support.corpus import analyze_corpus, corpus_runs, format_report, replay, score  # noqa: E402
from tests.support.inprocess_collector import running_collector  # noqa: E402


def by_class(runs, verdicts) -> str:  # noqa: ANN001
    """Per expected failure class: runs, class right, root right."""
    total, cls, root = Counter(), Counter(), Counter()
    for run in runs:
        if run.expected is None:
            continue
        want = run.expected["failure_class"]
        v = verdicts.get(run.name)
        total[want] += 1
        cls[want] += bool(v and v.failure_class == want)
        root[want] += bool(v and v.root_cause_span_id == run.expected["root_cause_span_id"])
    lines = [f"{'expected class':22} {'runs':>5} {'class':>6} {'root':>6}"]
    lines += [f"{name:22} {n:5d} {cls[name]:6d} {root[name]:6d}" for name, n in sorted(total.items())]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frameworks", nargs="*", help="only frameworks whose name starts with one of these")
    parser.add_argument("--rules", action="store_true", help="also print the scores per expected failure class")
    args = parser.parse_args()
    runs = [r for r in corpus_runs() if not args.frameworks or r.framework.startswith(tuple(args.frameworks))]
    if not runs:
        sys.exit("no recorded run matches")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"chdb://{tmp}")
        migrate_collector(store)
        migrate_analyzer(store)
        with running_collector(store) as collector:
            replay(collector.http_port, runs)
        verdicts = analyze_corpus(store, runs)
        print(format_report(score(runs, verdicts)))
        if args.rules:
            print()
            print(by_class(runs, verdicts))
        store.close()


if __name__ == "__main__":
    main()
