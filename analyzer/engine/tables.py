"""The analyzer's tables, declared once: what the writer writes, the API, the CLI and the
dashboards' tests read, and what the migrations in `migrations/` must have built.

`tests/analyzer/test_tables.py` migrates a fresh store and checks every table here against
it (columns in order, types, sorting and partition keys, engine), so a migration that
changes a table changes its declaration too. The materialized view `agent_activity_mv`
(migrations 0004) feeds `agent_activity` from `otel_traces`; nothing writes it from Python.
"""

from __future__ import annotations

from agentmortem.platform.store import Store
from agentmortem.platform.tables import Table, columns, verify_tables

# One row per run. Listed newest first per tenant; looked up by RunId or TraceId (bloom filters).
AGENT_RUNS = Table(
    "agent_runs",
    columns(
        RunId="String", TraceId="String", ParentRunId="String", RootSpanId="String",
        Kind="LowCardinality(String)", Tenant="LowCardinality(String)", ServiceName="LowCardinality(String)",
        AgentName="LowCardinality(String)", Environment="LowCardinality(String)", SessionId="String",
        Start="DateTime64(9)", End="DateTime64(9)", DurationMs="Float64",
        Status="LowCardinality(String)", Outcome="LowCardinality(String)", FailureClass="LowCardinality(String)",
        RootCauseSpanId="String",
        Steps="UInt32", LlmCalls="UInt32", ToolCalls="UInt32", ErrorSpans="UInt32", SubRuns="UInt32",
        InputTokens="UInt64", OutputTokens="UInt64", TotalTokens="UInt64", CostUsd="Nullable(Float64)",
        WastedTokens="UInt64", WastedCostUsd="Nullable(Float64)", WastedShare="Nullable(Float64)",
        HallucinationScore="Nullable(Float64)", Headline="String",
        Models="Array(LowCardinality(String))", SignalTypes="Array(LowCardinality(String))",
        ErrorType="LowCardinality(String)", ErrorMessage="String", AnalyzedAt="DateTime64(3)",
        Version="UInt64", Deleted="UInt8",
    ),
    order_by=("Tenant", "Start", "RunId"), partition_by="toYYYYMM(Start)", version="Version", deleted="Deleted",
)

# One row per signal of a run; Seq is its rank in the verdict (root-cause order).
AGENT_SIGNALS = Table(
    "agent_signals",
    columns(
        RunId="String", Seq="UInt16", TraceId="String", SpanId="String", Tenant="LowCardinality(String)",
        AgentName="LowCardinality(String)", Start="DateTime64(9)", Type="LowCardinality(String)",
        Severity="LowCardinality(String)", Decisive="UInt8", IsRootCause="UInt8", Evidence="String",
        Version="UInt64", Deleted="UInt8",
    ),
    order_by=("Tenant", "RunId", "Seq"), version="Version", deleted="Deleted",
)

# The post-mortem of each run: headline, markdown, and the structured JSON behind it.
AGENT_EXPLANATIONS = Table(
    "agent_explanations",
    columns(
        RunId="String", TraceId="String", Tenant="LowCardinality(String)", Headline="String", Markdown="String",
        Structured="String", Version="UInt64", Deleted="UInt8",
    ),
    order_by=("Tenant", "RunId"), version="Version", deleted="Deleted",
)

# Each agent's own recent behaviour (robust statistics), recomputed periodically in SQL (`baselines`).
AGENT_BASELINES = Table(
    "agent_baselines",
    columns(
        Tenant="LowCardinality(String)", AgentName="LowCardinality(String)", Runs="UInt64",
        DurationMsP50="Float64", DurationMsP95="Float64", DurationMsMad="Float64",
        TokensP50="Float64", TokensP95="Float64", TokensMad="Float64",
        CostUsdP50="Nullable(Float64)", CostUsdP95="Nullable(Float64)", CostUsdMad="Nullable(Float64)",
        Version="UInt64",
    ),
    order_by=("Tenant", "AgentName"), version="Version",
)

# When each (tenant, trace id) last received spans, by INSERT time (fed by `agent_activity_mv`).
AGENT_ACTIVITY = Table(
    "agent_activity",
    columns(
        Tenant="LowCardinality(String)", TraceId="String",
        FirstSeen="SimpleAggregateFunction(min, DateTime64(3))", LastSeen="SimpleAggregateFunction(max, DateTime64(3))",
        Deliveries="SimpleAggregateFunction(sum, UInt64)", HasRoot="SimpleAggregateFunction(max, UInt8)",
    ),
    order_by=("Tenant", "TraceId"), engine="AggregatingMergeTree",
)

# What each (tenant, trace id)'s latest analysis covered, and whether it waits for its root.
AGENT_ANALYSIS_STATE = Table(
    "agent_analysis_state",
    columns(Tenant="LowCardinality(String)", TraceId="String", LastSeenMs="Int64", Pending="UInt8", Version="UInt64"),
    order_by=("Tenant", "TraceId"), version="Version",
)

# Per-analyzer (per-shard) progress: activity before WatermarkMs is fully analyzed.
AGENT_WATERMARKS = Table(
    "agent_watermarks",
    columns(Name="String", WatermarkMs="Int64", Version="UInt64"),
    order_by=("Name",), version="Version",
)

ANALYSIS_TABLES: tuple[Table, ...] = (
    AGENT_RUNS, AGENT_SIGNALS, AGENT_EXPLANATIONS, AGENT_BASELINES, AGENT_ACTIVITY, AGENT_ANALYSIS_STATE,
    AGENT_WATERMARKS,
)
# The results of analyzing a trace, replaced as a whole when it is analyzed again (`write`).
RESULT_TABLES: tuple[Table, ...] = (AGENT_RUNS, AGENT_SIGNALS, AGENT_EXPLANATIONS)


def verify_analysis_tables(store: Store) -> None:
    """`SchemaMismatch` naming every analysis table that differs from its declaration."""
    verify_tables(store, ANALYSIS_TABLES)
