"""A hand-written tool-calling support agent on the `openai` client, as an app instrumented by the official
`opentelemetry-instrumentation-openai-v2` writes it (shared by the corpus recorder
`tests/corpus/record/openai_v2.py` and the capture-mode producer `tests/support/producers/openai_v2_capture.py`).

openai-v2 instruments only the client (one `chat {model}` span per request), so the app makes its own
agent and tool spans the way the GenAI semantic conventions describe them: an `invoke_agent {agent}`
span around the loop and an `execute_tool {tool}` span per tool call (gen_ai.operation.name,
gen_ai.tool.name, gen_ai.tool.call.id, gen_ai.tool.type; the opt-in gen_ai.tool.call.arguments /
.result only when `CONTENT` is on; error.type and an ERROR status when the tool raised). `tracer` and
`CONTENT` are module settings a driver may replace.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

CONTENT = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").upper() in (
    "SPAN_ONLY", "SPAN_AND_EVENT")
MODEL = "gpt-4o-mini"


# -- the app's tools --------------------------------------------------------------------------------
ORDERS = {"A17": {"status": "shipped", "total": 42.5}, "B22": {"status": "processing", "total": 19.0}}


def lookup_order(order_id: str) -> str:
    if order_id == "X00":
        raise ConnectionError("orders database timed out after 5s")
    if order_id not in ORDERS:
        return f"Error: order {order_id} not found"
    return json.dumps({"order_id": order_id, **ORDERS[order_id]})


def refund(order_id: str, amount: float) -> str:
    if order_id == "B22":
        raise RuntimeError("payment gateway declined the refund (code 402)")
    return json.dumps({"order_id": order_id, "refunded": amount, "status": "ok"})


def get_weather(city: str) -> str:
    return json.dumps({"city": city, "temp_c": {"Paris": 18, "Tokyo": 24, "Oslo": 9}.get(city, 20), "sky": "clear"})


def search_docs(query: str) -> str:
    return json.dumps([{"title": f"About {query}", "snippet": f"How {query} works in your account."}])


def _schema(name: str, description: str, **props: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": {k: {"type": t} for k, t in props.items()}, "required": list(props),
        "additionalProperties": False}}}


SCHEMAS = {
    "lookup_order": _schema("lookup_order", "Look up an order's status and total by its id.", order_id="string"),
    "refund": _schema("refund", "Refund an amount of money on an order.", order_id="string", amount="number"),
    "get_weather": _schema("get_weather", "Current weather for a city.", city="string"),
    "search_docs": _schema("search_docs", "Search the help-center articles.", query="string"),
    "billing_agent": _schema("billing_agent", "Ask the billing agent to do refunds.", request="string"),
}
FUNCTIONS: dict[str, Callable[..., str]] = {"lookup_order": lookup_order, "refund": refund,
                                            "get_weather": get_weather, "search_docs": search_docs}

SUPPORT = "You are a customer-support agent for an online shop. Use the tools to answer."
BILLING = "You are billing_agent: you handle refunds and payments."
ORCH = "You are orchestrator: delegate billing work to billing_agent."


# -- the app's agent loop ---------------------------------------------------------------------------
class MaxIterationsExceeded(RuntimeError):
    pass


class UnknownTool(LookupError):
    pass


tracer = trace.get_tracer("corpus.support_app", "1.0")


@dataclass
class Agent:
    name: str
    instructions: str
    tools: list[str]
    max_iterations: int = 10
    stream: bool = False
    app_retries: int = 0  # the app's own retries of a refused (429) model call


def _messages_attr(role: str, text: str, finish: str | None = None) -> str:
    message: dict[str, Any] = {"role": role, "parts": [{"type": "text", "content": text}]}
    if finish:
        message["finish_reason"] = finish
    return json.dumps([message])


def run_agent(client: openai.OpenAI, agent: Agent, prompt: str) -> str:
    """The agent loop under an `invoke_agent` span: call the model, run the tools it asks for, repeat."""
    with tracer.start_as_current_span(f"invoke_agent {agent.name}", kind=SpanKind.INTERNAL,
                                      record_exception=True, set_status_on_exception=False) as span:
        span.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.provider.name": "openai",
                             "gen_ai.agent.name": agent.name, "gen_ai.request.model": MODEL})
        if CONTENT:
            span.set_attribute("gen_ai.input.messages", _messages_attr("user", prompt))
        try:
            answer = _loop(client, agent, prompt)
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.set_attribute("error.type", type(exc).__qualname__)
            raise
        if CONTENT:
            span.set_attribute("gen_ai.output.messages", _messages_attr("assistant", answer, "stop"))
        return answer


def _loop(client: openai.OpenAI, agent: Agent, prompt: str) -> str:
    messages: list[dict[str, Any]] = [{"role": "system", "content": agent.instructions},
                                      {"role": "user", "content": prompt}]
    tools = [SCHEMAS[t] for t in agent.tools]
    for _ in range(agent.max_iterations):
        text, calls = _complete(client, agent, messages, tools)
        messages.append({"role": "assistant", "content": text,
                         **({"tool_calls": calls} if calls else {})})
        if not calls:
            return text or ""
        for tc in calls:
            result = execute_tool(client, agent, tc)
            messages.append({"role": "tool", "tool_call_id": tc["id"], "content": result})
    raise MaxIterationsExceeded(f"{agent.name} stopped after {agent.max_iterations} iterations")


def _complete(client: openai.OpenAI, agent: Agent, messages: list[dict[str, Any]],
              tools: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """One model call (streamed or not), retried by the app on 429 up to `agent.app_retries` times."""
    params: Any = {"model": MODEL, "messages": messages, "tools": tools}  # plain dicts, as the API takes them
    for attempt in range(agent.app_retries + 1):
        try:
            if not agent.stream:
                reply = client.chat.completions.create(**params)
                message = reply.choices[0].message
                return message.content, [tc.model_dump() for tc in message.tool_calls or []]
            text, calls = "", dict[int, dict[str, Any]]()
            stream = client.chat.completions.create(**params, stream=True, stream_options={"include_usage": True})
            for chunk in stream:
                for choice in chunk.choices:
                    text += choice.delta.content or ""
                    for d in choice.delta.tool_calls or []:
                        tc = calls.setdefault(d.index, {"id": "", "type": "function",
                                                        "function": {"name": "", "arguments": ""}})
                        tc["id"] = d.id or tc["id"]
                        if d.function:
                            tc["function"]["name"] += d.function.name or ""
                            tc["function"]["arguments"] += d.function.arguments or ""
            return text or None, [calls[i] for i in sorted(calls)]
        except openai.RateLimitError:
            if attempt == agent.app_retries:
                raise
    raise AssertionError("unreachable")


def execute_tool(client: openai.OpenAI, agent: Agent, tc: dict[str, Any]) -> str:
    """Run one requested tool under an `execute_tool` span; a failure goes back to the model as text."""
    name, arguments = tc["function"]["name"], tc["function"]["arguments"]
    with tracer.start_as_current_span(f"execute_tool {name}", kind=SpanKind.INTERNAL,
                                      record_exception=False, set_status_on_exception=False) as span:
        span.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                             "gen_ai.tool.call.id": tc["id"], "gen_ai.tool.type": "function",
                             "gen_ai.agent.name": agent.name})
        if name in SCHEMAS:
            span.set_attribute("gen_ai.tool.description", SCHEMAS[name]["function"]["description"])
        if CONTENT:
            span.set_attribute("gen_ai.tool.call.arguments", arguments)
        try:
            if name not in agent.tools:
                raise UnknownTool(f"unknown tool {name!r}")
            args = json.loads(arguments)
            if name == "billing_agent":
                result = run_agent(client, Agent("billing_agent", BILLING, ["lookup_order", "refund"]),
                                   args["request"])
            else:
                result = FUNCTIONS[name](**args)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            span.set_attribute("error.type", type(exc).__qualname__)
            result = f"Error: {type(exc).__name__}: {exc}"
        if CONTENT:
            span.set_attribute("gen_ai.tool.call.result", result)
        return result



# -- agents of the app -------------------------------------------------------------------------------
def support(*tools: str, **kw: Any) -> Agent:
    return Agent("support_agent", SUPPORT, list(tools), **kw)


def orchestrator() -> Agent:
    return Agent("orchestrator", ORCH, ["lookup_order", "billing_agent"])
