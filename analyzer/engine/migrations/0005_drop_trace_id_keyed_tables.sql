-- The activity and state tables keyed by trace id alone, replaced by 0004's (tenant, trace id) ones.
DROP VIEW IF EXISTS agent_trace_activity_mv;
DROP TABLE IF EXISTS agent_trace_activity;
DROP TABLE IF EXISTS agent_trace_state;
