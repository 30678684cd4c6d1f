"""The canonical agent-span model: the one shape every convention is mapped into.

This is the contract between `semconv` (which fills it, in ClickHouse SQL and in
Python from the same table) and the analyzer (which reads it). Column names here are
the names of the SQL view's columns and of `CanonicalSpan`'s fields, in order.
JSON-valued fields hold compact JSON text (lists of objects), never Python reprs.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Category = Literal["agent", "workflow", "llm", "embedding", "retrieval", "rerank", "tool", "guardrail", "other"]
CATEGORIES: tuple[str, ...] = (
    "agent", "workflow", "llm", "embedding", "retrieval", "rerank", "tool", "guardrail", "other",
)


class CanonicalSpan(NamedTuple):
    """One span in canonical form (immutable; `_replace` gives a changed copy, `_asdict` a dict).

    A named tuple rather than a frozen dataclass: a round builds a million of them from columns,
    and a tuple is built from a row in one step (several times faster than filling a dataclass' dict) and
    takes no dict per span; its fields read as fast."""

    # -- identity and timing (straight from otel_traces) --------------------------
    trace_id: str
    span_id: str
    parent_span_id: str
    span_name: str
    span_kind: str
    service_name: str
    start_ns: int  # Timestamp as Unix nanoseconds
    duration_ns: int
    status_code: str  # Unset | Ok | Error
    status_message: str = ""
    tenant: str = ""  # resource attribute agentmortem.tenant
    environment: str = ""  # deployment.environment(.name)
    # -- classification ---------------------------------------------------------
    category: str = "other"  # one of CATEGORIES
    convention: str = ""  # which convention's keys matched first (e.g. "otel_genai", "openinference")
    operation: str = ""  # gen_ai.operation.name or the convention's equivalent
    # -- who / where ----------------------------------------------------------------
    agent_name: str = ""
    agent_id: str = ""
    conversation_id: str = ""
    user_id: str = ""
    # -- model call ---------------------------------------------------------------
    provider: str = ""
    request_model: str = ""
    response_model: str = ""
    input_tokens: int | None = None  # includes cached input tokens
    output_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None  # only when the span itself carries a cost
    finish_reasons: tuple[str, ...] = ()
    # -- tools ----------------------------------------------------------------------
    tool_name: str = ""
    tool_call_id: str = ""
    tool_arguments: str = ""  # as sent (JSON text when the convention uses JSON)
    tool_result: str = ""
    tool_definitions: str = ""  # JSON: [{"name":…, "description":…, "parameters":{…}}] offered to the model
    tool_calls: str = ""  # JSON: [{"id":…, "name":…, "arguments":…}] the model asked for
    # -- content --------------------------------------------------------------------
    input_messages: str = ""  # JSON: [{"role":…, "content":…}]
    output_messages: str = ""  # JSON: [{"role":…, "content":…}]
    retrieved_documents: str = ""  # JSON: [{"id":…, "content":…, "score":…}]
    # -- errors and evaluations -----------------------------------------------------
    error_type: str = ""
    error_message: str = ""
    evaluations: str = ""  # JSON: [{"name":…, "score":…, "label":…, "explanation":…}]


CANONICAL_COLUMNS: tuple[str, ...] = CanonicalSpan._fields
