"""The analyzer's typed stages' data: runs, their span trees, signals and verdicts.

Frozen dataclasses (and a named tuple for the many run spans) passed between the pipeline stages
(load → build runs → detect signals → rank root cause → render post-mortem).
A `Run` holds its spans already in tree order with depth and step numbers, so rules
are pure functions over one `Run` and never touch the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from agentmortem.semconv.model import CanonicalSpan

Severity = Literal["info", "warning", "error", "critical"]
Outcome = Literal["failed", "degraded", "ok"]
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2, "critical": 3}


class _RunSpanFields(NamedTuple):
    span: CanonicalSpan
    depth: int  # 0 for the run's root
    step: int  # 1-based position in start-time order within the run
    children: tuple[str, ...] = ()  # span ids, in start order
    orphan: bool = False  # its parent was missing and it was attached to the root
    cost_usd: float | None = None  # span cost or priced from tokens (leaf LLM spans only)
    # `span.span_id`, kept as a field of its own: the rules read it tens of times per span.
    span_id: str = ""


class RunSpan(_RunSpanFields):
    """A span placed in its run's tree (`span_id` is always `span.span_id`).

    A named tuple, not a frozen dataclass: runs hold one per span, and a tuple is built several
    times faster (figures in docs/benchmarks.md). `runs` builds them
    with `tuple.__new__` straight from their seven values."""

    __slots__ = ()

    def __new__(cls, span: CanonicalSpan, depth: int, step: int, children: tuple[str, ...] = (),
                orphan: bool = False, cost_usd: float | None = None) -> RunSpan:
        return tuple.__new__(cls, (span, depth, step, children, orphan, cost_usd, span.span_id))

    # What `_replace` builds with: `span_id` follows `span`. (mypy models a named tuple's `_make` as a
    # plain function, so no classmethod can match its signature.)
    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> RunSpan:  # type: ignore[override]
        values = tuple(iterable)
        return tuple.__new__(cls, (*values[:6], values[0].span_id))


class TraceKey(NamedTuple):
    """What the analysis knows a trace by: its tenant and its trace id.

    Trace ids are chosen by clients and travel in `traceparent` headers to every service a
    request reaches, so two tenants may send spans under one trace id (by accident or on
    purpose). Their spans never meet: each (tenant, trace id) is analyzed on its own and its
    results are stored and read under both.
    """

    tenant: str
    trace_id: str


@dataclass(frozen=True)
class SubRunOutcome:
    """What a sub-run (a nested agent) came to, as its parent run sees it.

    Filled by the pipeline after analyzing the sub-run (children before parents), so
    the parent's `delegation_failure` rule can tell a failed delegation.
    """

    run_id: str  # the sub-run's root span id
    parent_span_id: str  # the span in the parent run that called the sub-agent
    agent_name: str = ""
    outcome: Outcome = "ok"
    failure_class: str = ""
    answered: bool = True  # the sub-agent returned a non-empty output
    root_cause: Signal | None = None  # where the sub-run's own failure began (its spans are not the parent's)
    root_cause_span_name: str = ""
    end_ns: int = 0  # when the sub-run ended
    start_ns: int = 0  # when the sub-run started
    answer: str = ""  # the sub-agent's answer text (bounded), for provenance across the agents of a workflow


@dataclass(frozen=True)
class Run:
    """One agent invocation: a trace root, or an `agent` span not under another agent."""

    run_id: str  # the root span's id
    trace_id: str
    parent_run_id: str  # "" for a top-level run
    root_span_id: str
    spans: tuple[RunSpan, ...]  # in step order; spans[0] is not necessarily the root
    agent_name: str = ""
    service_name: str = ""
    tenant: str = ""
    environment: str = ""
    start_ns: int = 0
    end_ns: int = 0
    ended: bool = True  # False when the root never ended (abandoned candidates)
    sub_run_ids: tuple[str, ...] = ()
    sub_runs: tuple[SubRunOutcome, ...] = ()  # outcomes of the sub-runs, when already analyzed
    # When its trace held more spans than the analyzer takes per trace: (spans analyzed, spans stored).
    truncated: tuple[int, int] | None = None

    def by_id(self) -> dict[str, RunSpan]:
        return {rs.span_id: rs for rs in self.spans}

    @property
    def key(self) -> TraceKey:
        """The (tenant, trace id) this run belongs to."""
        return TraceKey(self.tenant, self.trace_id)


@dataclass(frozen=True)
class Signal:
    """One rule's finding with the evidence behind it."""

    type: str  # e.g. "tool_error", "loop", "unknown_tool"
    severity: Severity
    span_id: str  # the span the finding is about (first of the evidence)
    evidence: dict[str, Any] = field(default_factory=dict)  # span ids, counts, values — JSON-able
    decisive: bool = True  # can explain the run's outcome (vs. a mere warning)


@dataclass(frozen=True)
class CostImpact:
    wasted_tokens: int
    wasted_cost_usd: float | None
    wasted_ms: float
    share_tokens: float  # 0..1 of the run's total
    share_cost: float | None
    span_ids: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    """What the analysis concluded about a run."""

    outcome: Outcome
    failure_class: str  # "" when ok
    root_cause: Signal | None
    signals: tuple[Signal, ...]
    cost_impact: CostImpact | None
    hallucination_score: float | None = None  # 0..1 share of the final answer's claims found in no source


BaselineKey = tuple[str, str]  # (tenant, agent name)


@dataclass(frozen=True)
class Baseline:
    """An agent's own recent behaviour (robust statistics over its past runs)."""

    agent_name: str
    runs: int  # how many runs the figures come from
    duration_ms_p50: float
    duration_ms_p95: float
    duration_ms_mad: float  # median absolute deviation
    tokens_p50: float
    tokens_p95: float
    cost_usd_p50: float | None
    cost_usd_p95: float | None
    cost_usd_mad: float | None


@dataclass(frozen=True)
class Explanation:
    """The post-mortem: a one-sentence headline, markdown, and structured JSON."""

    headline: str
    markdown: str
    structured: dict[str, Any]  # JSON-able; carries failure_class and root_cause_span_id
