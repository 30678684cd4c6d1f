-- When each trace last received spans, by INSERT time (the analyzer's clock), not by the
-- spans' own timestamps: a late span with an old timestamp still moves LastSeen, so it
-- triggers re-analysis. Fed by a materialized view on otel_traces, so it works whoever
-- writes that table (our collector or an OpenTelemetry Collector's clickhouseexporter).
CREATE TABLE IF NOT EXISTS agent_trace_activity (
    TraceId String CODEC(ZSTD(1)),
    FirstSeen SimpleAggregateFunction(min, DateTime64(3)),
    LastSeen SimpleAggregateFunction(max, DateTime64(3)),
    Deliveries SimpleAggregateFunction(sum, UInt64),
    HasRoot SimpleAggregateFunction(max, UInt8),
    INDEX idx_last_seen LastSeen TYPE minmax GRANULARITY 1
) ENGINE = AggregatingMergeTree()
ORDER BY TraceId
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW IF NOT EXISTS agent_trace_activity_mv
TO agent_trace_activity
AS SELECT
    TraceId,
    now64(3) AS FirstSeen,
    now64(3) AS LastSeen,
    count() AS Deliveries,
    max(ParentSpanId = '') AS HasRoot
FROM otel_traces
WHERE TraceId != ''
GROUP BY TraceId;

-- Spans stored before this migration: seen "now", so they are analyzed once.
INSERT INTO agent_trace_activity
SELECT TraceId, now64(3), now64(3), count(), max(ParentSpanId = '')
FROM otel_traces
WHERE TraceId != ''
GROUP BY TraceId;
