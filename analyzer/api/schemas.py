"""Response models of the `/v1` API: AgentMetrics' field names first, then agentmortem's own.

These models are the OpenAPI contract (`/openapi.json`) the schemathesis tests hold
responses to; routers return them and never raw query rows.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Run(BaseModel):
    """An analyzed run. The first block is AgentMetrics' `runs` table, the second agentmortem's."""

    run_id: str
    agent_id: str
    session_id: str
    status: str = Field(description="completed | failed | timeout (from the analysis outcome)")
    started_at: str | None
    finished_at: str | None
    duration_ms: float
    tokens_input: int
    tokens_output: int
    estimated_cost_usd: float | None
    model: str
    error_type: str
    error_message: str
    # -- agentmortem ---------------------------------------------------------------------
    trace_id: str
    parent_run_id: str
    outcome: str = Field(description="failed | degraded | ok")
    failure_class: str
    root_cause_span_id: str
    wasted_cost_usd: float | None
    hallucination_score: float | None
    headline: str
    service: str
    environment: str
    kind: str
    root_span_id: str
    step_count: int
    llm_call_count: int
    tool_call_count: int
    error_span_count: int
    sub_run_count: int
    tokens_total: int
    wasted_tokens: int
    wasted_share: float | None
    models: list[str]
    signal_types: list[str]
    tenant: str = Field("", description="the tenant of the API key that sent the run's spans (\"\" without a key)")


class RunPage(BaseModel):
    """A page of runs (the AgentMetrics reference receiver's envelope, plus a cursor)."""

    data: list[Run]
    total: int
    limit: int
    offset: int
    has_more: bool
    next_cursor: str | None = Field(None, description="pass as ?cursor= for the next page (keyset)")


class Explanation(BaseModel):
    """A run's post-mortem: headline, What / Why / Where / Cost impact / Next step, and the signals."""

    run_id: str
    trace_id: str
    headline: str
    outcome: str
    failure_class: str
    root_cause_span_id: str
    what: str | None = None
    why: str | None = None
    where: dict[str, Any] | None = None
    cost_impact: dict[str, Any] | None = None
    next_step: str | None = None
    warnings: list[str] = Field(default_factory=list)
    hallucination_score: float | None = None
    signals: list[dict[str, Any]] = Field(default_factory=list)
    truncated: dict[str, Any] | None = Field(
        None, description="set when the trace held more spans than were analyzed: spans_analyzed, spans_stored, note")
    markdown: str
    structured: dict[str, Any]


class Event(BaseModel):
    """One span of a run, as an AgentMetrics `RunEvent` plus its canonical fields and tree place."""

    event_id: str
    run_id: str
    type: str = Field(description="AgentMetrics event type derived from the span's category")
    timestamp: str | None
    tool_name: str | None
    tool_duration_ms: float | None
    tool_success: bool | None
    span_id: str
    parent_span_id: str
    name: str
    category: str
    step: int
    depth: int
    orphan: bool
    duration_ms: float
    status_code: str
    cost_usd: float | None
    canonical: dict[str, Any]


class TreeNode(BaseModel):
    span_id: str
    run_id: str
    name: str
    category: str
    step: int
    depth: int
    start_offset_ms: float
    duration_ms: float
    status_code: str
    error_type: str
    orphan: bool
    on_critical_path: bool
    is_root_cause: bool
    signal_types: list[str]
    children: list[TreeNode]
    hidden_descendants: int = Field(0, description="spans under this one not in the response (depth or size cap); "
                                                   "ask ?span_id= this span for them")
    measurements: dict[str, float] = Field(
        default_factory=dict, description="per-call figures from the metrics' exemplars recorded in this span, in "
        "seconds: time_to_first_chunk, time_per_output_chunk (mean)")


class RunTree(BaseModel):
    run_id: str
    trace_id: str
    span_count: int = Field(description="spans in the tree (from ?span_id= down when given), shown or not")
    critical_path: list[str]
    root_cause_span_id: str
    roots: list[TreeNode]
    shown_span_count: int = Field(0, description="spans in `roots`")
    hidden_span_count: int = Field(0, description="spans of the tree left out of `roots` (see hidden_descendants)")
    hidden_levels: int = Field(0, description="levels of the tree below max_depth, left out")
    max_depth: int = Field(0, description="levels `roots` nests at most (AGENTMORTEM_API_TREE_MAX_DEPTH or ?max_depth=)")
    span_limit_reached: bool = Field(False, description="AGENTMORTEM_API_MAX_SPANS spans, the trace's earliest, "
                                                        "were loaded: it may have more")
    truncated: bool = Field(False, description="some spans are not in `roots` (hidden or never loaded)")


class AgentStats(BaseModel):
    agent_id: str
    run_count: int
    success_count: int
    failure_count: int
    avg_duration_ms: float | None
    total_cost_usd: float | None
    last_run_at: str | None
    # -- agentmortem
    failure_rate: float | None
    degraded_count: int
    p95_duration_ms: float | None
    tokens_total: int
    wasted_cost_usd: float | None
    top_failure_class: str | None


class Stats(BaseModel):
    total_runs: int
    completed: int
    failed: int
    avg_duration_ms: float | None
    total_tokens_input: int
    total_tokens_output: int
    total_cost_usd: float | None
    # -- agentmortem
    timeout: int
    degraded: int
    failure_rate: float | None
    p50_duration_ms: float | None
    p95_duration_ms: float | None
    p99_duration_ms: float | None
    total_tokens: int
    total_wasted_cost_usd: float | None
    avg_hallucination_score: float | None
    by_status: dict[str, int]
    by_outcome: dict[str, int]
    by_failure_class: dict[str, int]
    by_model: dict[str, int]


class ToolStats(BaseModel):
    tool_name: str
    call_count: int
    success_count: int
    failure_count: int
    avg_duration_ms: float | None
    error_rate: float | None
    p95_duration_ms: float | None


class SignalOut(BaseModel):
    run_id: str
    seq: int
    trace_id: str
    span_id: str
    agent_id: str
    started_at: str | None
    type: str
    severity: str
    decisive: bool
    is_root_cause: bool
    evidence: dict[str, Any]


class SignalPage(BaseModel):
    data: list[SignalOut]
    total: int
    limit: int
    offset: int
    has_more: bool


class IngestResponse(BaseModel):
    status: str = "accepted"
    run_id: str | None = None
    trace_id: str | None = None
    spans: int = 0


class Capabilities(BaseModel):
    version: str
    api_version: str
    features: dict[str, Any]
    limits: dict[str, Any]
