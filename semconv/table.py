"""THE mapping table: every canonical field's sources per convention, in precedence order.

This is the only place that knows which attribute of which convention means what.
Order inside a field: OTel GenAI current → GenAI ≤1.36 → OpenInference →
OpenLLMetry/Traceloop → Vercel AI SDK → Logfire/pydantic-ai → LangSmith → MLflow →
structural fallbacks (span name). `semconv.sql` (SQL) and the tests' reference
interpreter (Python) both read it. Categories are decided first; sources with `when` use them.
"""

from __future__ import annotations

from agentmortem.semconv import keys as k
from agentmortem.semconv.spec import (
    Attr,
    CategoryRule,
    Col,
    Concat,
    ConventionRule,
    EventAttr,
    EventItems,
    EventJson,
    Field,
    IndexedItems,
    IndexedValues,
    JsonItems,
    JsonPath,
    NameAfter,
    NameRule,
    Out,
    Res,
    Shape,
    TextItem,
)

AGENTISH = ("agent", "workflow")

# -- categories ----------------------------------------------------------------------------
# `gen_ai.operation.name` values of GenAI semconv 1.x and of semantic-conventions-genai (the dedicated
# repository since core 1.42): inference (`gen_ai.client.inference` spans), agents, workflows, memory.
# A memory search reads grounding data the way retrieval does; memory writes and store lifecycle are
# bookkeeping, neither a model call nor a tool the model chose.
_MEMORY_OPERATIONS = {
    "search_memory": "retrieval", "create_memory": "other", "update_memory": "other", "upsert_memory": "other",
    "delete_memory": "other", "create_memory_store": "other", "delete_memory_store": "other",
}
_OPERATIONS = {
    "chat": "llm", "text_completion": "llm", "generate_content": "llm", "completion": "llm",
    "embeddings": "embedding", "embedding": "embedding", "retrieval": "retrieval", "rerank": "rerank",
    "execute_tool": "tool", "invoke_agent": "agent", "create_agent": "agent",
    "invoke_workflow": "workflow", "plan": "agent", "apply_guardrail": "guardrail",
    **_MEMORY_OPERATIONS,
}
_KINDS = {  # OpenInference, Traceloop, LangSmith and MLflow span kinds, lower-cased
    "llm": "llm", "chat_model": "llm", "embedding": "embedding", "chain": "workflow", "workflow": "workflow",
    "task": "workflow", "retriever": "retrieval", "reranker": "rerank", "tool": "tool", "agent": "agent",
    "guardrail": "guardrail", "evaluator": "other", "prompt": "other", "parser": "other", "unknown": "other",
}
_VERCEL_OPERATIONS = {
    "ai.generatetext": "agent", "ai.streamtext": "agent", "ai.generateobject": "agent",
    "ai.streamobject": "agent", "ai.generatetext.dogenerate": "llm", "ai.streamtext.dostream": "llm",
    "ai.generateobject.dogenerate": "llm", "ai.streamobject.dostream": "llm", "ai.toolcall": "tool",
    "ai.embed": "embedding", "ai.embedmany": "embedding", "ai.embed.doembed": "embedding",
    "ai.embedmany.doembed": "embedding",
}
CATEGORY_RULES: tuple[CategoryRule, ...] = (
    CategoryRule(Attr(k.OI_SPAN_KIND), _KINDS),
    CategoryRule(Attr(k.GEN_AI_OPERATION_NAME), _OPERATIONS),
    CategoryRule(Attr(k.AI_OPERATION_ID), _VERCEL_OPERATIONS),
    CategoryRule(Attr(k.TRACELOOP_SPAN_KIND), _KINDS),
    CategoryRule(Attr(k.LLM_REQUEST_TYPE), {**_OPERATIONS, "rerank": "rerank"}),
    CategoryRule(Attr(k.LANGSMITH_SPAN_KIND), _KINDS),
    CategoryRule(Attr(k.MLFLOW_SPAN_TYPE), _KINDS),
)
NAME_RULES: tuple[NameRule, ...] = (
    NameRule(r"^(chat|text_completion|generate_content) ", "llm"),
    NameRule(r"^execute_tool ", "tool"),
    NameRule(r"^(invoke_agent|create_agent)( |$)", "agent"),
    NameRule(r"^invoke_workflow ", "workflow"),
    NameRule(r"^embeddings ", "embedding"),
    NameRule(r"^retrieval ", "retrieval"),
    NameRule(r"^apply_guardrail ", "guardrail"),
    NameRule(r"^plan( |$)", "agent"),
    NameRule(r"^search_memory( |$)", "retrieval"),
    NameRule(r"\.(chat|completion)$", "llm"),
    NameRule(r"\.workflow$", "workflow"),
    NameRule(r"\.task$", "workflow"),
    NameRule(r"\.agent$", "agent"),
    NameRule(r"\.tool$", "tool"),
)

# First match names the span's convention.
CONVENTIONS: tuple[ConventionRule, ...] = (
    ConventionRule("openinference", key_prefixes=("openinference.", "llm.token_count.", "llm.input_messages.")),
    ConventionRule("traceloop", key_prefixes=("traceloop.", "llm.request.type", "llm.usage.")),
    ConventionRule("vercel_ai", key_prefixes=("ai.",)),
    ConventionRule("logfire", key_prefixes=(k.LOGFIRE_PREFIX, "pydantic_ai."), scopes=(k.PYDANTIC_AI_SCOPE, k.LOGFIRE_SCOPE)),
    ConventionRule("langsmith", key_prefixes=("langsmith.",)),
    ConventionRule("mlflow", key_prefixes=("mlflow.",)),
    ConventionRule("otel_genai", key_prefixes=("gen_ai.",)),
)

# -- object shapes -------------------------------------------------------------------------------
MESSAGE = Shape((
    Out("role", "str", (("role",), ("message", "role"))),
    Out("content", "content", (("content",), ("parts",), ("message", "content"))),
))
SYSTEM_MESSAGE = Shape((Out("role", "str", const="system"), Out("content", "content", (("content",), ("text",)))))
TOOL_CALL = Shape((
    Out("id", "str", (("id",), ("toolCallId",), ("tool_call_id",))),
    Out("name", "str", (("name",), ("toolName",), ("function", "name"))),
    Out("arguments", "str", (("arguments",), ("input",), ("args",), ("function", "arguments"))),
))
TOOL_DEFINITION = Shape((
    Out("name", "str", (("name",), ("function", "name"))),
    Out("description", "str", (("description",), ("function", "description"))),
    Out("parameters", "json", (("parameters",), ("inputSchema",), ("input_schema",),
                               ("parameters_json_schema",), ("function", "parameters"))),
))
DOCUMENT = Shape((
    Out("id", "str", (("id",), ("metadata", "id"))),
    Out("content", "str", (("content",), ("page_content",), ("text",))),
    Out("score", "num", (("score",),)),
))
EVALUATION = Shape((
    Out("name", "str", (("name",),)),
    Out("score", "num", (("score",), ("score_value",))),
    Out("label", "str", (("label",),)),
    Out("explanation", "str", (("explanation",),)),
))

_DETAILS_IN = EventAttr(k.EVENT_OPERATION_DETAILS, k.GEN_AI_INPUT_MESSAGES)
_DETAILS_OUT = EventAttr(k.EVENT_OPERATION_DETAILS, k.GEN_AI_OUTPUT_MESSAGES)
_DETAILS_SYSTEM = EventAttr(k.EVENT_OPERATION_DETAILS, k.GEN_AI_SYSTEM_INSTRUCTIONS)
_DETAILS_TOOLS = EventAttr(k.EVENT_OPERATION_DETAILS, k.GEN_AI_TOOL_DEFINITIONS)
# GenAI log events (1.28-1.36) carry their content in the record's body (`keys.LOG_BODY`).
_CHOICE = ((k.EVENT_CHOICE, "assistant"),)
_EXCEPTION_EVENTS = (k.EVENT_EXCEPTION, k.EVENT_OPERATION_EXCEPTION, k.EVENT_INFERENCE_EXCEPTION,
                     k.EVENT_EXECUTE_TOOL_EXCEPTION)
_MSG_FIELDS = (("role", "role"), ("content", "content"))
_OI_PARTS = (("content", k.OI_MESSAGE_PART_TEXT),)

# -- fields ----------------------------------------------------------------------------------------


def _tokens(name: str, *keys: str) -> Field:
    return Field(name, "int", tuple(Attr(key) for key in keys))


FIELDS: tuple[Field, ...] = (
    Field("trace_id", "str", (Col(k.TRACE_ID),)),
    Field("span_id", "str", (Col(k.SPAN_ID),)),
    Field("parent_span_id", "str", (Col(k.PARENT_SPAN_ID),)),
    Field("span_name", "str", (Col(k.SPAN_NAME),)),
    Field("span_kind", "str", (Col(k.SPAN_KIND),)),
    Field("service_name", "str", (Col(k.SERVICE_NAME),)),
    Field("start_ns", "int", (Col(k.TIMESTAMP),)),
    Field("duration_ns", "int", (Col(k.DURATION),)),
    Field("status_code", "str", (Col(k.STATUS_CODE),)),
    Field("status_message", "str", (Col(k.STATUS_MESSAGE),)),
    Field("tenant", "str", (Res(k.TENANT),)),
    Field("environment", "str", (Res(k.DEPLOYMENT_ENVIRONMENT_NAME), Res(k.DEPLOYMENT_ENVIRONMENT))),
    # category and convention come from CATEGORY_RULES / NAME_RULES / CONVENTIONS
    Field("operation", "str", (Attr(k.GEN_AI_OPERATION_NAME), Attr(k.LLM_REQUEST_TYPE), Attr(k.AI_OPERATION_ID),
                               Attr(k.OI_SPAN_KIND), Attr(k.TRACELOOP_SPAN_KIND), Attr(k.LANGSMITH_SPAN_KIND),
                               Attr(k.MLFLOW_SPAN_TYPE))),
    Field("agent_name", "str", (
        Attr(k.GEN_AI_AGENT_NAME), Attr(k.OI_AGENT_NAME), Attr(k.GEN_AI_WORKFLOW_NAME, when=AGENTISH),
        Attr(k.TRACELOOP_ENTITY_NAME, when=AGENTISH), Attr(k.AI_FUNCTION_ID, when=AGENTISH),
        NameAfter("invoke_agent ", when=AGENTISH), NameAfter("invoke_workflow ", when=AGENTISH),
        NameAfter("create_agent ", when=AGENTISH), NameAfter("plan ", when=AGENTISH),
        Col(k.SPAN_NAME, when=AGENTISH),
    )),
    Field("agent_id", "str", (Attr(k.GEN_AI_AGENT_ID),)),
    Field("conversation_id", "str", (
        Attr(k.GEN_AI_CONVERSATION_ID), Attr(k.OI_SESSION_ID), Attr(k.TRACELOOP_SESSION_ID),
        Attr(k.AI_METADATA_SESSION_ID), Attr(k.LANGSMITH_THREAD_ID), Attr(k.MLFLOW_TRACE_SESSION),
    )),
    Field("user_id", "str", (
        Attr(k.OI_USER_ID), Attr(k.TRACELOOP_USER_ID), Attr(k.AI_METADATA_USER_ID), Attr(k.LANGSMITH_USER_ID),
        Attr(k.MLFLOW_TRACE_USER),
    )),
    Field("provider", "str", (
        Attr(k.GEN_AI_PROVIDER_NAME), Attr(k.GEN_AI_SYSTEM), Attr(k.OI_LLM_PROVIDER), Attr(k.OI_LLM_SYSTEM),
        Attr(k.AI_MODEL_PROVIDER), Attr(k.MLFLOW_LLM_PROVIDER),
    )),
    Field("request_model", "str", (
        Attr(k.GEN_AI_REQUEST_MODEL), Attr(k.OI_LLM_MODEL_NAME), Attr(k.OI_EMBEDDING_MODEL_NAME),
        Attr(k.OI_RERANKER_MODEL_NAME), Attr(k.TRACELOOP_LS_MODEL_NAME), Attr(k.AI_MODEL_ID),
        Attr(k.MLFLOW_LLM_MODEL),
    ), placeholders=("unknown",)),
    Field("response_model", "str", (
        Attr(k.GEN_AI_RESPONSE_MODEL), Attr(k.AI_RESPONSE_MODEL), Attr(k.OI_LLM_MODEL_NAME),
        Attr(k.TRACELOOP_LS_MODEL_NAME),
    ), placeholders=("unknown",)),
    Field("input_tokens", "int", (
        Attr(k.GEN_AI_USAGE_INPUT_TOKENS), Attr(k.GEN_AI_USAGE_PROMPT_TOKENS), Attr(k.OI_TOKEN_PROMPT),
        Attr(k.AI_USAGE_INPUT_TOKENS), Attr(k.AI_USAGE_PROMPT_TOKENS),
        JsonPath(Attr(k.MLFLOW_CHAT_TOKEN_USAGE), ("input_tokens",)),
    )),
    Field("output_tokens", "int", (
        Attr(k.GEN_AI_USAGE_OUTPUT_TOKENS), Attr(k.GEN_AI_USAGE_COMPLETION_TOKENS), Attr(k.OI_TOKEN_COMPLETION),
        Attr(k.AI_USAGE_OUTPUT_TOKENS), Attr(k.AI_USAGE_COMPLETION_TOKENS),
        JsonPath(Attr(k.MLFLOW_CHAT_TOKEN_USAGE), ("output_tokens",)),
    )),
    _tokens("cached_tokens", k.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, k.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD,
            k.OI_TOKEN_CACHE_READ, k.AI_USAGE_CACHED_INPUT_TOKENS),
    _tokens("reasoning_tokens", k.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, k.GEN_AI_USAGE_REASONING_TOKENS,
            k.OI_TOKEN_REASONING, k.AI_USAGE_REASONING_TOKENS),
    Field("total_tokens", "int", (
        Attr(k.GEN_AI_USAGE_TOTAL_TOKENS), Attr(k.LLM_USAGE_TOTAL_TOKENS), Attr(k.OI_TOKEN_TOTAL),
        Attr(k.AI_USAGE_TOTAL_TOKENS), JsonPath(Attr(k.MLFLOW_CHAT_TOKEN_USAGE), ("total_tokens",)),
    )),
    Field("cost_usd", "float", (
        Attr(k.OI_COST_TOTAL), Attr(k.OPERATION_COST), JsonPath(Attr(k.MLFLOW_LLM_COST), ("total_cost",)),
    )),
    Field("finish_reasons", "strlist", (
        Attr(k.GEN_AI_RESPONSE_FINISH_REASONS), Attr(k.OI_FINISH_REASON), Attr(k.FIRST_COMPLETION_FINISH_REASON),
        Attr(k.AI_RESPONSE_FINISH_REASON),
    )),
    Field("tool_name", "str", (
        Attr(k.GEN_AI_TOOL_NAME), Attr(k.OI_TOOL_NAME), Attr(k.AI_TOOL_CALL_NAME),
        Attr(k.TRACELOOP_ENTITY_NAME, when=("tool",)), NameAfter("execute_tool ", when=("tool",)),
    )),
    Field("tool_call_id", "str", (
        Attr(k.GEN_AI_TOOL_CALL_ID), Attr(k.OI_TOOL_CALL_ID), Attr(k.OI_TOOL_ID), Attr(k.AI_TOOL_CALL_ID),
    )),
    Field("tool_arguments", "str", (
        JsonPath(Attr(k.TRACELOOP_ENTITY_INPUT), ("inputs",), when=("tool",)),
        Attr(k.GEN_AI_TOOL_CALL_ARGUMENTS), Attr(k.AI_TOOL_CALL_INPUT), Attr(k.AI_TOOL_CALL_ARGS),
        Attr(k.OI_INPUT_VALUE, when=("tool",)), Attr(k.MLFLOW_SPAN_INPUTS, when=("tool",)),
    )),
    Field("tool_result", "str", (
        # LangChain tools invoked with a ToolCall return a serialized ToolMessage (LangGraph's ToolNode)
        JsonPath(Attr(k.TRACELOOP_ENTITY_OUTPUT), ("output", "kwargs", "content"), when=("tool",)),
        JsonPath(Attr(k.TRACELOOP_ENTITY_OUTPUT), ("output",), when=("tool",)),
        JsonPath(Attr(k.OI_OUTPUT_VALUE), ("data", "content"), when=("tool",)),
        Attr(k.GEN_AI_TOOL_CALL_RESULT), JsonPath(Attr(k.AI_TOOL_CALL_OUTPUT), ()),
        JsonPath(Attr(k.AI_TOOL_CALL_RESULT), ()),
        Attr(k.OI_OUTPUT_VALUE, when=("tool",)), Attr(k.MLFLOW_SPAN_OUTPUTS, when=("tool",)),
    )),
    Field("tool_definitions", "json", (
        JsonItems(Attr(k.GEN_AI_TOOL_DEFINITIONS), TOOL_DEFINITION),
        JsonItems(_DETAILS_TOOLS, TOOL_DEFINITION),
        IndexedValues(k.OI_TOOLS_JSON_SCHEMA_INDEXED, TOOL_DEFINITION),
        IndexedItems(k.LLM_REQUEST_FUNCTIONS_INDEXED,
                     (("name", "name"), ("description", "description"), ("parameters", "parameters")),
                     TOOL_DEFINITION),
        JsonItems(Attr(k.AI_PROMPT_TOOLS), TOOL_DEFINITION, parse_strings=True),
        JsonItems(Attr(k.MLFLOW_CHAT_TOOLS), TOOL_DEFINITION),
    )),
    Field("tool_calls", "json", (
        JsonItems(Attr(k.GEN_AI_OUTPUT_MESSAGES), TOOL_CALL, flatten="parts", only_types=("tool_call",)),
        JsonItems(_DETAILS_OUT, TOOL_CALL, flatten="parts", only_types=("tool_call",)),
        EventJson(_CHOICE, k.LOG_BODY, TOOL_CALL, path=("message", "tool_calls"), elements=True),
        IndexedItems(k.OI_OUTPUT_TOOL_CALLS_INDEXED,
                     (("id", "id"), ("name", "function.name"), ("arguments", "function.arguments")), TOOL_CALL),
        IndexedItems(k.COMPLETION_TOOL_CALLS_INDEXED,
                     (("id", "id"), ("name", "name"), ("arguments", "arguments")), TOOL_CALL),
        JsonItems(Attr(k.AI_RESPONSE_TOOL_CALLS), TOOL_CALL),
    )),
    Field("input_messages", "json", (
        Concat((JsonItems(Attr(k.GEN_AI_SYSTEM_INSTRUCTIONS), SYSTEM_MESSAGE),
                JsonItems(Attr(k.GEN_AI_INPUT_MESSAGES), MESSAGE))),
        Concat((JsonItems(_DETAILS_SYSTEM, SYSTEM_MESSAGE), JsonItems(_DETAILS_IN, MESSAGE))),
        IndexedItems(k.OI_INPUT_MESSAGES_INDEXED, _MSG_FIELDS, MESSAGE, joined=_OI_PARTS),
        IndexedItems(k.PROMPT_INDEXED, _MSG_FIELDS, MESSAGE),
        JsonItems(Attr(k.AI_PROMPT_MESSAGES), MESSAGE),
        JsonItems(EventAttr(k.EVENT_CONTENT_PROMPT, k.GEN_AI_PROMPT), MESSAGE),
        EventJson(tuple(k.EVENT_MESSAGE_ROLES.items()), k.LOG_BODY, MESSAGE, name_as="role"),
        EventItems(tuple(k.EVENT_MESSAGE_ROLES.items()),
                   (("content", k.EVENT_CONTENT),), MESSAGE, name_as="role"),
        JsonItems(Attr(k.GEN_AI_PROMPT), MESSAGE, path=("messages",)),
        JsonItems(Attr(k.MLFLOW_SPAN_INPUTS), MESSAGE, path=("messages",)),
        TextItem("user", JsonPath(Attr(k.AI_PROMPT), ("prompt",))),
        TextItem("user", Attr(k.OI_INPUT_VALUE, when=AGENTISH)),
    )),
    Field("output_messages", "json", (
        JsonItems(Attr(k.GEN_AI_OUTPUT_MESSAGES), MESSAGE),
        JsonItems(_DETAILS_OUT, MESSAGE),
        EventJson(_CHOICE, k.LOG_BODY, MESSAGE, path=("message",), name_as="role"),
        IndexedItems(k.OI_OUTPUT_MESSAGES_INDEXED, _MSG_FIELDS, MESSAGE, joined=_OI_PARTS),
        IndexedItems(k.COMPLETION_INDEXED, _MSG_FIELDS, MESSAGE),
        TextItem("assistant", Attr(k.AI_RESPONSE_TEXT)),
        JsonItems(EventAttr(k.EVENT_CONTENT_COMPLETION, k.GEN_AI_COMPLETION), MESSAGE),
        JsonItems(Attr(k.MLFLOW_SPAN_OUTPUTS), MESSAGE, path=("choices",)),
        TextItem("assistant", Attr(k.FINAL_RESULT, when=AGENTISH)),
        TextItem("assistant", Attr(k.OI_OUTPUT_VALUE, when=AGENTISH)),
    )),
    Field("retrieved_documents", "json", (
        JsonItems(Attr(k.GEN_AI_RETRIEVAL_DOCUMENTS), DOCUMENT),
        IndexedItems(k.OI_DOCUMENTS_INDEXED, (("id", "id"), ("content", "content"), ("score", "score")), DOCUMENT),
        JsonItems(Attr(k.GEN_AI_MEMORY_RECORDS), DOCUMENT, when=("retrieval",)),  # what search_memory found
    )),
    Field("error_type", "str", (
        Attr(k.ERROR_TYPE), *(EventAttr(event, k.EXCEPTION_TYPE) for event in _EXCEPTION_EVENTS),
    )),
    Field("error_message", "str", (
        *(EventAttr(event, k.EXCEPTION_MESSAGE) for event in _EXCEPTION_EVENTS), Col(k.STATUS_MESSAGE),
    )),
    Field("evaluations", "json", (
        EventItems(((k.EVENT_EVALUATION_RESULT, ""),),
                   (("name", k.GEN_AI_EVALUATION_NAME), ("score", k.GEN_AI_EVALUATION_SCORE_VALUE),
                    ("label", k.GEN_AI_EVALUATION_SCORE_LABEL), ("explanation", k.GEN_AI_EVALUATION_EXPLANATION)),
                   EVALUATION),
        IndexedItems(k.OI_EVALUATIONS_INDEXED, (("name", "name"), ("score", "score"), ("label", "label"),
                                                ("explanation", "explanation")), EVALUATION),
    )),
)

FIELD_BY_NAME = {f.name: f for f in FIELDS}
