"""The framework corpus (`tests/corpus/`): its recorded runs, replayed through the OTLP receiver,
analyzed, and scored against their labels.

    runs = corpus_runs()
    with running_collector(store) as collector:
        replay(collector.http_port, runs)
    verdicts = analyze_corpus(store, runs)
    report = score(runs, verdicts)

The run scored is the trace's top-level run (no parent run): the one whose root is the trace's
root span, else the earliest. Healthy runs must get no failure class; a failed run's class and
root-cause span must be the label's.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.analyzer.engine.tables import AGENT_RUNS
from agentmortem.platform.store import Store

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "frameworks"


@dataclass(frozen=True)
class CorpusRun:
    """One recorded run and its label."""

    framework: str
    instrumentation: str
    scenario: str
    path: Path
    trace_id: str
    expected: dict | None  # None: healthy

    @property
    def name(self) -> str:
        return f"{self.framework}/{self.instrumentation}/{self.scenario}"

    @property
    def group(self) -> str:
        return f"{self.framework} ({self.instrumentation})"

    def root_span_id(self) -> str:
        request = ExportTraceServiceRequest.FromString(self.path.read_bytes())
        roots = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans if not s.parent_span_id]
        return roots[0].span_id.hex() if len(roots) == 1 else ""


def corpus_runs(root: Path = CORPUS) -> list[CorpusRun]:
    """Every run of every framework's manifest, in a stable order."""
    runs = []
    for manifest_path in sorted(root.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["runs"]:
            runs.append(CorpusRun(manifest["framework"], entry["instrumentation"], entry["scenario"],
                                  manifest_path.parent / entry["file"], entry["trace_id"], entry["expected"]))
    return runs


def replay(http_port: int, runs: list[CorpusRun]) -> None:
    """POST each run's recorded export to the collector's OTLP/HTTP receiver, as the SDK would."""
    with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=30) as client:
        for run in runs:
            reply = client.post("/v1/traces", content=run.path.read_bytes(),
                                headers={"content-type": "application/x-protobuf"})
            if reply.status_code != 200:
                raise RuntimeError(f"{run.name}: the receiver answered {reply.status_code}: {reply.text[:200]}")


@dataclass(frozen=True)
class Verdict:
    """What agentmortem said about a run's top-level run."""

    run_id: str
    failure_class: str
    root_cause_span_id: str
    signal_types: tuple[str, ...]
    outcome: str
    headline: str


def analyze_corpus(store: Store, runs: list[CorpusRun]) -> dict[str, Verdict]:
    """Analyze the replayed runs; each run's verdict by run name."""
    analyze_traces(store, sorted({TraceKey("", r.trace_id) for r in runs}), RuleSettings())
    c = AGENT_RUNS.c
    rows = store.query_dicts(
        f"SELECT {c.RunId} AS run_id, {c.TraceId} AS trace_id, {c.RootSpanId} AS root_span_id, "
        f"{c.FailureClass} AS failure_class, {c.RootCauseSpanId} AS root_cause, {c.SignalTypes} AS signals, "
        f"{c.Outcome} AS outcome, {c.Headline} AS headline, {c.Start} AS start FROM {AGENT_RUNS.final} "
        f"WHERE {c.ParentRunId} = '' AND {c.TraceId} IN {{ids:Array(String)}} ORDER BY start, run_id",
        {"ids": sorted({r.trace_id for r in runs})})
    by_trace: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_trace[row["trace_id"]].append(row)
    verdicts = {}
    for run in runs:
        candidates = by_trace.get(run.trace_id, [])
        if not candidates:
            continue
        root = run.root_span_id()
        top = next((r for r in candidates if r["root_span_id"] == root), candidates[0])
        verdicts[run.name] = Verdict(top["run_id"], top["failure_class"], top["root_cause"], tuple(top["signals"]),
                                     top["outcome"], top["headline"])
    return verdicts


@dataclass
class GroupScore:
    """One framework (and instrumentation): healthy runs flagged, failures classified and located."""

    healthy: int = 0
    flagged: list[str] = field(default_factory=list)
    failures: int = 0
    class_right: int = 0
    root_right: int = 0
    wrong: list[str] = field(default_factory=list)
    false_rules: Counter = field(default_factory=Counter)  # failure classes given to healthy runs

    @property
    def class_rate(self) -> float:
        return self.class_right / self.failures if self.failures else 1.0

    @property
    def root_rate(self) -> float:
        return self.root_right / self.failures if self.failures else 1.0


def score(runs: list[CorpusRun], verdicts: dict[str, Verdict]) -> dict[str, GroupScore]:
    """Per framework (and instrumentation), how the verdicts compare with the labels."""
    groups: dict[str, GroupScore] = defaultdict(GroupScore)
    for run in runs:
        g = groups[run.group]
        v = verdicts.get(run.name)
        if run.expected is None:
            g.healthy += 1
            if v is None or v.failure_class:
                g.flagged.append(f"{run.scenario}: {v.failure_class if v else 'no run found'}")
                g.false_rules[v.failure_class if v else "(no run)"] += 1
            continue
        g.failures += 1
        want_class, want_root = run.expected["failure_class"], run.expected["root_cause_span_id"]
        got_class = v.failure_class if v else "(no run)"
        got_root = v.root_cause_span_id if v else ""
        g.class_right += got_class == want_class
        g.root_right += got_root == want_root
        if got_class != want_class or got_root != want_root:
            g.wrong.append(f"{run.scenario}: expected {want_class} at {run.expected.get('root_cause_span_name')} "
                           f"({want_root}), got {got_class or 'no failure class'} at {got_root or '-'}")
    return dict(sorted(groups.items()))


def format_report(groups: dict[str, GroupScore], details: bool = True) -> str:
    """The per-framework table (and, with `details`, each miss)."""
    lines = [f"{'framework (instrumentation)':38} {'healthy':>7} {'flagged':>7} {'failures':>8} {'class':>7} {'root':>7}"]
    for name, g in groups.items():
        lines.append(f"{name:38} {g.healthy:7d} {len(g.flagged):7d} {g.failures:8d} "
                     f"{g.class_rate:7.0%} {g.root_rate:7.0%}")
    total = GroupScore()
    for g in groups.values():
        total.healthy += g.healthy
        total.flagged += g.flagged
        total.failures += g.failures
        total.class_right += g.class_right
        total.root_right += g.root_right
    lines.append(f"{'all':38} {total.healthy:7d} {len(total.flagged):7d} {total.failures:8d} "
                 f"{total.class_rate:7.0%} {total.root_rate:7.0%}")
    if details:
        for name, g in groups.items():
            for miss in g.flagged:
                lines.append(f"  {name}: healthy run flagged — {miss}")
            for miss in g.wrong:
                lines.append(f"  {name}: {miss}")
    return "\n".join(lines)
