"""What every recorder shares: capture a framework run's spans in memory, pick labelled spans, and save
the run into the corpus (`tests/corpus/frameworks/<framework>/`: one `.pb` per run, `manifest.json`).

A recorder (`tests/corpus/record/<framework>.py`) runs in a virtualenv of its own with the pins of
`tests/corpus/record/<framework>.txt`, with the repository root on PYTHONPATH:

    rec = Recorder("langgraph", versions={"langgraph": "1.0.3", ...})
    with rec.run("openinference", "tool_raises", shape="react") as run:
        ... run the framework once (a fake or scripted model; no network) ...
    run.expect("tool_error", run.span(name="lookup_order", error=True), "the tool span that raised")
    rec.write()   # the .pb files and manifest.json

The label is the scenario's truth, decided by how the scenario was built, never by what agentmortem
says about it. Healthy runs carry no label (`expected` is null).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "frameworks"
_EXPORTER = InMemorySpanExporter()
_PROVIDER: TracerProvider | None = None


def tracer_provider(service: str = "corpus-agent") -> TracerProvider:
    """The process's one global tracer provider, keeping finished spans in memory (instrumentations
    bind to the global provider once, so every run of a recorder shares it)."""
    global _PROVIDER
    if _PROVIDER is None:
        _PROVIDER = TracerProvider(resource=Resource.create({"service.name": service}))
        _PROVIDER.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(_PROVIDER)
    return _PROVIDER


def span_id(span: ReadableSpan) -> str:
    return format(span.context.span_id, "016x")


def trace_id(span: ReadableSpan) -> str:
    return format(span.context.trace_id, "032x")


@dataclass
class Run:
    """One recorded run: its spans and, for a failure, the expected verdict."""

    instrumentation: str
    scenario: str
    shape: str
    spans: list[ReadableSpan] = field(default_factory=list)
    expected: dict[str, Any] | None = None
    notes: str = ""

    def span(self, name: str | None = None, *, contains: str | None = None, attr: tuple[str, Any] | None = None,
             error: bool | None = None, index: int = 0) -> ReadableSpan:
        """The `index`-th span (in start order) matching every given test: exact `name`, `contains` in the
        name, attribute `attr` = (key, value), `error` status."""
        found = [s for s in sorted(self.spans, key=lambda s: s.start_time or 0)
                 if (name is None or s.name == name) and (contains is None or contains in s.name)
                 and (attr is None or (s.attributes or {}).get(attr[0]) == attr[1])
                 and (error is None or (s.status.status_code == StatusCode.ERROR) == error)]
        if len(found) <= index:
            raise LookupError(f"{self.scenario}: no span #{index} with name={name!r} contains={contains!r} "
                              f"attr={attr!r} error={error!r}; spans: {[s.name for s in self.spans]}")
        return found[index]

    def root(self) -> ReadableSpan:
        """The run's root span (the one without a parent)."""
        roots = [s for s in self.spans if s.parent is None]
        if len(roots) != 1:
            raise LookupError(f"{self.scenario}: {len(roots)} root spans: {[s.name for s in roots]}")
        return roots[0]

    def expect(self, failure_class: str, root_cause: ReadableSpan, why: str, failed_agent: str = "") -> None:
        """Label the run: the failure class the run should get and the span its root cause is, with the
        reason that span is the cause (and, for multi-agent runs, which agent failed)."""
        self.expected = {"failure_class": failure_class, "root_cause_span_id": span_id(root_cause),
                         "root_cause_span_name": root_cause.name, "why": why}
        if failed_agent:
            self.expected["failed_agent"] = failed_agent

    def label_with(self, label: Callable[[Run], None] | None) -> None:
        """Apply a scenario's labelling function; a label whose span is missing is reported, not raised
        (the run is still recorded, unlabelled: fix the scenario or the selector)."""
        if label is None:
            return
        try:
            label(self)
        except LookupError as exc:
            print(f"  LABEL FAILED: {exc}")

    def show(self) -> None:
        """Print the run's spans (kind, status, input → output, exceptions) and its label, to check a recording."""
        print(f"== {self.scenario} ({len(self.spans)} spans) {self.notes}")
        for s in sorted(self.spans, key=lambda s: s.start_time or 0):
            a = s.attributes or {}
            ev = [str((e.attributes or {}).get("exception.message", ""))[:60] for e in s.events if e.name == "exception"]
            kind = a.get("openinference.span.kind", a.get("gen_ai.operation.name", ""))
            print(f"   {s.name:<36} {kind!s:<12} {s.status.status_code.name:<5} "
                  f"{str(a.get('input.value', ''))[:60]!r} -> {str(a.get('output.value', ''))[:60]!r} {ev or ''}")
        if self.expected:
            print("   expect", self.expected["failure_class"], self.expected["root_cause_span_name"])

    @property
    def file(self) -> str:
        return f"{self.instrumentation}__{self.scenario}.pb"


class Recorder:
    """Collects runs of one framework and writes them to the corpus."""

    def __init__(self, framework: str, versions: dict[str, str], service: str | None = None) -> None:
        self.framework, self.versions = framework, versions
        self.provider = tracer_provider(service or f"{framework}-app")
        self.runs: list[Run] = []

    @contextmanager
    def run(self, instrumentation: str, scenario: str, shape: str = "") -> Iterator[Run]:
        """Capture the spans finished inside the block as one run."""
        self.provider.force_flush()
        _EXPORTER.clear()
        run = Run(instrumentation, scenario, shape)
        try:
            yield run
        finally:
            self.provider.force_flush()
            run.spans = list(_EXPORTER.get_finished_spans())
            _EXPORTER.clear()
            if not run.spans:
                raise RuntimeError(f"{scenario}: the run finished no span")
            self.runs.append(run)

    def write(self) -> Path:
        """Write every run's spans (one serialized `ExportTraceServiceRequest` each) and the manifest."""
        folder = CORPUS / self.framework
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for run in self.runs:
            if len({trace_id(s) for s in run.spans}) != 1:
                raise ValueError(f"{run.scenario}: spans of {len({trace_id(s) for s in run.spans})} traces; "
                                 "a run is one trace (wrap the framework call in one parent span)")
            if run.expected and run.expected["root_cause_span_id"] not in {span_id(s) for s in run.spans}:
                raise ValueError(f"{run.scenario}: the labelled root cause is not among the run's spans")
            (folder / run.file).write_bytes(encode_spans(run.spans).SerializeToString())
            entries.append({"file": run.file, "instrumentation": run.instrumentation, "scenario": run.scenario,
                            "shape": run.shape, "trace_id": trace_id(run.spans[0]), "spans": len(run.spans),
                            "healthy": run.expected is None, "expected": run.expected, "notes": run.notes})
        manifest = {"framework": self.framework, "versions": self.versions,
                    "recorder": f"tests/corpus/record/{self.framework}.py", "runs": entries}
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"{self.framework}: {len(entries)} runs written to {folder}")
        return folder
