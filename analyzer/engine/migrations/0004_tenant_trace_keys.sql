-- A trace is identified by (tenant, trace id): trace ids are chosen by clients and shared through
-- `traceparent` headers, so two tenants may send spans under one trace id, and each must be analyzed
-- on its own. Activity and analysis state move to tables keyed by both (the old ones, keyed by trace
-- id alone, are dropped by 0005 once this migration is recorded); `agent_signals` and
-- `agent_explanations` get the tenant in their keys in place (a step in Python after these
-- statements: `analyzer.migrations.rekey_by_tenant`). Every statement here may run twice.

-- When each (tenant, trace id) last received spans, by INSERT time (see 0002).
CREATE TABLE IF NOT EXISTS agent_activity (
    Tenant LowCardinality(String) CODEC(ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    FirstSeen SimpleAggregateFunction(min, DateTime64(3)),
    LastSeen SimpleAggregateFunction(max, DateTime64(3)),
    Deliveries SimpleAggregateFunction(sum, UInt64),
    HasRoot SimpleAggregateFunction(max, UInt8),
    INDEX idx_last_seen LastSeen TYPE minmax GRANULARITY 1
) ENGINE = AggregatingMergeTree()
ORDER BY (Tenant, TraceId)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW IF NOT EXISTS agent_activity_mv
TO agent_activity
AS SELECT
    ResourceAttributes['agentmortem.tenant'] AS Tenant,
    TraceId,
    now64(3) AS FirstSeen,
    now64(3) AS LastSeen,
    count() AS Deliveries,
    max(ParentSpanId = '') AS HasRoot
FROM otel_traces
WHERE TraceId != ''
GROUP BY Tenant, TraceId;

-- Spans stored before: each (tenant, trace id) keeps the times its trace id was seen, so what was
-- analyzed is not analyzed again, except trace ids that more than one tenant sent spans under (or
-- never seen): analyzed anew, now, once per tenant.
INSERT INTO agent_activity
SELECT s.Tenant, s.TraceId,
       if(a.TraceId = '', now64(3), a.FirstSeen),
       if(a.TraceId = '' OR s.Tenants > 1, now64(3), a.LastSeen),
       s.Spans, s.HasRoot
FROM (
    SELECT ResourceAttributes['agentmortem.tenant'] AS Tenant, TraceId, count() AS Spans,
           max(ParentSpanId = '') AS HasRoot, count() OVER (PARTITION BY TraceId) AS Tenants
    FROM otel_traces
    WHERE TraceId != ''
    GROUP BY Tenant, TraceId
) AS s
LEFT JOIN (
    SELECT TraceId, min(FirstSeen) AS FirstSeen, max(LastSeen) AS LastSeen
    FROM agent_trace_activity
    GROUP BY TraceId
) AS a ON s.TraceId = a.TraceId
SETTINGS join_use_nulls = 0;

-- What each (tenant, trace id)'s latest analysis covered (see 0001's agent_trace_state).
CREATE TABLE IF NOT EXISTS agent_analysis_state (
    Tenant LowCardinality(String) CODEC(ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    LastSeenMs Int64,
    Pending UInt8,
    Version UInt64
) ENGINE = ReplacingMergeTree(Version)
ORDER BY (Tenant, TraceId);

INSERT INTO agent_analysis_state
SELECT k.Tenant, s.TraceId, s.LastSeenMs, s.Pending, s.Version
FROM (SELECT TraceId, LastSeenMs, Pending, Version FROM agent_trace_state FINAL) AS s
INNER JOIN (
    SELECT DISTINCT ResourceAttributes['agentmortem.tenant'] AS Tenant, TraceId
    FROM otel_traces
    WHERE TraceId != ''
) AS k ON s.TraceId = k.TraceId;
