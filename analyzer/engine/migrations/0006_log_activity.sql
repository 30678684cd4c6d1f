-- GenAI log events are evidence of their spans (the analysis reads a span's log records as its
-- events), so a log record that arrives after its trace was analyzed re-opens the trace, as a late
-- span does: records with a trace id, a span id and an event name (`EventName`, or the `event.name`
-- attribute of older SDKs) move their trace's LastSeen. They add no deliveries (spans) and no root.
-- Records without a trace id, and plain logs without an event name, are not activity.
CREATE MATERIALIZED VIEW IF NOT EXISTS agent_activity_logs_mv
TO agent_activity
AS SELECT
    ResourceAttributes['agentmortem.tenant'] AS Tenant,
    TraceId,
    now64(3) AS FirstSeen,
    now64(3) AS LastSeen,
    toUInt64(0) AS Deliveries,
    toUInt8(0) AS HasRoot
FROM otel_logs
WHERE TraceId != '' AND SpanId != '' AND (EventName != '' OR LogAttributes['event.name'] != '')
GROUP BY Tenant, TraceId;
