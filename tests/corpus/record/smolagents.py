"""Record smolagents runs under OpenInference into the corpus (`tests/corpus/frameworks/smolagents/`).

`ToolCallingAgent` (a manager with a managed `billing_agent` for the multi-agent runs) on
`OpenAIServerModel` pointed at `ScriptedOpenAI`, instrumented by `openinference-instrumentation-smolagents`
(agent run, step, model and tool spans). Nothing leaves the machine.

    PYTHONPATH=. /tmp/rec-smolagents/bin/python tests/corpus/record/smolagents.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

# this file is named like the framework: keep its folder off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from openinference.instrumentation.smolagents import SmolagentsInstrumentor  # noqa: E402
from opentelemetry import context as otel_context  # noqa: E402

from tests.support.corpus_recording import Recorder, Run  # noqa: E402
from tests.support.scripted_openai import ScriptedOpenAI, Step, call, fail  # noqa: E402

PACKAGES = ("smolagents", "openinference-instrumentation-smolagents", "openai", "opentelemetry-sdk")
rec = Recorder("smolagents", versions={p: version(p) for p in PACKAGES})
SmolagentsInstrumentor().instrument(tracer_provider=rec.provider)

from smolagents import OpenAIServerModel, ToolCallingAgent, tool  # noqa: E402

INSTR = "openinference"
ORDERS = {"A17": "shipped", "B22": "processing", "C31": "delivered"}


# -- tools ------------------------------------------------------------------------------------
@tool
def lookup_order(order_id: str) -> str:
    """Look up an order's status by its id.

    Args:
        order_id: The order id, e.g. A17.
    """
    return json.dumps({"order_id": order_id, "status": ORDERS.get(order_id, "unknown")})


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund an amount on an order.

    Args:
        order_id: The order id.
        amount: The amount to refund.
    """
    return json.dumps({"order_id": order_id, "refunded": amount, "ok": True})


@tool
def get_weather(city: str) -> str:
    """Current weather of a city.

    Args:
        city: The city name.
    """
    return f"{city}: 18C, light rain"


@tool
def search_docs(query: str) -> str:
    """Search the help-center articles.

    Args:
        query: What to search for.
    """
    return f"Top article for '{query}': 'Refunds are issued within 5 business days.'"


def _lookup_order_down(order_id: str) -> str:
    """Look up an order's status by its id.

    Args:
        order_id: The order id, e.g. A17.
    """
    raise ConnectionError(f"order service unreachable while fetching {order_id}")


def _lookup_order_error_text(order_id: str) -> str:
    """Look up an order's status by its id.

    Args:
        order_id: The order id, e.g. A17.
    """
    return f"ERROR 503: order service unavailable, could not fetch {order_id}"


def _refund_declined(order_id: str, amount: float) -> str:
    """Refund an amount on an order.

    Args:
        order_id: The order id.
        amount: The amount to refund.
    """
    raise RuntimeError(f"payment gateway declined the refund of {amount} on {order_id}")


for _f in (_lookup_order_down, _lookup_order_error_text, _refund_declined):
    _f.__name__ = _f.__name__.removeprefix("_").replace("_down", "").replace("_error_text", "").replace("_declined", "")
lookup_order_down, lookup_order_error_text, refund_declined = (
    tool(f) for f in (_lookup_order_down, _lookup_order_error_text, _refund_declined))


# -- helpers ----------------------------------------------------------------------------------
def answer(text: str, **kw: Any) -> Step:
    """A step calling smolagents' final_answer tool (how a ToolCallingAgent ends)."""
    step = call("final_answer", {"answer": text})
    for k, v in kw.items():
        setattr(step, k, v)
    return step


def sub(name: str) -> Callable[[dict], bool]:
    """A step predicate: the request comes from the managed agent `name` (its task names it)."""
    return lambda body: len(body["messages"]) > 1 and f"named '{name}'" in json.dumps(body["messages"][1])


def manager() -> Callable[[dict], bool]:
    return lambda body: not sub("billing_agent")(body)


def to(pred: Callable[[dict], bool], step: Step) -> Step:
    step.when = pred
    return step


def model(url: str, **kw: Any) -> OpenAIServerModel:
    m = OpenAIServerModel(model_id="gpt-4o-mini", api_base=url, api_key="sk-test", **kw)
    m.retryer.wait_seconds = 0.01  # smolagents waits 60 s between rate-limit retries; same retries, no wait
    return m


def agent(url: str, tools: list[Any], **kw: Any) -> ToolCallingAgent:
    return ToolCallingAgent(tools=tools, model=model(url, **kw.pop("model_kw", {})), verbosity_level=-1, **kw)


def team(url: str, billing_tools: list[Any]) -> ToolCallingAgent:
    billing = ToolCallingAgent(tools=billing_tools, model=model(url), name="billing_agent",
                               description="Issues refunds on orders.", verbosity_level=-1, max_steps=4)
    return ToolCallingAgent(tools=[lookup_order], model=model(url), managed_agents=[billing], name="support_manager",
                            verbosity_level=-1)


BILLING, MANAGER = sub("billing_agent"), manager()


def record(scenario: str, shape: str, steps: list[Step], build: Callable[[str], ToolCallingAgent], task: str,
           notes: str = "", **run_kw: Any) -> Run:
    """Run one agent against a fresh stub and keep its spans as one run."""
    server = ScriptedOpenAI(steps)
    url = server.start()
    # a run that raises leaves its agent span open and attached (the instrumentation neither ends nor detaches
    # it): start each run from an empty context and restore it after, so runs do not nest into each other
    token = otel_context.attach(otel_context.Context())
    try:
        runner = build(url)
        with rec.run(INSTR, scenario, shape=shape) as run:
            try:
                result = runner.run(task, **run_kw)
                if run_kw.get("stream"):
                    for _ in result:
                        pass
            except Exception as exc:  # a failing run is still a run
                run.notes = f"run raised {type(exc).__name__}: {str(exc)[:160]}"
        if notes:
            run.notes = f"{notes} {run.notes}".strip()
        run.requests = server.requests  # type: ignore[attr-defined]
        return run
    finally:
        otel_context.detach(token)
        server.stop()


def tool_span(run: Run, name: str, error: bool | None = None, index: int = 0) -> Any:
    return run.span(attr=("tool.name", name), error=error, index=index)


def model_span(run: Run, index: int = 0, error: bool | None = None) -> Any:
    return run.span(contains=".generate", error=error, index=index)


Q_A17 = "A customer asks: where is my order A17?"


# -- healthy ----------------------------------------------------------------------------------
def healthy() -> None:
    record("single_tool_call", "one tool call, then final_answer",
           [call("lookup_order", {"order_id": "A17"}), answer("Order A17 has shipped.")],
           lambda u: agent(u, [lookup_order]), Q_A17)
    record("parallel_tool_calls", "two calls in one model reply",
           [call("lookup_order", {"order_id": "A17"}, ("lookup_order", {"order_id": "B22"})),
            answer("A17 has shipped; B22 is still processing.")],
           lambda u: agent(u, [lookup_order]), "A customer asks about orders A17 and B22.")
    record("sequential_tool_calls", "lookup, then refund, then final_answer",
           [call("lookup_order", {"order_id": "C31"}), call("refund", {"order_id": "C31", "amount": 25.0}),
            answer("Order C31 was delivered; I refunded 25.00 as requested.")],
           lambda u: agent(u, [lookup_order, refund]), "Refund 25.00 on order C31 if it was delivered.")
    cities = ["Paris", "Lyon", "Nice", "Lille", "Nantes", "Bordeaux", "Toulouse", "Marseille"]
    record("long_conversation", "8 sequential tool calls, 9 model turns",
           [call("get_weather", {"city": c}) for c in cities] + [answer("Rain in all eight cities, around 18C.")],
           lambda u: agent(u, [get_weather]), "Give the weather for " + ", ".join(cities) + ".")
    record("streaming", "streamed model replies (stream_outputs) and a streamed run",
           [call("lookup_order", {"order_id": "B22"}), answer("Order B22 is still being processed.")],
           lambda u: agent(u, [lookup_order], stream_outputs=True), "A customer asks: where is my order B22?",
           stream=True)
    record("retry_then_success", "three 429s exhaust the openai SDK's retries; smolagents' own retry succeeds",
           [fail(429, "Rate limit reached for gpt-4o-mini")] * 3 +
           [call("lookup_order", {"order_id": "A17"}), answer("Order A17 has shipped.")],
           lambda u: agent(u, [lookup_order]), Q_A17,
           notes="Both retries happen inside one model span.")
    record("string_arg_tool", "one tool with one string argument",
           [call("search_docs", {"query": "refund delay"}), answer("Refunds are issued within 5 business days.")],
           lambda u: agent(u, [search_docs]), "A customer asks how long a refund takes.")
    record("managed_agent_success", "manager delegates a refund to the managed billing_agent",
           [to(MANAGER, call("billing_agent", {"task": "Refund 25.00 on order C31, delivered damaged."})),
            to(BILLING, call("refund", {"order_id": "C31", "amount": 25.0})),
            to(BILLING, answer("Refunded 25.00 on order C31.")),
            to(MANAGER, answer("Billing refunded 25.00 on order C31."))],
           lambda u: team(u, [refund]), "Order C31 arrived damaged: refund 25.00.")
    record("managed_agent_then_tool", "manager checks the order, delegates, answers",
           [to(MANAGER, call("lookup_order", {"order_id": "C31"})),
            to(MANAGER, call("billing_agent", {"task": "Refund 25.00 on order C31 (delivered)."})),
            to(BILLING, call("refund", {"order_id": "C31", "amount": 25.0})),
            to(BILLING, answer("Refunded 25.00 on order C31.")),
            to(MANAGER, answer("C31 was delivered; billing refunded 25.00."))],
           lambda u: team(u, [refund]), "Refund 25.00 on order C31 if it was delivered.")


# -- failures ---------------------------------------------------------------------------------
def failures() -> None:
    run = record("tool_raises", "the tool raises, the agent reports it",
                 [call("lookup_order", {"order_id": "A17"}),
                  answer("I could not look up order A17: the order service is unreachable.")],
                 lambda u: agent(u, [lookup_order_down]), Q_A17)
    run.expect("tool_error", tool_span(run, "lookup_order", error=True),
               "lookup_order raised ConnectionError; smolagents logged the step error and the agent reported it")

    run = record("tool_error_string", "the tool returns an error string",
                 [call("lookup_order", {"order_id": "A17"}),
                  answer("The order service answered 503, so I cannot tell where A17 is right now.")],
                 lambda u: agent(u, [lookup_order_error_text]), Q_A17)
    run.expect("tool_error", tool_span(run, "lookup_order"),
               "lookup_order returned an 'ERROR 503' string instead of the order; the span is OK, the result is the error")

    run = record("unknown_tool", "the model calls a tool it was not offered",
                 [call("cancel_order", {"order_id": "A17"}), answer("I cannot cancel orders; A17 is unchanged.")],
                 lambda u: agent(u, [lookup_order]), "A customer wants order A17 cancelled.",
                 notes="smolagents raises 'Unknown tool' in the step; no tool span exists for cancel_order.")
    run.expect("unknown_tool", model_span(run, 0),
               "the first model reply requested cancel_order, which the agent was not given")

    run = record("invalid_tool_args", "the model sends arguments the schema refuses",
                 [call("refund", {"order": "C31", "amount": "twenty"}), answer("I could not issue the refund for C31.")],
                 lambda u: agent(u, [refund]), "Refund 20.00 on order C31.",
                 notes="smolagents validates arguments before calling: no tool span, the step fails.")
    run.expect("invalid_tool_args", model_span(run, 0),
               "the first model reply called refund with an unknown 'order' argument and a string amount")

    run = record("loop", "the same call repeated until max_steps",
                 [call("lookup_order", {"order_id": "B22"})] * 5 + [Step(text="B22 is still processing.")],
                 lambda u: agent(u, [lookup_order], max_steps=5), "Tell me when order B22 changes status.",
                 notes="smolagents has no repeated-call detector: the loop ends at max_steps (5), then one "
                       "forced final-answer model call.")
    run.expect("loop", tool_span(run, "lookup_order", index=0),
               "the agent called lookup_order(B22) with the same result in every step; the first call starts the loop")

    run = record("max_steps", "max_steps=3 reached with different calls, smolagents forces a final answer",
                 [call("lookup_order", {"order_id": o}) for o in ("A17", "B22", "C31")] +
                 [Step(text="I checked A17, B22 and C31 but ran out of steps.")],
                 lambda u: agent(u, [lookup_order], max_steps=3), "Check every order of this customer.",
                 notes="After max_steps smolagents asks the model for a final answer without tools and records "
                       "AgentMaxStepsError in a memory step.")
    run.expect("max_iterations", model_span(run, 3),
               "after 3 steps smolagents hit max_steps; this last model call is the forced final answer "
               "(AgentMaxStepsError is recorded in the agent's memory, not as a span error)")

    run = record("rate_limited", "429 on every request; the SDK's and smolagents' retries exhausted",
                 [fail(429, "Rate limit reached for gpt-4o-mini")],
                 lambda u: agent(u, [lookup_order]), Q_A17,
                 notes="The agent run raised, and the instrumentation never ends a run span whose run raises: the "
                       "trace has no root, 'Step 1' points at a parent that was never exported.")
    run.expect("rate_limited", model_span(run, 0, error=True),
               "the first model call was refused with 429 through every retry; the run failed")

    run = record("error_swallowed", "the refund tool raises, the agent claims success",
                 [call("refund", {"order_id": "C31", "amount": 25.0}),
                  answer("Done: 25.00 has been refunded on order C31.")],
                 lambda u: agent(u, [refund_declined]), "Refund 25.00 on order C31.")
    run.expect("error_swallowed", tool_span(run, "refund", error=True),
               "refund raised (gateway declined) but the final answer says the refund was made")

    run = record("managed_agent_failure", "billing_agent's refund raises; it reports failure, the manager goes on",
                 [to(MANAGER, call("billing_agent", {"task": "Refund 25.00 on order C31, delivered damaged."})),
                  to(BILLING, call("refund", {"order_id": "C31", "amount": 25.0})),
                  to(BILLING, answer("The refund on C31 failed: the payment gateway declined it.")),
                  to(MANAGER, call("lookup_order", {"order_id": "C31"})),
                  to(MANAGER, answer("Billing could not refund C31; I escalated it to a human."))],
                 lambda u: team(u, [refund_declined]), "Order C31 arrived damaged: refund 25.00.")
    run.expect("delegation_failure", tool_span(run, "refund", error=True),
               "the managed billing_agent's refund tool raised; the manager continued with a lookup and answered",
               failed_agent="billing_agent")

    run = record("managed_agent_failure_claims_success",
                 "billing_agent's refund raises and it says so; the manager tells the customer the refund is done",
                 [to(MANAGER, call("billing_agent", {"task": "Refund 25.00 on order C31, delivered damaged."})),
                  to(BILLING, call("refund", {"order_id": "C31", "amount": 25.0})),
                  to(BILLING, answer("The refund on C31 failed: the payment gateway declined it.")),
                  to(MANAGER, answer("Your refund of 25.00 on order C31 has been issued."))],
                 lambda u: team(u, [refund_declined]), "Order C31 arrived damaged: refund 25.00.")
    run.expect("delegation_failure", tool_span(run, "refund", error=True),
               "the managed billing_agent's refund raised and billing_agent reported it, yet the manager's final "
               "answer claims the refund was issued", failed_agent="billing_agent")

    run = record("managed_agent_crash", "billing_agent's model fails with 500s; the manager goes on",
                 [to(MANAGER, call("billing_agent", {"task": "Refund 25.00 on order C31, delivered damaged."})),
                  *[to(BILLING, fail(500, "The server had an error while processing your request."))
                    for _ in range(12)],
                  to(MANAGER, answer("Billing is unavailable right now; I escalated the C31 refund."))],
                 lambda u: team(u, [refund]), "Order C31 arrived damaged: refund 25.00.",
                 notes="The managed agent's run raised; the manager's step got 'Error executing request to team member'. "
                       "The billing_agent.run span is never ended (instrumentation), so billing_agent's 'Step 1' "
                       "is an orphan in the trace.")
    run.expect("delegation_failure", model_span(run, 0, error=True),
               "billing_agent's first model call failed with HTTP 500 (retries too), its run raised, and the "
               "manager answered anyway", failed_agent="billing_agent")

    def refuses_refund_promises(final_answer: Any, memory: Any, agent: Any = None) -> bool:
        """A final-answer check (smolagents' guardrail): replies must not promise refunds."""
        return "refund" not in str(final_answer).lower()

    run = record("guardrail_trip", "a final_answer_checks guardrail refuses every answer until max_steps",
                 [call("lookup_order", {"order_id": "A17"}), answer("A17 is lost; I will refund you."),
                  answer("A17 is lost; a refund is on its way."),
                  Step(text="A17 appears lost; a refund will follow.")],
                 lambda u: agent(u, [lookup_order], max_steps=3, final_answer_checks=[refuses_refund_promises]),
                 Q_A17,
                 notes="A failed check is a step error; the agent retries until max_steps, then the forced final "
                       "answer bypasses the checks.")
    run.expect("content_filtered", run.span("Step 2"),
               "the final-answer check refused the answer (it promised a refund): the first step carrying that error")


if __name__ == "__main__":
    healthy()
    failures()
    for r in rec.runs:
        r.show()
    rec.write()
