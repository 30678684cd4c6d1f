"""Record CrewAI runs under OpenInference into the corpus (`tests/corpus/frameworks/crewai/`).

CrewAI (1.x) calls OpenAI models through its native provider on the `openai` SDK (LiteLLM is not
installed and not used), with native function calling. The crew, task/agent and tool spans come from
`openinference-instrumentation-crewai` (its default wrapper mode), the model-call spans from
`openinference-instrumentation-openai`, as a user of OpenInference sets CrewAI up. The model is
`ScriptedOpenAI`; nothing leaves the machine.

    PYTHONPATH=. /tmp/rec-crewai/bin/python tests/corpus/record/crewai.py
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

# this file is named like the framework: keep its folder off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ["CREWAI_DISABLE_TELEMETRY"] = "true"
os.environ["CREWAI_TRACING_ENABLED"] = "false"
os.environ.pop("OTEL_SDK_DISABLED", None)

from openinference.instrumentation.crewai import CrewAIInstrumentor  # noqa: E402
from openinference.instrumentation.openai import OpenAIInstrumentor  # noqa: E402

from tests.support.corpus_recording import Recorder, Run  # noqa: E402
from tests.support.scripted_openai import ScriptedOpenAI, Step, call, fail, say  # noqa: E402

PACKAGES = ("crewai", "openinference-instrumentation-crewai", "openinference-instrumentation-openai",
            "openai", "opentelemetry-sdk")
rec = Recorder("crewai", versions={p: version(p) for p in PACKAGES})
CrewAIInstrumentor().instrument(tracer_provider=rec.provider)
OpenAIInstrumentor().instrument(tracer_provider=rec.provider)

from crewai import LLM, Agent, Crew, Process, Task  # noqa: E402
from crewai.tools import tool  # noqa: E402
from crewai.tools.tool_failure import ToolFailure  # noqa: E402

INSTR = "openinference"
ORDERS = {"A17": "shipped", "B22": "processing", "C31": "delivered"}


# -- tools ------------------------------------------------------------------------------------
@tool("lookup_order")
def lookup_order(order_id: str) -> str:
    """Look up an order's status by its id."""
    return json.dumps({"order_id": order_id, "status": ORDERS.get(order_id, "unknown")})


@tool("refund")
def refund(order_id: str, amount: float) -> str:
    """Refund an amount on an order."""
    return json.dumps({"order_id": order_id, "refunded": amount, "ok": True})


@tool("get_weather")
def get_weather(city: str) -> str:
    """Current weather of a city."""
    return f"{city}: 18C, light rain"


@tool("search_docs")
def search_docs(query: str) -> str:
    """Search the help-center articles."""
    return f"Top article for '{query}': 'Refunds are issued within 5 business days.'"


@tool("lookup_order")
def lookup_order_down(order_id: str) -> str:
    """Look up an order's status by its id."""
    raise ConnectionError(f"order service unreachable while fetching {order_id}")


@tool("lookup_order")
def lookup_order_error_text(order_id: str) -> str:
    """Look up an order's status by its id."""
    return f"ERROR 503: order service unavailable, could not fetch {order_id}"


@tool("lookup_order")
def lookup_order_reports_failure(order_id: str) -> ToolFailure:
    """Look up an order's status by its id."""
    return ToolFailure(message=f"order {order_id} not found in the order service", code="404")


@tool("refund")
def refund_declined(order_id: str, amount: float) -> str:
    """Refund an amount on an order."""
    raise RuntimeError(f"payment gateway declined the refund of {amount} on {order_id}")


# -- helpers ----------------------------------------------------------------------------------
def by(role: str) -> Callable[[dict], bool]:
    """A step predicate: the request comes from the agent whose system prompt names `role`."""
    return lambda body: f"You are {role}." in str(body["messages"][0].get("content", ""))


def to(role: str, step: Step) -> Step:
    step.when = by(role)
    return step


def llm(url: str, **kw: Any) -> LLM:
    return LLM(model="openai/gpt-4o-mini", base_url=url, api_key="sk-test", **kw)


def support_agent(url: str, tools: list[Any], **kw: Any) -> Agent:
    return Agent(role="Support agent", goal="Resolve customer order questions accurately",
                 backstory="You work the order desk of an online shop.", tools=tools, llm=llm(url, **kw.pop("llm_kw", {})),
                 verbose=False, **kw)


def one_agent_crew(url: str, tools: list[Any], question: str, *, task_kw: dict | None = None, **agent_kw: Any) -> Crew:
    agent = support_agent(url, tools, **agent_kw)
    task = Task(description=question, expected_output="A short answer for the customer", agent=agent, **(task_kw or {}))
    return Crew(agents=[agent], tasks=[task], verbose=False)


def billing_crew(url: str, billing_tools: list[Any], question: str) -> Crew:
    manager = Agent(role="Support manager", goal="Resolve customer requests, delegating billing work",
                    backstory="You lead the support desk and hand refunds to billing.", tools=[lookup_order],
                    allow_delegation=True, llm=llm(url), verbose=False)
    billing = Agent(role="billing_agent", goal="Issue refunds correctly", backstory="You run the billing desk.",
                    tools=billing_tools, llm=llm(url), verbose=False)
    task = Task(description=question, expected_output="What was done for the customer", agent=manager)
    return Crew(agents=[manager, billing], tasks=[task], verbose=False)


DELEGATE = "delegate_work_to_coworker"


def delegate(task: str, context: str) -> Step:
    return to("Support manager", call(DELEGATE, {"task": task, "context": context, "coworker": "billing_agent"}))


def record(scenario: str, shape: str, steps: list[Step], build: Callable[[str], Crew], notes: str = "") -> Run:
    """Run one crew against a fresh stub and keep its spans as one run."""
    server = ScriptedOpenAI(steps)
    url = server.start()
    try:
        crew = build(url)
        with rec.run(INSTR, scenario, shape=shape) as run:
            try:
                crew.kickoff()
            except Exception as exc:  # a failing run is still a run
                run.notes = f"kickoff raised {type(exc).__name__}: {str(exc)[:160]}"
        if notes:
            run.notes = f"{notes} {run.notes}".strip()
        run.requests = server.requests  # type: ignore[attr-defined]
        return run
    finally:
        server.stop()


Q_A17 = "A customer asks: where is my order A17?"


# -- healthy ----------------------------------------------------------------------------------
def healthy() -> None:
    record("single_tool_call", "one agent, one tool call",
           [call("lookup_order", {"order_id": "A17"}), say("Order A17 has shipped.")],
           lambda u: one_agent_crew(u, [lookup_order], Q_A17))
    record("parallel_tool_calls", "one agent, two calls in one model reply",
           [call("lookup_order", {"order_id": "A17"}, ("lookup_order", {"order_id": "B22"})),
            say("A17 has shipped; B22 is still processing.")],
           lambda u: one_agent_crew(u, [lookup_order], "A customer asks about orders A17 and B22."))
    record("sequential_tool_calls", "one agent, lookup then refund",
           [call("lookup_order", {"order_id": "C31"}), call("refund", {"order_id": "C31", "amount": 25.0}),
            say("Order C31 was delivered; I refunded 25.00 as requested.")],
           lambda u: one_agent_crew(u, [lookup_order, refund], "Refund 25.00 on order C31 if it was delivered."))
    cities = ["Paris", "Lyon", "Nice", "Lille", "Nantes", "Bordeaux", "Toulouse", "Marseille"]
    record("long_conversation", "one agent, 8 sequential tool calls, 9 model turns",
           [call("get_weather", {"city": c}) for c in cities] + [say("Rain in all eight cities, around 18C.")],
           lambda u: one_agent_crew(u, [get_weather], "Give the weather for " + ", ".join(cities) + ".",
                                    max_iter=15))
    record("streaming", "one agent, streamed model replies",
           [call("lookup_order", {"order_id": "B22"}), say("Order B22 is still being processed.")],
           lambda u: one_agent_crew(u, [lookup_order], "A customer asks: where is my order B22?",
                                    llm_kw={"stream": True}))
    record("retry_then_success", "one 429, the openai client retries and succeeds",
           [fail(429, "Rate limit reached for gpt-4o-mini"), call("lookup_order", {"order_id": "A17"}),
            say("Order A17 has shipped.")],
           lambda u: one_agent_crew(u, [lookup_order], Q_A17),
           notes="The openai SDK retries the 429 inside one model call (retry-after 0).")
    record("string_arg_tool", "one tool with one string argument",
           [call("search_docs", {"query": "refund delay"}), say("Refunds are issued within 5 business days.")],
           lambda u: one_agent_crew(u, [search_docs], "A customer asks how long a refund takes."))
    record("delegation_success", "manager delegates a refund to billing_agent (allow_delegation)",
           [delegate("Refund 25.00 on order C31", "Order C31 was delivered damaged."),
            to("billing_agent", call("refund", {"order_id": "C31", "amount": 25.0})),
            to("billing_agent", say("Refunded 25.00 on order C31.")),
            to("Support manager", say("Billing refunded 25.00 on order C31."))],
           lambda u: billing_crew(u, [refund], "Order C31 arrived damaged: refund 25.00."))

    def two_tasks(u: str) -> Crew:
        researcher = Agent(role="Order researcher", goal="Find order facts", backstory="You query the order system.",
                           tools=[lookup_order], llm=llm(u), verbose=False)
        writer = Agent(role="Reply writer", goal="Write the customer reply", backstory="You write short replies.",
                       tools=[search_docs], llm=llm(u), verbose=False)
        t1 = Task(description="Find the status of order B22.", expected_output="The status", agent=researcher)
        t2 = Task(description="Write the customer a reply about order B22.", expected_output="A reply",
                  agent=writer, context=[t1])
        return Crew(agents=[researcher, writer], tasks=[t1, t2], process=Process.sequential, verbose=False)

    def hierarchical(u: str) -> Crew:
        billing = Agent(role="billing_agent", goal="Issue refunds correctly", backstory="You run the billing desk.",
                        tools=[refund], llm=llm(u), verbose=False)
        task = Task(description="Order C31 arrived damaged: refund 25.00.", expected_output="What was done")
        return Crew(agents=[billing], tasks=[task], process=Process.hierarchical, manager_llm=llm(u), verbose=False)

    record("hierarchical_crew", "Process.hierarchical: CrewAI's manager delegates to billing_agent",
           [to("Crew Manager", call(DELEGATE, {"task": "Refund 25.00 on order C31", "context": "Delivered damaged.",
                                               "coworker": "billing_agent"})),
            to("billing_agent", call("refund", {"order_id": "C31", "amount": 25.0})),
            to("billing_agent", say("Refunded 25.00 on order C31.")),
            to("Crew Manager", say("billing_agent refunded 25.00 on order C31."))],
           hierarchical)

    record("sequential_crew", "two agents, two tasks in sequence, the second uses the first's output",
           [to("Order researcher", call("lookup_order", {"order_id": "B22"})),
            to("Order researcher", say("B22 is processing.")),
            to("Reply writer", call("search_docs", {"query": "processing time"})),
            to("Reply writer", say("Your order B22 is being prepared and ships within 2 days."))],
           two_tasks)


# -- failures ---------------------------------------------------------------------------------
def failures() -> None:
    run = record("tool_raises", "the tool raises, the agent reports it",
                 [call("lookup_order", {"order_id": "A17"}),
                  say("I could not look up order A17: the order service is unreachable.")],
                 lambda u: one_agent_crew(u, [lookup_order_down], Q_A17))
    run.expect("tool_error", run.span("lookup_order.run", error=True),
               "lookup_order raised ConnectionError; CrewAI fed the error text back and the agent reported it")

    run = record("tool_error_string", "the tool returns an error string",
                 [call("lookup_order", {"order_id": "A17"}),
                  say("The order service answered 503, so I cannot tell where A17 is right now.")],
                 lambda u: one_agent_crew(u, [lookup_order_error_text], Q_A17))
    run.expect("tool_error", run.span("lookup_order.run"),
               "lookup_order returned an 'ERROR 503' string instead of the order; the span is OK, the result is the error")

    run = record("unknown_tool", "the model calls a tool it was not offered",
                 [call("cancel_order", {"order_id": "A17"}), say("I cannot cancel orders; A17 is unchanged.")],
                 lambda u: one_agent_crew(u, [lookup_order], "A customer wants order A17 cancelled."),
                 notes="CrewAI answers 'Tool not found' to the model; no tool span exists for cancel_order.")
    run.expect("unknown_tool", run.span("ChatCompletion", index=0),
               "the first model reply requested cancel_order, which the agent was not given (only lookup_order)")

    run = record("invalid_tool_args", "the model sends arguments the schema refuses",
                 [call("refund", {"order": "C31", "amount": "twenty"}),
                  say("I could not issue the refund for C31.")],
                 lambda u: one_agent_crew(u, [refund], "Refund 20.00 on order C31."))
    run.expect("invalid_tool_args", run.span("ChatCompletion", index=0),
               "the first model reply called refund without order_id and with a non-numeric amount")

    run = record("loop", "the same call repeated until CrewAI's repeated-call stop",
                 [call("lookup_order", {"order_id": "B22"})] * 5 + [say("B22 is processing.")],
                 lambda u: one_agent_crew(u, [lookup_order], "Tell me when order B22 changes status."),
                 notes="CrewAI stops tool calling after 5 identical calls with identical results (REPEATED_CALL).")
    run.expect("loop", run.span("lookup_order.run", index=0),
               "the agent called lookup_order(B22) with the same result again and again; the first of them starts the loop")

    run = record("max_iterations", "max_iter=3 reached, CrewAI forces a final answer",
                 [call("lookup_order", {"order_id": o}) for o in ("A17", "B22", "C31")] +
                 [say("I checked A17, B22 and C31 but ran out of steps.")],
                 lambda u: one_agent_crew(u, [lookup_order], "Check every order of this customer.", max_iter=3),
                 notes="CrewAI records no error for the limit: it appends a forced-final-answer user message and asks once more.")
    forced = sorted((s for s in run.spans if s.name == "ChatCompletion"), key=lambda s: s.start_time or 0)[-1]
    run.expect("max_iterations", forced,
               "no span carries an error for max_iter; the last model call is the one CrewAI forced "
               "(its input ends with the force-final-answer instruction) after 3 iterations")

    run = record("rate_limited", "429 on every request, retries exhausted",
                 [fail(429, "Rate limit reached for gpt-4o-mini")],
                 lambda u: one_agent_crew(u, [lookup_order], Q_A17))
    run.expect("rate_limited", run.span("ChatCompletion", error=True, index=0),
               "the first model call was refused with 429 (the SDK's retries too) and the crew failed")

    run = record("error_swallowed", "the refund tool raises, the agent claims success",
                 [call("refund", {"order_id": "C31", "amount": 25.0}),
                  say("Done: 25.00 has been refunded on order C31.")],
                 lambda u: one_agent_crew(u, [refund_declined], "Refund 25.00 on order C31."))
    run.expect("error_swallowed", run.span("refund.run", error=True),
               "refund raised (gateway declined) but the final answer says the refund was made")

    run = record("delegation_failure", "billing_agent's refund raises; the manager goes on",
                 [delegate("Refund 25.00 on order C31", "Order C31 was delivered damaged."),
                  to("billing_agent", call("refund", {"order_id": "C31", "amount": 25.0})),
                  to("billing_agent", say("The refund on C31 failed: the payment gateway declined it.")),
                  to("Support manager", call("lookup_order", {"order_id": "C31"})),
                  to("Support manager", say("Billing could not refund C31; I escalated it to a human."))],
                 lambda u: billing_crew(u, [refund_declined], "Order C31 arrived damaged: refund 25.00."))
    run.expect("delegation_failure", run.span("refund.run", error=True),
               "the delegated billing_agent's refund tool raised; the manager continued with a lookup and answered",
               failed_agent="billing_agent")

    run = record("tool_reports_failure", "the tool returns CrewAI's ToolFailure (no exception)",
                 [call("lookup_order", {"order_id": "Z99"}),
                  say("I could not find order Z99 in our system.")],
                 lambda u: one_agent_crew(u, [lookup_order_reports_failure], "A customer asks: where is my order Z99?"))
    run.expect("tool_error", run.span("lookup_order.run"),
               "lookup_order returned a ToolFailure (order not found); CrewAI reports it to the agent, the span is OK")

    run = record("delegation_subagent_crash", "billing_agent's model fails with 500s; the manager goes on",
                 [delegate("Refund 25.00 on order C31", "Order C31 was delivered damaged."),
                  *[to("billing_agent", fail(500, "The server had an error while processing your request."))
                    for _ in range(12)],
                  to("Support manager", say("Billing is unavailable right now; I escalated the C31 refund."))],
                 lambda u: billing_crew(u, [refund], "Order C31 arrived damaged: refund 25.00."),
                 notes="The delegated agent raised; the delegation tool turned it into an error text for the manager.")
    run.expect("delegation_failure", run.span("ChatCompletion", error=True, index=0),
               "billing_agent's first model call failed with HTTP 500 (retries too); the delegation returned an "
               "error text and the manager answered anyway", failed_agent="billing_agent")

    def guarded(u: str) -> Crew:
        def no_refund_promises(output: Any):  # type: ignore[no-untyped-def]  # CrewAI rejects a string annotation
            if "refund" in output.raw.lower():
                return False, "Replies must not promise refunds."
            return True, output
        return one_agent_crew(u, [lookup_order], Q_A17,
                              task_kw={"guardrail": no_refund_promises, "guardrail_max_retries": 1})

    run = record("guardrail_trip", "a task guardrail refuses the answer until retries run out",
                 [call("lookup_order", {"order_id": "A17"}), say("A17 is lost; I will refund you."),
                  say("A17 is lost; a refund is on its way.")],
                 guarded)
    run.expect("content_filtered", run.span(error=True, attr=("openinference.span.kind", "AGENT")),
               "the task guardrail refused both answers (they promised a refund) and the task failed")

    run = record("tool_failure_policy_raise", "tool_failure_policy='raise': the tool raises and the crew aborts",
                 [call("lookup_order", {"order_id": "A17"}), say("unreachable")],
                 lambda u: one_agent_crew(u, [lookup_order_down], Q_A17, tool_failure_policy="raise"))
    run.expect("tool_error", run.span("lookup_order.run", error=True),
               "lookup_order raised; under the raise policy CrewAI aborted the task with ToolExecutionFailedError")


if __name__ == "__main__":
    healthy()
    failures()
    for r in rec.runs:
        r.show()
    rec.write()
