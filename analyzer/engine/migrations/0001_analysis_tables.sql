-- The analyzer's results. ReplacingMergeTree(Version, Deleted): re-analyzing a trace writes
-- new rows with a higher Version (and tombstones, Deleted = 1, for rows that no longer exist),
-- so readers using FINAL always see the latest analysis and never duplicates.

-- One row per run. Listed newest first per tenant (ORDER BY Tenant, Start); looked up by
-- RunId or TraceId through bloom filters.
CREATE TABLE IF NOT EXISTS agent_runs (
    RunId String CODEC(ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    ParentRunId String CODEC(ZSTD(1)),
    RootSpanId String CODEC(ZSTD(1)),
    Kind LowCardinality(String) CODEC(ZSTD(1)),
    Tenant LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    AgentName LowCardinality(String) CODEC(ZSTD(1)),
    Environment LowCardinality(String) CODEC(ZSTD(1)),
    Start DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    End DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    DurationMs Float64 CODEC(ZSTD(1)),
    Status LowCardinality(String) CODEC(ZSTD(1)),
    Outcome LowCardinality(String) CODEC(ZSTD(1)),
    FailureClass LowCardinality(String) CODEC(ZSTD(1)),
    RootCauseSpanId String CODEC(ZSTD(1)),
    Steps UInt32 CODEC(ZSTD(1)),
    LlmCalls UInt32 CODEC(ZSTD(1)),
    ToolCalls UInt32 CODEC(ZSTD(1)),
    ErrorSpans UInt32 CODEC(ZSTD(1)),
    SubRuns UInt32 CODEC(ZSTD(1)),
    InputTokens UInt64 CODEC(ZSTD(1)),
    OutputTokens UInt64 CODEC(ZSTD(1)),
    TotalTokens UInt64 CODEC(ZSTD(1)),
    CostUsd Nullable(Float64) CODEC(ZSTD(1)),
    WastedTokens UInt64 CODEC(ZSTD(1)),
    WastedCostUsd Nullable(Float64) CODEC(ZSTD(1)),
    WastedShare Nullable(Float64) CODEC(ZSTD(1)),
    HallucinationScore Nullable(Float64) CODEC(ZSTD(1)),
    Headline String CODEC(ZSTD(1)),
    Models Array(LowCardinality(String)) CODEC(ZSTD(1)),
    SignalTypes Array(LowCardinality(String)) CODEC(ZSTD(1)),
    ErrorType LowCardinality(String) CODEC(ZSTD(1)),
    ErrorMessage String CODEC(ZSTD(1)),
    AnalyzedAt DateTime64(3) CODEC(Delta(8), ZSTD(1)),
    Version UInt64,
    Deleted UInt8 DEFAULT 0,
    INDEX idx_run_id RunId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_agent AgentName TYPE set(0) GRANULARITY 4,
    INDEX idx_failure FailureClass TYPE set(0) GRANULARITY 4
) ENGINE = ReplacingMergeTree(Version, Deleted)
PARTITION BY toYYYYMM(Start)
ORDER BY (Tenant, Start, RunId)
SETTINGS index_granularity = 8192;

-- One row per signal of a run (Seq = its rank in the verdict: root-cause order).
CREATE TABLE IF NOT EXISTS agent_signals (
    RunId String CODEC(ZSTD(1)),
    Seq UInt16,
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    Tenant LowCardinality(String) CODEC(ZSTD(1)),
    AgentName LowCardinality(String) CODEC(ZSTD(1)),
    Start DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    Type LowCardinality(String) CODEC(ZSTD(1)),
    Severity LowCardinality(String) CODEC(ZSTD(1)),
    Decisive UInt8,
    IsRootCause UInt8,
    Evidence String CODEC(ZSTD(1)),
    Version UInt64,
    Deleted UInt8 DEFAULT 0,
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_type Type TYPE set(0) GRANULARITY 4
) ENGINE = ReplacingMergeTree(Version, Deleted)
ORDER BY (RunId, Seq)
SETTINGS index_granularity = 8192;

-- The post-mortem of each run: headline, markdown, and the structured JSON behind it.
CREATE TABLE IF NOT EXISTS agent_explanations (
    RunId String CODEC(ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Tenant LowCardinality(String) CODEC(ZSTD(1)),
    Headline String CODEC(ZSTD(1)),
    Markdown String CODEC(ZSTD(3)),
    Structured String CODEC(ZSTD(3)),
    Version UInt64,
    Deleted UInt8 DEFAULT 0,
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = ReplacingMergeTree(Version, Deleted)
ORDER BY RunId
SETTINGS index_granularity = 8192;

-- Each agent's own recent behaviour (robust statistics), recomputed periodically in SQL.
CREATE TABLE IF NOT EXISTS agent_baselines (
    Tenant LowCardinality(String),
    AgentName LowCardinality(String),
    Runs UInt64,
    DurationMsP50 Float64,
    DurationMsP95 Float64,
    DurationMsMad Float64,
    TokensP50 Float64,
    TokensP95 Float64,
    TokensMad Float64,
    CostUsdP50 Nullable(Float64),
    CostUsdP95 Nullable(Float64),
    CostUsdMad Nullable(Float64),
    Version UInt64
) ENGINE = ReplacingMergeTree(Version)
ORDER BY (Tenant, AgentName);

-- What each trace's latest analysis covered (LastSeen of its activity) and whether it is
-- waiting for a root that has not arrived (Pending = 1: analyzed again at abandonment).
CREATE TABLE IF NOT EXISTS agent_trace_state (
    TraceId String CODEC(ZSTD(1)),
    LastSeenMs Int64,
    Pending UInt8,
    Version UInt64
) ENGINE = ReplacingMergeTree(Version)
ORDER BY TraceId;

-- Per-analyzer (per-shard) progress: activity before WatermarkMs is fully analyzed.
CREATE TABLE IF NOT EXISTS agent_watermarks (
    Name String,
    WatermarkMs Int64,
    Version UInt64
) ENGINE = ReplacingMergeTree(Version)
ORDER BY Name;
