-- The run's conversation/session id (AgentMetrics `session_id`): the first
-- gen_ai.conversation.id (or its equivalent) among the run's spans, root first.
ALTER TABLE agent_runs ADD COLUMN IF NOT EXISTS SessionId String DEFAULT '' CODEC(ZSTD(1)) AFTER Environment;
