"""Attribute, event and column names of every convention we read, as constants.

Only names live here; which canonical field each one feeds, and in what order, is
`semconv.table`. Grouped by convention, each group in the convention's own spelling.
"""

from __future__ import annotations

# -- otel_traces columns (contrib clickhouseexporter) ------------------------------
TRACE_ID, SPAN_ID, PARENT_SPAN_ID = "TraceId", "SpanId", "ParentSpanId"
SPAN_NAME, SPAN_KIND, SERVICE_NAME = "SpanName", "SpanKind", "ServiceName"
SCOPE_NAME, STATUS_CODE, STATUS_MESSAGE = "ScopeName", "StatusCode", "StatusMessage"
TIMESTAMP, DURATION = "Timestamp", "Duration"
SPAN_ATTRIBUTES, RESOURCE_ATTRIBUTES = "SpanAttributes", "ResourceAttributes"
EVENT_NAMES, EVENT_ATTRIBUTES = "Events.Name", "Events.Attributes"
# Every otel_traces column the mapping reads (and nothing else).
COLUMNS_READ = (TRACE_ID, SPAN_ID, PARENT_SPAN_ID, SPAN_NAME, SPAN_KIND, SERVICE_NAME, SCOPE_NAME, STATUS_CODE,
                STATUS_MESSAGE, TIMESTAMP, DURATION, SPAN_ATTRIBUTES, RESOURCE_ATTRIBUTES, EVENT_NAMES,
                EVENT_ATTRIBUTES)

# -- otel_logs and otel_metrics_* (contrib clickhouseexporter) and log records as span events -----
# A log record with a trace id, a span id and an event name is read as one more event of its span
# (`semconv.sql.logs`): named by its `EventName` column, else by its `event.name` attribute (older
# SDKs), its attributes the record's `LogAttributes` plus its body (the `Body` column: a string as is,
# a map or array as JSON) under the reserved key `LOG_BODY` (a name no convention uses).
LOGS_TABLE = "otel_logs"
LOG_EVENT_NAME, LOG_ATTRIBUTES, LOG_BODY_COLUMN = "EventName", "LogAttributes", "Body"
LOG_EVENT_NAME_ATTRIBUTE = "event.name"
LOG_BODY = "agentmortem.log.body"
METRIC_NAME = "MetricName"
METRIC_TABLES = ("otel_metrics_gauge", "otel_metrics_sum", "otel_metrics_histogram",
                 "otel_metrics_exponential_histogram", "otel_metrics_summary")

# -- resource ----------------------------------------------------------------------
# agentmortem's own: the tenant a span was received for, stamped on its resource by the collector
# (the only definition; the collector, the raw-table SQL and the mapping all take it from here).
TENANT = "agentmortem.tenant"
RESOURCE_SERVICE_NAME = "service.name"  # the source of the `ServiceName` column (the collector's conversion)
DEPLOYMENT_ENVIRONMENT_NAME = "deployment.environment.name"
DEPLOYMENT_ENVIRONMENT = "deployment.environment"

# -- OpenTelemetry GenAI, current ----------------------------------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_AGENT_ID = "gen_ai.agent.id"
GEN_AI_WORKFLOW_NAME = "gen_ai.workflow.name"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_RETRIEVAL_DOCUMENTS = "gen_ai.retrieval.documents"
GEN_AI_MEMORY_RECORDS = "gen_ai.memory.records"  # semconv-genai: records a memory operation read or wrote
GEN_AI_MEMORY_STORE_ID = "gen_ai.memory.store.id"
GEN_AI_MEMORY_QUERY_TEXT = "gen_ai.memory.query.text"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"  # semconv-genai's later name
# `gen_ai.operation.name` values that only semantic-conventions-genai defines (not core 1.x)
GEN_AI_REPO_OPERATIONS = ("plan", "search_memory", "create_memory", "update_memory", "upsert_memory",
                          "delete_memory", "create_memory_store", "delete_memory_store")
GEN_AI_SKILLS = "gen_ai.skills"  # proposed in semconv-genai (skills in an agent's context), not settled
ERROR_TYPE = "error.type"
EVENT_OPERATION_DETAILS = "gen_ai.client.inference.operation.details"
EVENT_EVALUATION_RESULT = "gen_ai.evaluation.result"
EVENT_OPERATION_EXCEPTION = "gen_ai.client.operation.exception"
EVENT_INFERENCE_EXCEPTION = "gen_ai.client.inference.exception"
EVENT_EXECUTE_TOOL_EXCEPTION = "gen_ai.execute_tool.exception"
GEN_AI_EVALUATION_NAME = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION = "gen_ai.evaluation.explanation"
EVENT_EXCEPTION = "exception"
EXCEPTION_TYPE, EXCEPTION_MESSAGE = "exception.type", "exception.message"

# -- OpenTelemetry GenAI <= 1.36 (and OpenLLMetry's indexed form) -----------------------
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_USAGE_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
GEN_AI_PROMPT = "gen_ai.prompt"  # event attribute (<= 1.27) / LangSmith inputs JSON
GEN_AI_COMPLETION = "gen_ai.completion"
EVENT_CONTENT_PROMPT = "gen_ai.content.prompt"
EVENT_CONTENT_COMPLETION = "gen_ai.content.completion"
EVENT_MESSAGE_ROLES = {  # per-message events (1.28-1.36) -> role
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
EVENT_CHOICE = "gen_ai.choice"  # the per-message events' answer event
EVENT_CONTENT = "content"
EVENT_CHOICE = "gen_ai.choice"  # a log event (1.28-1.36): body {index, finish_reason, message: {role, content, tool_calls}}
PROMPT_INDEXED = r"^(gen_ai\.prompt\.\d+\.)"
COMPLETION_INDEXED = r"^(gen_ai\.completion\.\d+\.)"
COMPLETION_TOOL_CALLS_INDEXED = r"^(gen_ai\.completion\.\d+\.tool_calls\.\d+\.)"
FIRST_COMPLETION_FINISH_REASON = "gen_ai.completion.0.finish_reason"

# -- OpenInference ---------------------------------------------------------------------
OI_SPAN_KIND = "openinference.span.kind"
OI_LLM_PROVIDER, OI_LLM_SYSTEM = "llm.provider", "llm.system"
OI_LLM_MODEL_NAME = "llm.model_name"
OI_EMBEDDING_MODEL_NAME = "embedding.model_name"
OI_RERANKER_MODEL_NAME = "reranker.model_name"
OI_TOKEN_PROMPT = "llm.token_count.prompt"
OI_TOKEN_COMPLETION = "llm.token_count.completion"
OI_TOKEN_TOTAL = "llm.token_count.total"
OI_TOKEN_CACHE_READ = "llm.token_count.prompt_details.cache_read"
OI_TOKEN_REASONING = "llm.token_count.completion_details.reasoning"
OI_COST_TOTAL = "llm.cost.total"
OI_FINISH_REASON = "llm.finish_reason"
OI_INPUT_VALUE, OI_OUTPUT_VALUE = "input.value", "output.value"
OI_INPUT_MESSAGES_INDEXED = r"^(llm\.input_messages\.\d+\.message\.)"
OI_OUTPUT_MESSAGES_INDEXED = r"^(llm\.output_messages\.\d+\.message\.)"
OI_MESSAGE_PART_TEXT = r"contents\.\d+\.message_content\.text"  # after a message stem
OI_OUTPUT_TOOL_CALLS_INDEXED = r"^(llm\.output_messages\.\d+\.message\.tool_calls\.\d+\.tool_call\.)"
OI_TOOLS_JSON_SCHEMA_INDEXED = r"^llm\.tools\.\d+\.tool\.json_schema$"
OI_TOOL_NAME, OI_TOOL_ID = "tool.name", "tool.id"
OI_TOOL_CALL_ID = "tool_call.id"
OI_AGENT_NAME = "agent.name"
OI_SESSION_ID, OI_USER_ID = "session.id", "user.id"
OI_DOCUMENTS_INDEXED = r"^(retrieval\.documents\.\d+\.document\.)"
OI_EVALUATIONS_INDEXED = r"^(evaluations\.\d+\.evaluation\.)"

# -- OpenLLMetry / Traceloop -------------------------------------------------------------
TRACELOOP_SPAN_KIND = "traceloop.span.kind"
TRACELOOP_ENTITY_NAME = "traceloop.entity.name"
TRACELOOP_ENTITY_INPUT = "traceloop.entity.input"
TRACELOOP_ENTITY_OUTPUT = "traceloop.entity.output"
TRACELOOP_WORKFLOW_NAME = "traceloop.workflow.name"
TRACELOOP_SESSION_ID = "traceloop.association.properties.session_id"
TRACELOOP_USER_ID = "traceloop.association.properties.user_id"
TRACELOOP_LS_MODEL_NAME = "traceloop.association.properties.ls_model_name"
LLM_REQUEST_TYPE = "llm.request.type"
LLM_USAGE_TOTAL_TOKENS = "llm.usage.total_tokens"
GEN_AI_USAGE_TOTAL_TOKENS = "gen_ai.usage.total_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD = "gen_ai.usage.cache_read_input_tokens"
GEN_AI_USAGE_REASONING_TOKENS = "gen_ai.usage.reasoning_tokens"
LLM_REQUEST_FUNCTIONS_INDEXED = r"^(llm\.request\.functions\.\d+\.)"

# -- Vercel AI SDK -------------------------------------------------------------------------
AI_OPERATION_ID = "ai.operationId"
AI_MODEL_ID, AI_MODEL_PROVIDER = "ai.model.id", "ai.model.provider"
AI_RESPONSE_MODEL = "ai.response.model"
AI_USAGE_INPUT_TOKENS, AI_USAGE_OUTPUT_TOKENS = "ai.usage.inputTokens", "ai.usage.outputTokens"
AI_USAGE_PROMPT_TOKENS, AI_USAGE_COMPLETION_TOKENS = "ai.usage.promptTokens", "ai.usage.completionTokens"
AI_USAGE_TOTAL_TOKENS = "ai.usage.totalTokens"
AI_USAGE_CACHED_INPUT_TOKENS = "ai.usage.cachedInputTokens"
AI_USAGE_REASONING_TOKENS = "ai.usage.reasoningTokens"
AI_PROMPT, AI_PROMPT_MESSAGES, AI_PROMPT_TOOLS = "ai.prompt", "ai.prompt.messages", "ai.prompt.tools"
AI_RESPONSE_TEXT, AI_RESPONSE_TOOL_CALLS = "ai.response.text", "ai.response.toolCalls"
AI_RESPONSE_FINISH_REASON = "ai.response.finishReason"
AI_TOOL_CALL_NAME, AI_TOOL_CALL_ID = "ai.toolCall.name", "ai.toolCall.id"
AI_TOOL_CALL_ARGS, AI_TOOL_CALL_INPUT = "ai.toolCall.args", "ai.toolCall.input"
AI_TOOL_CALL_RESULT, AI_TOOL_CALL_OUTPUT = "ai.toolCall.result", "ai.toolCall.output"
AI_FUNCTION_ID = "ai.telemetry.functionId"
AI_METADATA_SESSION_ID = "ai.telemetry.metadata.sessionId"
AI_METADATA_USER_ID = "ai.telemetry.metadata.userId"

# -- Pydantic AI / Logfire -------------------------------------------------------------------
OPERATION_COST = "operation.cost"
FINAL_RESULT = "final_result"
LOGFIRE_PREFIX = "logfire."
PYDANTIC_AI_SCOPE, LOGFIRE_SCOPE = "pydantic-ai", "logfire"

# -- LangSmith --------------------------------------------------------------------------------
LANGSMITH_SPAN_KIND = "langsmith.span.kind"
LANGSMITH_TRACE_NAME = "langsmith.trace.name"
LANGSMITH_THREAD_ID = "langsmith.metadata.thread_id"
LANGSMITH_USER_ID = "langsmith.metadata.user_id"

# -- MLflow -------------------------------------------------------------------------------------
MLFLOW_SPAN_TYPE = "mlflow.spanType"
MLFLOW_SPAN_INPUTS, MLFLOW_SPAN_OUTPUTS = "mlflow.spanInputs", "mlflow.spanOutputs"
MLFLOW_LLM_MODEL = "mlflow.llm.model"
MLFLOW_LLM_PROVIDER = "mlflow.llm.provider"
MLFLOW_LLM_COST = "mlflow.llm.cost"
MLFLOW_CHAT_TOKEN_USAGE = "mlflow.chat.tokenUsage"
MLFLOW_CHAT_TOOLS = "mlflow.chat.tools"
MLFLOW_TRACE_SESSION = "mlflow.trace.session"
MLFLOW_TRACE_USER = "mlflow.trace.user"

# Key prefixes that look like GenAI telemetry (the coverage report lists unmapped ones).
GENAI_PREFIXES = ("gen_ai.", "llm.", "ai.", "traceloop.", "openinference.", "mlflow.", "langsmith.",
                  "embedding.", "retrieval.", "reranker.", "tool.", "agent.")
