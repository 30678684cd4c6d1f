"""Record LlamaIndex agent runs (FunctionAgent, ReActAgent, AgentWorkflow handoffs, a sub-agent behind a
tool) under OpenInference's LlamaIndex instrumentation, the model being LlamaIndex's own `OpenAI` LLM
pointed at the scripted OpenAI-compatible stub (no network).

    PYTHONPATH=. /tmp/rec-llamaindex/bin/python tests/corpus/record/llamaindex.py
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

from tests.support.corpus_recording import Recorder, Run
from tests.support.scripted_openai import ScriptedOpenAI, Step, call, fail, say

PINS = ["llama-index-core", "llama-index-llms-openai", "openinference-instrumentation-llama-index",
        "openinference-instrumentation", "opentelemetry-sdk", "openai"]
rec = Recorder("llamaindex", {p: version(p) for p in PINS}, service="llamaindex-support-app")
LlamaIndexInstrumentor().instrument(tracer_provider=rec.provider)

# imported after instrumenting, as the instrumentation's docs ask
from llama_index.core.agent.workflow import (  # noqa: E402
    AgentWorkflow,
    BaseWorkflowAgent,
    FunctionAgent,
    ReActAgent,
)
from llama_index.core.tools import FunctionTool  # noqa: E402
from llama_index.llms.openai import OpenAI  # noqa: E402

INSTR = "openinference"
SUPPORT = "You are a customer-support agent for an online shop. Use the tools to answer."


# -- the tools ---------------------------------------------------------------------------------------
def lookup_order(order_id: str) -> str:
    """Look up an order's status by its id."""
    return json.dumps({"order_id": order_id, "status": "shipped", "total": 42.5})


def lookup_order_down(order_id: str) -> str:
    """Look up an order's status by its id."""
    raise ConnectionError(f"orders database unreachable while reading {order_id}")


def lookup_order_missing(order_id: str) -> str:
    """Look up an order's status by its id."""
    return f"Error: order {order_id} not found"


def refund(order_id: str, amount: float) -> str:
    """Refund an amount on an order."""
    return json.dumps({"order_id": order_id, "refunded": amount, "refund_id": "R-981"})


def refund_declined(order_id: str, amount: float) -> str:
    """Refund an amount on an order."""
    raise RuntimeError(f"payment provider declined refund of {amount} on {order_id}")


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return json.dumps({"city": city, "temp_c": {"Paris": 18, "Tokyo": 24}.get(city, 15), "sky": "clear"})


def search_docs(query: str) -> str:
    """Search the help-center articles."""
    return f"Top article for '{query}': 'Returns are accepted within 30 days of delivery.'"


VARIANT = ("_down", "_missing", "_declined", "_bad_amount")


def tool(fn: Callable[..., Any]) -> FunctionTool:
    """The function as a FunctionTool named as users name it (a failing variant keeps the real tool's name)."""
    name = fn.__name__
    for suffix in VARIANT:
        name = name.removesuffix(suffix)
    fn.__name__ = fn.__qualname__ = name
    return FunctionTool.from_defaults(fn=fn)


def llm(url: str, **kwargs: Any) -> OpenAI:
    return OpenAI(model="gpt-4o-mini", api_base=url, api_key="sk-test", max_retries=kwargs.pop("max_retries", 1),
                  **kwargs)


def for_agent(marker: str) -> Callable[[dict], bool]:
    """A step predicate: the request comes from the agent whose system prompt contains `marker`."""
    return lambda body: marker in json.dumps(body.get("messages", [])[:1])


def agent_step(marker: str, step: Step) -> Step:
    step.when = for_agent(marker)
    return step


# -- running one scenario ----------------------------------------------------------------------------
def record(scenario: str, shape: str, steps: list[Step], build: Callable[[str], Any], prompt: str,
           stream: bool = False, raises: bool = False, notes: str = "", **run_kwargs: Any) -> Run:
    """Run `build(base_url)` (an agent or an AgentWorkflow) once on `prompt` against the scripted steps."""
    server = ScriptedOpenAI(steps)
    url = server.start()
    workflow = build(url)

    async def go() -> Any:
        handler = workflow.run(user_msg=prompt, **run_kwargs)
        if stream:
            async for _ in handler.stream_events():
                pass
        return await handler

    try:
        with rec.run(INSTR, scenario, shape) as run:
            try:
                result = asyncio.run(go())
                print(f"{scenario}: {str(result).strip()[:100]}")
            except Exception as e:  # the scenarios that end in a framework error
                if not raises:
                    raise
                print(f"{scenario}: raised {type(e).__name__}: {str(e)[:100]}")
    finally:
        server.stop()
    run.notes = notes
    return run


def support_agent(tools: list[Callable[..., Any]], **kwargs: Any) -> Callable[[str], BaseWorkflowAgent]:
    def build(url: str) -> BaseWorkflowAgent:
        return FunctionAgent(name="support_agent", description="Answers order questions.", system_prompt=SUPPORT,
                             tools=[tool(f) for f in tools], llm=llm(url, max_retries=kwargs.pop("max_retries", 1)),
                             streaming=kwargs.pop("streaming", False))
    return build


TRIAGE = "You are the triage agent. Hand refund requests to billing_agent."
BILLING = "You are the billing agent. You issue refunds."


def triage_workflow(refund_fn: Callable[..., Any]) -> Callable[[str], AgentWorkflow]:
    def build(url: str) -> AgentWorkflow:
        triage = FunctionAgent(name="triage_agent", description="Routes customer requests.", system_prompt=TRIAGE,
                               tools=[tool(lookup_order)], llm=llm(url), streaming=False,
                               can_handoff_to=["billing_agent"])
        billing = FunctionAgent(name="billing_agent", description="Issues refunds.", system_prompt=BILLING,
                                tools=[tool(refund_fn)], llm=llm(url), streaming=False,
                                can_handoff_to=["triage_agent"])
        return AgentWorkflow(agents=[triage, billing], root_agent="triage_agent")
    return build


ORCH = "You are the concierge. Ask the billing assistant (ask_billing) for anything about refunds."


def orchestrator(refund_fn: Callable[..., Any]) -> Callable[[str], BaseWorkflowAgent]:
    """A parent agent whose tool `ask_billing` runs a billing sub-agent to completion."""
    def build(url: str) -> BaseWorkflowAgent:
        billing = FunctionAgent(name="billing_agent", description="Issues refunds.", system_prompt=BILLING,
                                tools=[tool(refund_fn)], llm=llm(url), streaming=False)

        async def ask_billing(request: str) -> str:
            """Ask the billing assistant to handle a refund request."""
            return str(await billing.run(user_msg=request))

        return FunctionAgent(name="concierge_agent", description="Front desk.", system_prompt=ORCH,
                             tools=[FunctionTool.from_defaults(async_fn=ask_billing)], llm=llm(url), streaming=False)
    return build


def react_agent(tools: list[Callable[..., Any]]) -> Callable[[str], BaseWorkflowAgent]:
    def build(url: str) -> BaseWorkflowAgent:
        return ReActAgent(name="react_support_agent", description="Answers order questions.",
                          tools=[tool(f) for f in tools], llm=llm(url), streaming=False)
    return build


def react(thought: str, action: str, args: dict[str, Any]) -> Step:
    return say(f"Thought: {thought}\nAction: {action}\nAction Input: {json.dumps(args)}")


def react_answer(answer: str) -> Step:
    return say(f"Thought: I can answer without using any more tools.\nAnswer: {answer}")


# -- healthy runs --------------------------------------------------------------------------------------
def healthy() -> None:
    record("single_tool", "function_agent", [call("lookup_order", {"order_id": "A17"}),
                                             say("Order A17 has shipped.")],
           support_agent([lookup_order]), "Where is my order A17?")
    record("parallel_tools", "function_agent",
           [call("get_weather", {"city": "Paris"}, ("get_weather", {"city": "Tokyo"})),
            say("Paris is 18°C and clear; Tokyo is 24°C and clear.")],
           support_agent([get_weather]), "What's the weather in Paris and in Tokyo?")
    record("sequential_tools", "function_agent",
           [call("lookup_order", {"order_id": "B42"}), call("refund", {"order_id": "B42", "amount": 42.5}),
            say("Order B42 was refunded 42.50 (refund R-981).")],
           support_agent([lookup_order, refund]), "Please refund my order B42 in full.")
    cities = ["Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Perth", "Quito"]
    record("long_conversation", "function_agent",
           [call("search_docs", {"query": "return window"}), *[call("get_weather", {"city": c}) for c in cities],
            say("Returns are accepted within 30 days; weather for all seven cities is listed above.")],
           support_agent([search_docs, get_weather]),
           "What's the return window, and the weather in Paris, Tokyo, Lima, Oslo, Cairo, Perth and Quito, one by one?",
           max_iterations=20, notes="9 model turns: one search, seven sequential weather calls, the answer")
    record("streaming", "function_agent_streaming", [call("lookup_order", {"order_id": "C7"}),
                                                     say("Order C7 has shipped and should arrive tomorrow.")],
           support_agent([lookup_order], streaming=True), "Has order C7 shipped?", stream=True,
           notes="FunctionAgent(streaming=True): the LLM span is OpenAI.astream_chat; events consumed by the caller")
    record("retry_429_then_success", "function_agent",
           [fail(429, "Rate limit reached for gpt-4o-mini"), call("lookup_order", {"order_id": "D3"}),
            say("Order D3 has shipped.")],
           support_agent([lookup_order]), "Where is order D3?",
           notes="the openai client (max_retries=1) retries the 429 inside one LLM span")
    record("string_arg_tool", "function_agent",
           [call("search_docs", {"query": "how do I return shoes"}), say("You can return shoes within 30 days.")],
           support_agent([search_docs]), "How do I return shoes?")
    record("react_single_tool", "react_agent",
           [react("I need the order status.", "lookup_order", {"order_id": "E5"}), react_answer("Order E5 has shipped.")],
           react_agent([lookup_order]), "Where is order E5?",
           notes="ReActAgent: the tool call is parsed from the model's text (no tool_calls in the LLM output)")
    record("handoff", "agent_workflow",
           [agent_step("triage", call("handoff", {"to_agent": "billing_agent", "reason": "refund request"})),
            agent_step("billing agent", call("refund", {"order_id": "F9", "amount": 19.99})),
            agent_step("billing agent", say("Refund of 19.99 on order F9 issued (R-981)."))],
           triage_workflow(refund), "I want a refund of 19.99 for order F9.")
    record("sub_agent_tool", "agent_as_tool",
           [agent_step("concierge", call("ask_billing", {"request": "Refund 10.00 on order G2"})),
            agent_step("billing agent", call("refund", {"order_id": "G2", "amount": 10.0})),
            agent_step("billing agent", say("Refunded 10.00 on G2 (R-981).")),
            agent_step("concierge", say("Done: 10.00 was refunded on order G2."))],
           orchestrator(refund), "Please refund 10 on order G2.",
           notes="the sub-agent runs inside the parent's FunctionTool.acall span")


# -- failure runs ------------------------------------------------------------------------------------
def failures() -> None:
    run = record("tool_raises", "function_agent",
                 [call("lookup_order", {"order_id": "H1"}),
                  say("Sorry, I could not reach the orders system to look up H1.")],
                 support_agent([lookup_order_down]), "Where is order H1?")
    run.expect("tool_error", run.span("FunctionTool.acall", error=True),
               "lookup_order raised ConnectionError; the agent reported it could not look the order up")

    run = record("tool_error_string", "function_agent",
                 [call("lookup_order", {"order_id": "Z99"}), say("I could not find an order Z99.")],
                 support_agent([lookup_order_missing]), "Where is order Z99?")
    run.expect("tool_error", run.span("FunctionTool.acall"),
               "lookup_order returned 'Error: order Z99 not found' (a string, not an exception)")

    run = record("unknown_tool", "function_agent",
                 [call("cancel_order", {"order_id": "J4"}), say("I can't cancel orders, only look them up.")],
                 support_agent([lookup_order]), "Cancel order J4.",
                 notes="LlamaIndex answers the unknown tool with an error ToolOutput; no FunctionTool span exists")
    run.expect("unknown_tool", run.span(contains="chat", attr=("llm.finish_reason", "tool_calls")),
               "the model's reply requested cancel_order, which the agent was not offered")

    run = record("bad_tool_args", "function_agent",
                 [call("refund", {"order_id": "K8", "amount": "all of it"}),
                  say("The refund could not be processed.")],
                 support_agent([refund_bad_amount]), "Refund everything on K8.",
                 notes="amount must be a number; the tool validates and raises")
    run.expect("invalid_tool_args", run.span(contains="chat", attr=("llm.finish_reason", "tool_calls")),
               "the model sent amount='all of it' where the refund schema requires a number")

    run = record("bad_tool_args_missing", "function_agent",
                 [call("lookup_order", {"order": "K9"}), say("I could not look up that order.")],
                 support_agent([lookup_order]), "Status of K9?",
                 notes="the required order_id is missing: FunctionTool raises TypeError inside its span")
    run.expect("invalid_tool_args", run.span(contains="chat", attr=("llm.finish_reason", "tool_calls")),
               "the model sent {'order': 'K9'} without the required order_id")

    run = record("loop", "function_agent", [call("lookup_order", {"order_id": "L5"})],
                 support_agent([lookup_order]), "Where is order L5?", raises=True, max_iterations=6,
                 notes="the model repeats the same call until max_iterations=6 raises WorkflowRuntimeError")
    run.expect("loop", run.span("FunctionTool.acall"),
               "the model called lookup_order(order_id='L5') again and again with the same result until stopped")

    run = record("max_iterations", "function_agent",
                 [call("search_docs", {"query": q}) for q in
                  ["return policy", "refund policy", "exchange policy", "store credit", "gift returns"]],
                 support_agent([search_docs]), "Explain every returns-related policy.", raises=True,
                 max_iterations=4, notes="different searches each turn; max_iterations=4 raises WorkflowRuntimeError")
    run.expect("max_iterations", run.span(error=True, contains="parse_agent_output"),
               "parse_agent_output raised 'Max iterations of 4 reached'")

    run = record("rate_limited", "function_agent", [fail(429, "Rate limit reached for gpt-4o-mini")],
                 support_agent([lookup_order]), "Where is order M2?", raises=True,
                 notes="every request gets 429; the client's one retry fails too and the run raises")
    run.expect("rate_limited", run.span(contains="chat", error=True),
               "the model call was refused with HTTP 429 and never recovered")

    run = record("handoff_failure", "agent_workflow",
                 [agent_step("triage", call("handoff", {"to_agent": "billing_agent", "reason": "refund request"})),
                  agent_step("billing agent", call("refund", {"order_id": "N3", "amount": 30.0})),
                  agent_step("billing agent", call("handoff", {"to_agent": "triage_agent",
                                                               "reason": "refund failed"})),
                  agent_step("triage", say("Billing could not refund N3 right now; a human will follow up."))],
                 triage_workflow(refund_declined), "Refund 30 on order N3.")
    run.expect("delegation_failure", run.span("FunctionTool.acall", error=True),
               "billing_agent's refund raised (provider declined); it handed back to triage, which went on",
               failed_agent="billing_agent")

    run = record("sub_agent_failure", "agent_as_tool",
                 [agent_step("concierge", call("ask_billing", {"request": "Refund 12.00 on order P6"})),
                  agent_step("billing agent", call("refund", {"order_id": "P6", "amount": 12.0})),
                  agent_step("billing agent", say("The refund failed: the payment provider declined it.")),
                  agent_step("concierge", say("Billing could not refund P6; I've opened a ticket for you."))],
                 orchestrator(refund_declined), "Please refund 12 on order P6.")
    run.expect("delegation_failure", run.span("FunctionTool.acall", error=True),
               "the billing sub-agent's refund raised; the concierge went on and answered",
               failed_agent="billing_agent")

    run = record("error_swallowed", "function_agent",
                 [call("refund", {"order_id": "Q1", "amount": 25.0}), say("Your refund of 25.00 on Q1 is done!")],
                 support_agent([refund_declined]), "Refund 25 on order Q1.")
    run.expect("error_swallowed", run.span("FunctionTool.acall", error=True),
               "refund raised (declined) but the agent told the user the refund was done")

    run = record("react_unknown_tool", "react_agent",
                 [react("I should cancel it.", "cancel_order", {"order_id": "R7"}),
                  react_answer("I cannot cancel orders; please contact support.")],
                 react_agent([lookup_order]), "Cancel order R7.",
                 notes="ReActAgent: the unknown tool is named in the model's text; no tool span exists")
    run.expect("unknown_tool", run.span(contains="chat"),
               "the model's first reply asked for Action: cancel_order, which the agent was not offered")


def refund_bad_amount(order_id: str, amount: float) -> str:
    """Refund an amount on an order."""
    if not isinstance(amount, (int, float)):
        raise ValueError(f"amount must be a number, got {amount!r}")
    return refund(order_id, amount)


if __name__ == "__main__":
    healthy()
    failures()
    rec.write()
