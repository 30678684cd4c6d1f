"""Record Microsoft AutoGen (autogen-agentchat 0.7) runs: `AssistantAgent` with tools, a RoundRobinGroupChat,
a Swarm with handoffs and a sub-agent behind an `AgentTool`, the model being `OpenAIChatCompletionClient`
pointed at the scripted OpenAI-compatible stub (no network).

Every scenario is recorded twice:
- `native`: AutoGen's own OpenTelemetry spans only (autogen-core's GenAI `invoke_agent` / `execute_tool` spans
  and, for teams, the agent runtime's messaging spans), on the global tracer provider;
- `openinference`: the same with `openinference-instrumentation-autogen-agentchat` instrumented as well — as a
  user gets it, the native spans stay in the trace beside OpenInference's.

Team runs emit one trace per runtime message unless the caller has a span open, so they are wrapped in one
application span (`support_request`), as users do.

    PYTHONPATH=. /tmp/rec-autogen/bin/python tests/corpus/record/autogen.py
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from importlib.metadata import version
from typing import Any

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.teams import RoundRobinGroupChat, Swarm
from autogen_agentchat.tools import AgentTool
from autogen_core.tools import BaseTool
from autogen_ext.models.openai import OpenAIChatCompletionClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from tests.support.corpus_recording import Recorder, Run
from tests.support.scripted_openai import ScriptedOpenAI, Step, call, fail, say

PINS = ["autogen-agentchat", "autogen-core", "autogen-ext", "openinference-instrumentation-autogen-agentchat",
        "openinference-instrumentation", "opentelemetry-sdk", "openai"]
rec = Recorder("autogen", {p: version(p) for p in PINS}, service="autogen-support-app")
APP = trace.get_tracer("support-app")
INSTR = "native"

SUPPORT = "You are a customer-support agent for an online shop. Use the tools to answer."
MODEL_INFO: Any = {"vision": False, "function_calling": True, "json_output": True, "family": "gpt-4o",
                   "structured_output": True}


# -- the tools ---------------------------------------------------------------------------------------
async def lookup_order(order_id: str) -> str:
    """Look up an order's status by its id."""
    return json.dumps({"order_id": order_id, "status": "shipped", "total": 42.5})


async def lookup_order_down(order_id: str) -> str:
    """Look up an order's status by its id."""
    raise ConnectionError(f"orders database unreachable while reading {order_id}")


async def lookup_order_missing(order_id: str) -> str:
    """Look up an order's status by its id."""
    return f"Error: order {order_id} not found"


async def refund(order_id: str, amount: float) -> str:
    """Refund an amount on an order."""
    return json.dumps({"order_id": order_id, "refunded": amount, "refund_id": "R-981"})


async def refund_declined(order_id: str, amount: float) -> str:
    """Refund an amount on an order."""
    raise RuntimeError(f"payment provider declined refund of {amount} on {order_id}")


async def get_weather(city: str) -> str:
    """Current weather for a city."""
    return json.dumps({"city": city, "temp_c": {"Paris": 18, "Tokyo": 24}.get(city, 15), "sky": "clear"})


async def search_docs(query: str) -> str:
    """Search the help-center articles."""
    return f"Top article for '{query}': 'Returns are accepted within 30 days of delivery.'"


VARIANT = ("_down", "_missing", "_declined")
Tool = BaseTool[Any, Any] | Callable[..., Any] | Callable[..., Awaitable[Any]]


def tools(*fns: Callable[..., Any]) -> list[Tool]:
    """The functions as the agent's tools, a failing variant keeping the real tool's name."""
    for fn in fns:
        for suffix in VARIANT:
            fn.__name__ = fn.__name__.removesuffix(suffix)
    return list(fns)


# -- agents and the scripted model ---------------------------------------------------------------------
def client(url: str, retries: int = 1) -> OpenAIChatCompletionClient:
    return OpenAIChatCompletionClient(model="gpt-4o-mini", base_url=url, api_key="sk-test", model_info=MODEL_INFO,
                                      max_retries=retries, parallel_tool_calls=True)


def for_agent(marker: str, step: Step) -> Step:
    """`step` answers only the agent whose system message contains `marker`."""
    step.when = lambda body: marker in json.dumps(body.get("messages", [])[:1])
    return step


def support_agent(fns: list[Callable[..., Any]], iterations: int = 1, stream: bool = False, retries: int = 1,
                  ) -> Callable[[str], AssistantAgent]:
    def build(url: str) -> AssistantAgent:
        return AssistantAgent("support_agent", model_client=client(url, retries), tools=tools(*fns),
                              system_message=SUPPORT, reflect_on_tool_use=True, max_tool_iterations=iterations,
                              model_client_stream=stream)
    return build


TRIAGE = "You are the triage agent. Transfer refund requests to billing_agent."
BILLING = "You are the billing agent. You issue refunds. Say TERMINATE when done."
ORCH = "You are the concierge. Use the billing_agent tool for refunds."


def swarm(refund_fn: Callable[..., Any]) -> Callable[[str], Swarm]:
    def build(url: str) -> Swarm:
        triage = AssistantAgent("triage_agent", model_client=client(url), tools=tools(lookup_order),
                                handoffs=["billing_agent"], system_message=TRIAGE)
        billing = AssistantAgent("billing_agent", model_client=client(url), tools=tools(refund_fn),
                                 handoffs=["triage_agent"], system_message=BILLING, reflect_on_tool_use=True,
                                 max_tool_iterations=3)
        return Swarm([triage, billing], termination_condition=TextMentionTermination("TERMINATE")
                     | MaxMessageTermination(12))
    return build


def round_robin(url: str) -> RoundRobinGroupChat:
    researcher = AssistantAgent("researcher", model_client=client(url), tools=tools(search_docs),
                                system_message="You are the researcher. Find the policy.", reflect_on_tool_use=True)
    writer = AssistantAgent("writer", model_client=client(url), system_message="You are the writer. Say TERMINATE.")
    return RoundRobinGroupChat([researcher, writer], termination_condition=TextMentionTermination("TERMINATE"))


def concierge(refund_fn: Callable[..., Any]) -> Callable[[str], AssistantAgent]:
    """A parent agent whose tool `billing_agent` (an AgentTool) runs a billing sub-agent to completion."""
    def build(url: str) -> AssistantAgent:
        billing = AssistantAgent("billing_agent", description="Issues refunds.", model_client=client(url),
                                 tools=tools(refund_fn), system_message=BILLING, reflect_on_tool_use=True)
        return AssistantAgent("concierge_agent", model_client=client(url), system_message=ORCH,
                              tools=[AgentTool(billing, return_value_as_last_message=True)], reflect_on_tool_use=True)
    return build


# -- running one scenario ----------------------------------------------------------------------------
def record(scenario: str, shape: str, steps: list[Step], build: Callable[[str], Any], task: str,
           stream: bool = False, raises: bool = False, notes: str = "") -> Run:
    """Run `build(base_url)` (an agent or a team) once on `task` against the scripted steps."""
    server = ScriptedOpenAI(steps)
    url = server.start()
    runner = build(url)
    team = not isinstance(runner, AssistantAgent)

    async def go() -> TaskResult:
        if stream:
            result = None
            async for item in runner.run_stream(task=task):
                result = item if isinstance(item, TaskResult) else result
            assert result is not None
            return result
        done: TaskResult = await runner.run(task=task)
        return done

    try:
        with rec.run(INSTR, scenario, shape) as run:
            with APP.start_as_current_span("support_request") if team else nullcontext():
                try:
                    result = asyncio.run(go())
                    last = result.messages[-1]
                    print(f"{INSTR}/{scenario}: {str(getattr(last, 'content', last))[:90]!r} "
                          f"stop={result.stop_reason!r}")
                except Exception as e:  # the scenarios that end in a framework error
                    if not raises:
                        raise
                    print(f"{INSTR}/{scenario}: raised {type(e).__name__}: {str(e)[:90]}")
    finally:
        server.stop()
    run.notes = notes
    return run


def tool_span(run: Run, name: str, index: int = 0, raised: bool = False) -> ReadableSpan:
    """The tool-execution span. A tool that raised: AutoGen's own `execute_tool <tool>` span, the one that raised
    (ERROR, exception events) under either instrumentation — OpenInference's `<agent>.<tool>` TOOL span around it
    stays OK. Otherwise: OpenInference's TOOL span when instrumented (it carries arguments and result), else
    AutoGen's `execute_tool <tool>` span."""
    if raised:
        return run.span(f"execute_tool {name}", index=index, error=True)
    if INSTR == "openinference":
        return run.span(attr=("tool.name", name), index=index)
    return run.span(f"execute_tool {name}", index=index)


def model_span(run: Run, agent: str, index: int = 0) -> ReadableSpan:
    """The model-call span (OpenInference only); natively the agent's `invoke_agent` span, AutoGen recording
    no model-call span of its own."""
    if INSTR == "openinference":
        return run.span("OpenAIChatCompletionClient.create", index=index)
    return run.span(f"invoke_agent {agent}")


# -- healthy runs --------------------------------------------------------------------------------------
def healthy() -> None:
    record("single_tool", "assistant_agent", [call("lookup_order", {"order_id": "A17"}),
                                              say("Order A17 has shipped.")],
           support_agent([lookup_order]), "Where is my order A17?")
    record("parallel_tools", "assistant_agent",
           [call("get_weather", {"city": "Paris"}, ("get_weather", {"city": "Tokyo"})),
            say("Paris is 18°C and clear; Tokyo is 24°C and clear.")],
           support_agent([get_weather]), "What's the weather in Paris and in Tokyo?")
    record("sequential_tools", "assistant_agent",
           [call("lookup_order", {"order_id": "B42"}), call("refund", {"order_id": "B42", "amount": 42.5}),
            say("Order B42 was refunded 42.50 (refund R-981).")],
           support_agent([lookup_order, refund], iterations=4), "Please refund my order B42 in full.")
    cities = ["Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Perth", "Quito"]
    record("long_conversation", "assistant_agent",
           [call("search_docs", {"query": "return window"}), *[call("get_weather", {"city": c}) for c in cities],
            say("Returns are accepted within 30 days; the weather for the seven cities is above.")],
           support_agent([search_docs, get_weather], iterations=10),
           "What's the return window, and the weather in Paris, Tokyo, Lima, Oslo, Cairo, Perth and Quito, one by one?",
           notes="9 model turns (max_tool_iterations=10): one search, seven sequential weather calls, the answer")
    record("streaming", "assistant_agent_streaming", [call("lookup_order", {"order_id": "C7"}),
                                                      say("Order C7 has shipped and should arrive tomorrow.")],
           support_agent([lookup_order], stream=True), "Has order C7 shipped?", stream=True,
           notes="model_client_stream=True and run_stream(): the model is called with create_stream")
    record("retry_429_then_success", "assistant_agent",
           [fail(429, "Rate limit reached for gpt-4o-mini"), call("lookup_order", {"order_id": "D3"}),
            say("Order D3 has shipped.")],
           support_agent([lookup_order]), "Where is order D3?",
           notes="the openai client (max_retries=1) retries the 429 inside one model call")
    record("string_arg_tool", "assistant_agent",
           [call("search_docs", {"query": "how do I return shoes"}), say("You can return shoes within 30 days.")],
           support_agent([search_docs]), "How do I return shoes?")
    record("round_robin_team", "round_robin",
           [for_agent("researcher", call("search_docs", {"query": "return policy"})),
            for_agent("researcher", say("Policy: returns within 30 days of delivery.")),
            for_agent("writer", say("Good news: you can return it within 30 days. TERMINATE"))],
           round_robin, "Can I still return a jacket I got last week?")
    record("swarm_handoff", "swarm",
           [for_agent("triage", call("transfer_to_billing_agent", {})),
            for_agent("billing agent", call("refund", {"order_id": "F9", "amount": 19.99})),
            for_agent("billing agent", say("Refund of 19.99 on order F9 issued (R-981). TERMINATE"))],
           swarm(refund), "I want a refund of 19.99 for order F9.")
    record("sub_agent_tool", "agent_tool",
           [for_agent("concierge", call("billing_agent", {"task": "Refund 10.00 on order G2"})),
            for_agent("billing agent", call("refund", {"order_id": "G2", "amount": 10.0})),
            for_agent("billing agent", say("Refunded 10.00 on G2 (R-981). TERMINATE")),
            for_agent("concierge", say("Done: 10.00 was refunded on order G2."))],
           concierge(refund), "Please refund 10 on order G2.",
           notes="the billing sub-agent runs inside the concierge's AgentTool call")


# -- failure runs ------------------------------------------------------------------------------------
def failures() -> None:
    run = record("tool_raises", "assistant_agent",
                 [call("lookup_order", {"order_id": "H1"}),
                  say("Sorry, I could not reach the orders system to look up H1.")],
                 support_agent([lookup_order_down]), "Where is order H1?")
    run.expect("tool_error", tool_span(run, "lookup_order", raised=True),
               "lookup_order raised ConnectionError; the agent reported it could not look the order up")

    run = record("tool_error_string", "assistant_agent",
                 [call("lookup_order", {"order_id": "Z99"}), say("I could not find an order Z99.")],
                 support_agent([lookup_order_missing]), "Where is order Z99?")
    run.expect("tool_error", tool_span(run, "lookup_order"),
               "lookup_order returned 'Error: order Z99 not found' (a string, not an exception)")

    run = record("unknown_tool", "assistant_agent",
                 [call("cancel_order", {"order_id": "J4"}), say("I can't cancel orders, only look them up.")],
                 support_agent([lookup_order]), "Cancel order J4.",
                 notes="AutoGen answers an unknown tool with an error result ('not found in any workbench') "
                       "and opens no tool span")
    run.expect("unknown_tool", model_span(run, "support_agent"),
               "the model's reply requested cancel_order, which the agent was not offered"
               + ("" if INSTR == "openinference" else
                  " (AutoGen records no model-call span: the agent's invoke_agent span holds that model call)"))

    run = record("bad_tool_args", "assistant_agent",
                 [call("refund", {"order_id": "K8", "amount": "all of it"}),
                  say("The refund could not be processed.")],
                 support_agent([refund]), "Refund everything on K8.",
                 notes="the tool's pydantic args model refuses amount='all of it' inside the execute_tool span")
    run.expect("invalid_tool_args", model_span(run, "support_agent") if INSTR == "openinference"
               else run.span("execute_tool refund", error=True),
               "the model sent amount='all of it' where the refund schema requires a number"
               + ("" if INSTR == "openinference" else
                  " (no model-call span natively: the execute_tool span whose argument validation refused it)"))

    run = record("loop", "assistant_agent", [call("lookup_order", {"order_id": "L5"})],
                 support_agent([lookup_order], iterations=6), "Where is order L5?", raises=True,
                 notes="the model repeats the same call; after max_tool_iterations=6 the reflection call asks for "
                       "the tool again and AutoGen raises 'Reflect on tool use produced no valid text response.'")
    run.expect("loop", tool_span(run, "lookup_order"),
               "the model called lookup_order(order_id='L5') again and again with the same result until stopped")

    run = record("max_iterations", "assistant_agent",
                 [call("search_docs", {"query": q}) for q in
                  ["return policy", "refund policy", "exchange policy", "store credit", "gift returns"]],
                 support_agent([search_docs], iterations=4), "Explain every returns-related policy.", raises=True,
                 notes="different searches each turn; after max_tool_iterations=4 the reflection call asks for another "
                       "search and AutoGen raises 'Reflect on tool use produced no valid text response.'")
    run.expect("max_iterations", run.span("invoke_agent support_agent"),
               "the agent used its max_tool_iterations=4 with the model still asking for searches; the reflection "
               "call asked for one more and AutoGen raised 'Reflect on tool use produced no valid text response.' "
               "on the agent's invoke_agent span (no span names the limit itself)")

    run = record("rate_limited", "assistant_agent", [fail(429, "Rate limit reached for gpt-4o-mini")],
                 support_agent([lookup_order], retries=0), "Where is order M2?", raises=True,
                 notes="every request gets 429; max_retries=0 and the run raises RateLimitError")
    run.expect("rate_limited", run.span("OpenAIChatCompletionClient.create") if INSTR == "openinference"
               else run.span("invoke_agent support_agent"),
               "the model call was refused with HTTP 429 and never recovered"
               + ("" if INSTR == "openinference" else " (no model-call span natively: the invoke_agent span)"))

    run = record("handoff_failure", "swarm",
                 [for_agent("triage", call("transfer_to_billing_agent", {})),
                  for_agent("billing agent", call("refund", {"order_id": "N3", "amount": 30.0})),
                  for_agent("billing agent", call("transfer_to_triage_agent", {})),
                  for_agent("triage", say("Billing could not refund N3 right now; a human will follow up. TERMINATE"))],
                 swarm(refund_declined), "Refund 30 on order N3.")
    run.expect("delegation_failure", tool_span(run, "refund", raised=True),
               "billing_agent's refund raised (provider declined); it handed back to triage, which went on",
               failed_agent="billing_agent")

    run = record("sub_agent_failure", "agent_tool",
                 [for_agent("concierge", call("billing_agent", {"task": "Refund 12.00 on order P6"})),
                  for_agent("billing agent", call("refund", {"order_id": "P6", "amount": 12.0})),
                  for_agent("billing agent", say("The refund failed: the payment provider declined it. TERMINATE")),
                  for_agent("concierge", say("Billing could not refund P6; I've opened a ticket for you."))],
                 concierge(refund_declined), "Please refund 12 on order P6.")
    run.expect("delegation_failure", tool_span(run, "refund", raised=True),
               "the billing sub-agent's refund raised; the concierge went on and answered",
               failed_agent="billing_agent")

    run = record("error_swallowed", "assistant_agent",
                 [call("refund", {"order_id": "Q1", "amount": 25.0}), say("Your refund of 25.00 on Q1 is done!")],
                 support_agent([refund_declined]), "Refund 25 on order Q1.")
    run.expect("error_swallowed", tool_span(run, "refund", raised=True),
               "refund raised (declined) but the agent told the user the refund was done")


if __name__ == "__main__":
    healthy()
    failures()
    from openinference.instrumentation.autogen_agentchat import AutogenAgentChatInstrumentor

    AutogenAgentChatInstrumentor().instrument(tracer_provider=rec.provider)
    INSTR = "openinference"
    healthy()
    failures()
    rec.write()
