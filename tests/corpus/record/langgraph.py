"""Record LangGraph runs (the prebuilt ReAct agent and supervisor graphs with sub-agents) under the
OpenInference and the OpenLLMetry LangChain instrumentations.

The models are langchain-core's `GenericFakeChatModel` (with `bind_tools` kept) scripted per scenario,
and, for streaming and HTTP 429s, langchain-openai's `ChatOpenAI` pointed at `ScriptedOpenAI` on the
loopback (a dummy key). Both instrumentations patch LangChain's callback manager, so each records in a
process of its own:

    PYTHONPATH=. /tmp/rec-langgraph/bin/python tests/corpus/record/langgraph.py              # both
    PYTHONPATH=. /tmp/rec-langgraph/bin/python tests/corpus/record/langgraph.py openinference

Each process rewrites its own instrumentation's entries of `frameworks/langgraph/manifest.json` and
keeps the other's. `... langgraph.py openllmetry --dry [scenario ...]` prints the span trees (and the
named scenarios' attributes and events) instead of writing.
"""

# ruff: noqa: E402  (the framework's imports follow the import-path fix below)
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import Any

# this file is named like the framework: keep its folder off the import path
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.errors import GraphRecursionError
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, create_react_agent, tools_condition
from langgraph.types import RetryPolicy
from langgraph_supervisor import create_supervisor

from tests.support.corpus_recording import CORPUS, Recorder, Run
from tests.support.scripted_openai import ScriptedOpenAI, call, fail, say

warnings.filterwarnings("ignore", message="create_react_agent has been moved")  # LangGraph 1.x; still shipped

FRAMEWORK = "langgraph"
INSTRUMENTATIONS = ("openinference", "openllmetry")
PACKAGES = ("langgraph", "langgraph-prebuilt", "langgraph-supervisor", "langchain-core", "langchain-openai",
            "openinference-instrumentation-langchain", "opentelemetry-instrumentation-langchain", "opentelemetry-sdk")
MODEL = "gpt-4o-mini"


# -- the model ------------------------------------------------------------------------------------
class ToolCallingFakeChatModel(GenericFakeChatModel):
    """`GenericFakeChatModel` whose `bind_tools` keeps the tools (the base class refuses)."""

    model_name: str = MODEL

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        kwargs.pop("parallel_tool_calls", None)
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    @property
    def _llm_type(self) -> str:
        return "openai"  # lets instrumentations infer a provider

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}  # in the invocation parameters, as ChatOpenAI has it


_ids = itertools.count(1)


def _meta(finish: str, tokens: tuple[int, int]) -> dict[str, Any]:
    return {"usage_metadata": {"input_tokens": tokens[0], "output_tokens": tokens[1],
                               "total_tokens": sum(tokens)},
            "response_metadata": {"model_name": f"{MODEL}-2024-07-18", "finish_reason": finish}}


def tc(name: str, **args: Any) -> dict[str, Any]:
    """One tool call of a scripted reply."""
    return {"name": name, "args": args, "id": f"call_{next(_ids):03d}", "type": "tool_call"}


def calls(*tool_calls: dict[str, Any]) -> AIMessage:
    """A scripted reply calling tools (several: parallel calls)."""
    return AIMessage(content="", tool_calls=list(tool_calls), **_meta("tool_calls", (140, 22)))


def answer(text: str) -> AIMessage:
    """A scripted final answer."""
    return AIMessage(content=text, **_meta("stop", (180, 18)))


def fake(*replies: AIMessage, then: Callable[[], AIMessage] | None = None) -> ToolCallingFakeChatModel:
    """A fake model answering `replies` in order (and `then()` forever after, for loops)."""
    more: Iterator[AIMessage] = iter(then, None) if then else iter(())  # type: ignore[call-overload]
    return ToolCallingFakeChatModel(messages=itertools.chain(replies, more))


def chat_openai(base_url: str, *, streaming: bool = False, max_retries: int = 2) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=MODEL, base_url=base_url, api_key="sk-test", streaming=streaming,
                      max_retries=max_retries, stream_usage=True)


# -- the tools ------------------------------------------------------------------------------------
ORDERS = {"A17": {"status": "shipped", "total": 20.0, "carrier": "UPS"},
          "B42": {"status": "processing", "total": 35.5, "carrier": None}}


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order's status by its id."""
    order = ORDERS.get(order_id)
    return json.dumps({"order_id": order_id, **order}) if order else f"Error: order {order_id} not found"


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund part or all of an order."""
    return json.dumps({"order_id": order_id, "refunded": amount, "status": "refund_issued"})


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return json.dumps({"city": city, "temp_c": {"Paris": 18, "Tokyo": 24}.get(city, 15), "sky": "clear"})


@tool
def search_docs(query: str) -> str:
    """Search the help-center articles."""
    return json.dumps([{"title": f"About {query}", "snippet": f"How {query} works, in short."}])


@tool("lookup_order")
def lookup_order_down(order_id: str) -> str:
    """Look up an order's status by its id."""
    raise TimeoutError(f"orders service timed out looking up {order_id}")


_flaky_calls = itertools.count()


@tool("get_weather")
def get_weather_flaky(city: str) -> str:
    """Current weather for a city."""
    if next(_flaky_calls) % 2 == 0:
        raise ConnectionError("weather service connection reset")
    return json.dumps({"city": city, "temp_c": 15, "sky": "cloudy"})


@tool("refund")
def refund_denied(order_id: str, amount: float) -> str:
    """Refund part or all of an order."""
    raise PermissionError(f"refunds of order {order_id} need a supervisor's approval")


def agent(model: Any, tools: list[Any], name: str = "order_agent", handle_errors: bool | None = None,
          prompt: str = "You are a customer-support agent for an online shop. Use the tools.") -> Any:
    """The prebuilt ReAct agent (ToolNode's default handler re-raises tool exceptions; `handle_errors`
    True turns them into error ToolMessages the model sees)."""
    node: Any = ToolNode(tools) if handle_errors is None else ToolNode(tools, handle_tool_errors=handle_errors)
    return create_react_agent(model, node, prompt=prompt, name=name)


def handwritten_agent(model: Any, tools: list[Any], retry: RetryPolicy | None = None,
                      name: str = "research_agent") -> Any:
    """The tutorials' hand-built ReAct graph: an `agent` node, a ToolNode and `tools_condition` (no
    remaining-steps guard: the recursion limit raises GraphRecursionError); `retry` re-runs the tools node."""
    bound = model.bind_tools(tools)

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", call_model)
    graph.add_node("tools", ToolNode(tools), retry_policy=retry)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(name=name)


def ask(graph: Any, question: str, **config: Any) -> Any:
    return graph.invoke({"messages": [HumanMessage(question)]}, config=config or None)


def ask_raising(graph: Any, question: str, **config: Any) -> BaseException | None:
    """Invoke, returning the exception the graph ended with (the user's app would catch it)."""
    try:
        ask(graph, question, **config)
    except Exception as e:  # noqa: BLE001 - the scenario's failure
        return e
    return None


# -- supervisors ----------------------------------------------------------------------------------
BILLING_PROMPT = "You are billing_agent. Handle refunds with the refund tool."
SUPPORT_PROMPT = "You are support_agent. Answer product questions with search_docs."


def prebuilt_supervisor(supervisor: AIMessage | list[AIMessage], billing: list[AIMessage], support: list[AIMessage],
                        refund_tool: Any = refund) -> Any:
    """langgraph-supervisor: a supervisor ReAct agent with transfer_to_<agent> handoff tools."""
    sup = supervisor if isinstance(supervisor, list) else [supervisor]
    billing_agent = agent(fake(*billing), [refund_tool, lookup_order], "billing_agent", handle_errors=True,
                          prompt=BILLING_PROMPT)
    support_agent = agent(fake(*support), [search_docs], "support_agent", prompt=SUPPORT_PROMPT)
    return create_supervisor([billing_agent, support_agent], model=fake(*sup),
                             prompt="You are a supervisor routing customers to billing_agent or support_agent.",
                             ).compile(name="supervisor")


def handwritten_supervisor(supervisor: list[AIMessage], billing: list[AIMessage], support: list[AIMessage],
                           refund_tool: Any = refund) -> Any:
    """A hand-written StateGraph: the `supervisor` node's model names a sub-agent, a node of that name
    runs the sub-agent's compiled ReAct subgraph (a sub-agent that raises is caught: the failure goes
    into the conversation and the graph goes on), and `respond` has the supervisor's model answer."""
    model = fake(*supervisor)
    billing_agent = agent(fake(*billing), [refund_tool, lookup_order], "billing_agent", prompt=BILLING_PROMPT)
    support_agent = agent(fake(*support), [search_docs], "support_agent", prompt=SUPPORT_PROMPT)
    system = SystemMessage("You are a supervisor. Reply with the agent to use: billing_agent or support_agent.")

    def route(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke([system, *state["messages"]])]}

    def delegate(sub: Any) -> Callable[[MessagesState], dict[str, Any]]:
        def run_sub_agent(state: MessagesState) -> dict[str, Any]:
            try:
                out = sub.invoke({"messages": [m for m in state["messages"] if isinstance(m, HumanMessage)]})
                return {"messages": [out["messages"][-1]]}
            except Exception as e:  # noqa: BLE001 - the supervisor goes on past a failed sub-agent
                return {"messages": [AIMessage(content=f"{sub.name} failed: {e!r}", name=sub.name)]}
        return run_sub_agent

    def respond(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke([system, *state["messages"]])]}

    graph = StateGraph(MessagesState)
    graph.add_node("supervisor", route)
    graph.add_node("billing_agent", delegate(billing_agent))
    graph.add_node("support_agent", delegate(support_agent))
    graph.add_node("respond", respond)
    graph.add_edge(START, "supervisor")
    graph.add_conditional_edges("supervisor", lambda state: str(state["messages"][-1].content),
                                ["billing_agent", "support_agent"])
    graph.add_edge("billing_agent", "respond")
    graph.add_edge("support_agent", "respond")
    graph.add_edge("respond", END)
    return graph.compile(name="support_desk")


# -- scenarios ------------------------------------------------------------------------------------
def record(rec: Recorder, instr: str) -> None:  # noqa: PLR0915 - one block per scenario
    def run(scenario: str, shape: str) -> Any:
        return rec.run(instr, scenario, shape)

    oi = instr == "openinference"

    def first_llm(r: Run, index: int = 0) -> Any:
        """The model-call span (OpenInference: the chat model's class name; OpenLLMetry: `<class>.chat`)."""
        return r.span(contains="Chat", index=index) if oi else r.span(contains=".chat", index=index)

    def tool_span(r: Run, name: str, index: int = 0) -> Any:
        """A tool-execution span (OpenLLMetry: `execute_tool <name>`)."""
        return r.span(name if oi else f"execute_tool {name}", index=index)

    def node_span(r: Run, name: str, index: int = 0) -> Any:
        """A graph node's span (OpenLLMetry: `execute_task <name>`)."""
        return r.span(name if oi else f"execute_task {name}", index=index)

    # healthy ----------------------------------------------------------------------------------
    with run("string_arg", "react") as r:
        ask(agent(fake(calls(tc("lookup_order", order_id="A17")), answer("Order A17 has shipped with UPS.")),
                  [lookup_order]), "Where is my order A17?")
        r.notes = "lookup_order(order_id: str) called with {'order_id': 'A17'}"

    with run("single_tool", "react") as r:
        ask(agent(fake(calls(tc("refund", order_id="A17", amount=20.0)), answer("I refunded $20 on order A17.")),
                  [lookup_order, refund]), "Please refund $20 on order A17.")

    with run("parallel_tools", "react") as r:
        ask(agent(fake(calls(tc("get_weather", city="Paris"), tc("get_weather", city="Tokyo")),
                       answer("Paris is 18°C and clear; Tokyo is 24°C and clear.")), [get_weather]),
            "What's the weather in Paris and in Tokyo?")
        r.notes = "two tool calls in one model reply; ToolNode runs them concurrently"

    with run("sequential_tools", "react") as r:
        ask(agent(fake(calls(tc("lookup_order", order_id="A17")), calls(tc("refund", order_id="A17", amount=20.0)),
                       answer("Order A17 was refunded $20.")), [lookup_order, refund]),
            "Order A17 arrived broken, refund it please.")

    with run("long_conversation", "react") as r:
        topics = ["returns", "exchanges", "shipping times", "gift cards", "warranty", "store credit", "damaged items"]
        ask(agent(fake(*[calls(tc("search_docs", query=t)) for t in topics],
                       answer("Returns within 30 days; exchanges free; damaged items refunded.")), [search_docs]),
            "Summarise the whole returns policy for me.")
        r.notes = "8 model turns: 7 different search_docs calls, then the answer"

    server = ScriptedOpenAI([call("lookup_order", {"order_id": "B42"}), say("Order B42 is still processing.")])
    with run("streaming", "react") as r:
        graph = agent(chat_openai(server.start(), streaming=True), [lookup_order])
        for _ in graph.stream({"messages": [HumanMessage("Status of order B42?")]}, stream_mode="messages"):
            pass
        r.notes = "ChatOpenAI(streaming=True) against a scripted OpenAI-compatible stub; graph.stream(messages)"
    server.stop()

    server = ScriptedOpenAI([fail(429, "Rate limit reached for gpt-4o-mini"), call("get_weather", {"city": "Paris"}),
                             say("It is 18°C and clear in Paris.")])
    with run("retry_429_recovers", "react") as r:
        ask(agent(chat_openai(server.start(), max_retries=2), [get_weather]), "Weather in Paris?")
        r.notes = "the first request gets HTTP 429; the openai client (max_retries=2) retries inside the model call"
    server.stop()

    with run("node_retry_recovers", "graph") as r:
        ask(handwritten_agent(fake(calls(tc("get_weather", city="Oslo")), answer("It is 15°C and cloudy in Oslo.")),
                              [get_weather_flaky], retry=RetryPolicy(max_attempts=3, initial_interval=0.01,
                                                                     retry_on=ConnectionError),
                              name="weather_agent"), "Weather in Oslo?")
        r.notes = ("hand-built ReAct StateGraph whose tools node has a RetryPolicy: get_weather raises "
                   "ConnectionError once (error spans), LangGraph re-runs the node, the second try succeeds")

    with run("supervisor_handoff", "supervisor") as r:
        ask(prebuilt_supervisor(
            [calls(tc("transfer_to_billing_agent")), answer("Your refund of $20 for order A17 has been issued.")],
            billing=[calls(tc("refund", order_id="A17", amount=20.0)), answer("Refunded $20 on order A17.")],
            support=[]), "Refund $20 on order A17 please.")
        r.notes = "langgraph-supervisor: supervisor -> transfer_to_billing_agent -> billing_agent -> back"

    with run("subgraph_delegation", "supervisor") as r:
        ask(handwritten_supervisor([answer("support_agent"), answer("Every product carries a 2-year warranty.")],
                                   billing=[], support=[calls(tc("search_docs", query="warranty")),
                                                        answer("Products carry a 2-year warranty.")]),
            "How long is the warranty?")
        r.notes = ("hand-written StateGraph: the supervisor's model routes to support_agent, a node running the "
                   "support_agent ReAct subgraph, then the supervisor's model answers")

    # failures ---------------------------------------------------------------------------------
    with run("tool_raises", "react") as r:
        ask(agent(fake(calls(tc("lookup_order", order_id="A17")),
                       answer("Sorry, the order system timed out; please try again later.")),
                  [lookup_order_down], handle_errors=True), "Where is my order A17?")
        r.notes = "ToolNode(handle_tool_errors=True): the error becomes a ToolMessage; the agent reports it"
    r.expect("timeout", tool_span(r, "lookup_order"), "lookup_order raised TimeoutError; the agent reported it")

    with run("tool_raises_unhandled", "react") as r:
        ask_raising(agent(fake(calls(tc("lookup_order", order_id="A17")), answer("unused")), [lookup_order_down]),
                    "Where is my order A17?")
        r.notes = "ToolNode's default handler re-raises: the TimeoutError ends the graph run"
    r.expect("timeout", tool_span(r, "lookup_order"), "lookup_order raised TimeoutError, which ended the graph run")

    with run("tool_error_string", "react") as r:
        ask(agent(fake(calls(tc("lookup_order", order_id="Z99")),
                       answer("I couldn't find order Z99; please check the number.")), [lookup_order]),
            "Where is order Z99?")
    r.expect("tool_error", tool_span(r, "lookup_order"), "lookup_order returned 'Error: order Z99 not found'")

    with run("unknown_tool", "react") as r:
        ask(agent(fake(calls(tc("cancel_order", order_id="A17")), answer("I can't cancel orders, sorry.")),
                  [lookup_order, refund]), "Cancel order A17.")
        r.notes = "ToolNode answers an error ToolMessage itself; no tool span exists for cancel_order"
    r.expect("unknown_tool", first_llm(r), "the first model reply called cancel_order, which was not offered")

    with run("invalid_tool_args", "react") as r:
        ask(agent(fake(calls(tc("refund", order_id="A17")), answer("I need the amount to refund.")),
                  [refund]), "Refund order A17.")
        r.notes = "refund called without its required 'amount'; ToolNode returns the validation error to the model"
    r.expect("invalid_tool_args", first_llm(r), "the first model reply called refund without the required amount")

    with run("loop", "react") as r:
        ask(agent(fake(then=lambda: calls(tc("lookup_order", order_id="A17"))), [lookup_order]),
            "Where is my order A17?", recursion_limit=12)
        r.notes = ("the model calls lookup_order(A17) again and again; create_react_agent's remaining-steps guard "
                   "ends the run with 'Sorry, need more steps to process this request.' (no error)")
    r.expect("loop", tool_span(r, "lookup_order"), "the first of the identical lookup_order(A17) calls repeated until "
             "the step limit")

    with run("loop_recursion_error", "graph") as r:
        error = ask_raising(handwritten_agent(fake(then=lambda: calls(tc("lookup_order", order_id="A17"))),
                                              [lookup_order]), "Where is my order A17?", recursion_limit=12)
        assert isinstance(error, GraphRecursionError), error
        r.notes = "hand-built ReAct StateGraph: identical lookup_order(A17) calls until GraphRecursionError (12)"
    r.expect("loop", tool_span(r, "lookup_order"), "the first of the identical lookup_order(A17) calls repeated until "
             "GraphRecursionError")

    queries = (f"refund policy part {i}" for i in itertools.count(1))
    with run("max_iterations", "graph") as r:
        error = ask_raising(handwritten_agent(fake(then=lambda: calls(tc("search_docs", query=next(queries)))),
                                              [search_docs]), "Find every refund policy article.",
                            recursion_limit=10)
        assert isinstance(error, GraphRecursionError), error
        r.notes = "hand-built ReAct StateGraph: a different search_docs call each step until GraphRecursionError (10)"
    r.expect("max_iterations", r.root(), "GraphRecursionError: recursion limit of 10 reached (the graph run's error)")

    with run("max_steps_prebuilt", "react") as r:
        ask(agent(fake(then=lambda: calls(tc("search_docs", query=next(queries)))), [search_docs]),
            "Find every refund policy article.", recursion_limit=10)
        r.notes = ("create_react_agent stops itself before the recursion limit: its last agent step replaces the "
                   "model's tool call with 'Sorry, need more steps to process this request.' (no error status)")
    r.expect("max_iterations", node_span(r, "agent", index=-1), "the last agent step answered 'Sorry, need more steps to "
             "process this request.': create_react_agent's remaining-steps limit (recursion_limit=10)")

    server = ScriptedOpenAI([fail(429, "Rate limit reached for gpt-4o-mini")])
    with run("rate_limited", "react") as r:
        ask_raising(agent(chat_openai(server.start(), max_retries=1), [get_weather]), "Weather in Paris?")
        r.notes = "every request gets HTTP 429; the openai client retries once, then RateLimitError ends the run"
    server.stop()
    r.expect("rate_limited", first_llm(r), "the model call refused with HTTP 429 (after the client's one retry)")

    with run("error_swallowed", "react") as r:
        ask(agent(fake(calls(tc("refund", order_id="A17", amount=20.0)), answer("Done! Your $20 refund is issued.")),
                  [refund_denied], handle_errors=True), "Refund $20 on order A17.")
        r.notes = "refund raised PermissionError (as an error ToolMessage); the model claims the refund went through"
    r.expect("error_swallowed", tool_span(r, "refund"), "refund raised PermissionError yet the answer claims success")

    with run("delegation_failure", "supervisor") as r:
        ask(prebuilt_supervisor(
            [calls(tc("transfer_to_billing_agent")), answer("Your refund of $20 is on its way.")],
            billing=[calls(tc("refund", order_id="A17", amount=20.0)),
                     answer("I could not issue the refund: permission denied.")],
            support=[], refund_tool=refund_denied), "Refund $20 on order A17 please.")
        r.notes = ("langgraph-supervisor: billing_agent's refund raised PermissionError, billing_agent reported "
                   "the failure, the supervisor answered as if the refund went through")
    r.expect("delegation_failure", tool_span(r, "refund"), "billing_agent's refund tool raised PermissionError; the "
             "supervisor went on and answered anyway", failed_agent="billing_agent")

    with run("handoff_unknown_agent", "supervisor") as r:
        ask(prebuilt_supervisor(
            [calls(tc("transfer_to_refunds_agent")), answer("Sorry, I could not reach the refunds team.")],
            billing=[], support=[]), "Refund $20 on order A17 please.")
        r.notes = ("langgraph-supervisor: the supervisor's model calls transfer_to_refunds_agent (no such agent "
                   "or tool; ToolNode answers an error ToolMessage), then gives up")
    r.expect("unknown_tool", first_llm(r), "the supervisor's first reply called transfer_to_refunds_agent, a "
             "handoff tool it was not offered")

    with run("subgraph_raises", "supervisor") as r:
        ask(handwritten_supervisor([answer("billing_agent"), answer("Your refund of $20 is on its way.")],
                                   billing=[calls(tc("refund", order_id="A17", amount=20.0))], support=[],
                                   refund_tool=refund_denied), "Refund $20 on order A17 please.")
        r.notes = ("hand-written StateGraph: the billing_agent subgraph ended in PermissionError (ToolNode "
                   "re-raises); the supervisor node caught it and answered anyway")
    r.expect("delegation_failure", tool_span(r, "refund"), "billing_agent's refund tool raised PermissionError and the "
             "billing_agent subgraph failed; the supervisor went on", failed_agent="billing_agent")


# -- main -----------------------------------------------------------------------------------------
def instrument(instr: str, rec: Recorder) -> None:
    if instr == "openinference":
        from openinference.instrumentation.langchain import LangChainInstrumentor

        LangChainInstrumentor().instrument(tracer_provider=rec.provider)
    else:
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor

        LangchainInstrumentor().instrument(tracer_provider=rec.provider)


def write_keeping_others(rec: Recorder, instr: str) -> None:
    """`rec.write()`, keeping the manifest entries the other instrumentation's process wrote."""
    path = CORPUS / FRAMEWORK / "manifest.json"
    others = [e for e in json.loads(path.read_text())["runs"] if e["instrumentation"] != instr] if path.exists() else []
    rec.write()
    manifest = json.loads(path.read_text())
    mine = manifest["runs"]
    manifest["runs"] = sorted(others + mine, key=lambda e: INSTRUMENTATIONS.index(e["instrumentation"]))
    path.write_text(json.dumps(manifest, indent=1) + "\n")


def main(argv: list[str]) -> None:
    if not argv:
        for instr in INSTRUMENTATIONS:
            subprocess.run([sys.executable, __file__, instr], check=True)
        return
    instr = argv[0]
    rec = Recorder(FRAMEWORK, versions={p: version(p) for p in PACKAGES}, service="langgraph-support-desk")
    instrument(instr, rec)
    record(rec, instr)
    if "--dry" in argv:
        for run in rec.runs:
            print(f"== {run.scenario} ({len(run.spans)} spans) expected={run.expected and run.expected['root_cause_span_name']}")
            for s in sorted(run.spans, key=lambda s: s.start_time or 0):
                print(f"   {s.name} [{s.status.status_code.name}] {format(s.context.span_id, '016x')} "
                      f"parent={format(s.parent.span_id, '016x') if s.parent else None}")
                if run.scenario in argv:
                    for k, v in (s.attributes or {}).items():
                        print(f"       {k} = {str(v)[:300]!r}")
                    for ev in s.events:
                        print(f"       EVENT {ev.name} {dict(ev.attributes or {})!s:.300}")
        return
    write_keeping_others(rec, instr)


if __name__ == "__main__":
    main(sys.argv[1:])
