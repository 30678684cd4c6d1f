"""Record pydantic-ai agent runs under pydantic-ai's own OpenTelemetry instrumentation
(`Agent.instrument_all(InstrumentationSettings(...))`). The model is a scripted `FunctionModel` (one reply per
model request, chosen by how many replies the history already holds), or, for the HTTP-level scenarios
(streaming, 429 retry, rate limit), `OpenAIChatModel` pointed at the scripted OpenAI-compatible stub. No network.

Multi-agent runs use agent delegation: a parent tool that runs another agent (sharing `ctx.usage`).

    PYTHONPATH=. /tmp/rec-pydantic_ai/bin/python tests/corpus/record/pydantic_ai.py
"""

from __future__ import annotations

import sys
from pathlib import Path

# run as a script, this file's folder comes first on sys.path and this file would shadow the `pydantic_ai` package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import asyncio  # noqa: E402
import json  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from importlib.metadata import version  # noqa: E402
from typing import Any  # noqa: E402

from openai import AsyncOpenAI  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from pydantic_ai import Agent, ModelRetry, RunContext  # noqa: E402
from pydantic_ai.capabilities import RaiseContentFilterError  # noqa: E402
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart  # noqa: E402
from pydantic_ai.models import Model  # noqa: E402
from pydantic_ai.models.function import AgentInfo, FunctionModel  # noqa: E402
from pydantic_ai.models.instrumented import InstrumentationSettings  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402
from pydantic_ai.usage import RequestUsage, UsageLimits  # noqa: E402

from tests.support.corpus_recording import Recorder, Run  # noqa: E402
from tests.support.scripted_openai import ScriptedOpenAI, Step, call, fail, say  # noqa: E402

PINS = ["pydantic-ai-slim", "openai", "opentelemetry-sdk"]
rec = Recorder("pydantic_ai", {p: version(p) for p in PINS}, service="pydantic-ai-support-app")
Agent.instrument_all(InstrumentationSettings(tracer_provider=rec.provider))
INSTR = "native"
MODEL = "gpt-4o-mini"
SUPPORT = "You are a customer-support agent for an online shop. Use the tools to answer."

# -- the scripted model ------------------------------------------------------------------------------
Reply = ModelResponse


def tool_call(name: str, args: dict[str, Any] | str, *more: tuple[str, dict[str, Any] | str]) -> Reply:
    parts = [ToolCallPart(n, a) for n, a in [(name, args), *more]]
    return ModelResponse(parts=parts, usage=RequestUsage(input_tokens=120, output_tokens=30), model_name=MODEL)


def text(content: str, **kwargs: Any) -> Reply:
    return ModelResponse(parts=[TextPart(content)], usage=RequestUsage(input_tokens=150, output_tokens=20),
                         model_name=MODEL, **kwargs)


def scripted(replies: Sequence[Reply]) -> FunctionModel:
    """A FunctionModel answering the n-th request with `replies[n]` (the last one repeats)."""
    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        done = sum(1 for m in messages if isinstance(m, ModelResponse))
        reply = replies[min(done, len(replies) - 1)]
        return ModelResponse(parts=list(reply.parts), usage=reply.usage, model_name=MODEL,
                             finish_reason=reply.finish_reason)
    return FunctionModel(respond, model_name=MODEL)


def openai_model(url: str, retries: int = 1) -> OpenAIChatModel:
    client = AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=retries)
    return OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client))


# -- the tools ---------------------------------------------------------------------------------------
def lookup_order(order_id: str) -> str:
    """Look up an order's status by its id."""
    return json.dumps({"order_id": order_id, "status": "shipped", "total": 42.5})


def lookup_order_down(order_id: str) -> str:
    """Look up an order's status by its id."""
    raise ConnectionError(f"orders database unreachable while reading {order_id}")


def lookup_order_retry(order_id: str) -> str:
    """Look up an order's status by its id."""
    raise ModelRetry(f"orders database unreachable while reading {order_id}; try again later")


def lookup_order_strict(order_id: str) -> str:
    """Look up an order's status by its id (ids look like A123)."""
    if not order_id[:1].isalpha():
        raise ModelRetry(f"order id {order_id!r} is malformed: ids look like A123")
    return lookup_order(order_id)


def lookup_order_missing(order_id: str) -> str:
    """Look up an order's status by its id."""
    return f"Error: order {order_id} not found"


def refund(order_id: str, amount: float) -> str:
    """Refund an amount on an order."""
    return json.dumps({"order_id": order_id, "refunded": amount, "refund_id": "R-981"})


def refund_declined(order_id: str, amount: float) -> str:
    """Refund an amount on an order."""
    raise ModelRetry(f"payment provider declined refund of {amount} on {order_id}")


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return json.dumps({"city": city, "temp_c": {"Paris": 18, "Tokyo": 24}.get(city, 15), "sky": "clear"})


def search_docs(query: str) -> str:
    """Search the help-center articles."""
    return f"Top article for '{query}': 'Returns are accepted within 30 days of delivery.'"


VARIANT = ("_down", "_retry", "_strict", "_missing", "_declined")


def agent(model: Model, tools: list[Callable[..., Any]], name: str = "support_agent", instructions: str = SUPPORT,
          **kwargs: Any) -> Agent[None, Any]:
    built: Agent[None, Any] = Agent(model, name=name, instructions=instructions, **kwargs)
    for fn in tools:
        tool_name = fn.__name__
        for suffix in VARIANT:
            tool_name = tool_name.removesuffix(suffix)
        built.tool_plain(name=tool_name)(fn)
    return built


# -- running one scenario ----------------------------------------------------------------------------
def record(scenario: str, shape: str, build: Callable[[], Agent[None, Any]], prompt: str, raises: bool = False,
           stream: bool = False, notes: str = "", **run_kwargs: Any) -> Run:
    the_agent = build()

    async def go() -> Any:
        if stream:
            async with the_agent.run_stream(prompt, **run_kwargs) as result:
                async for _ in result.stream_text(debounce_by=None):
                    pass
                return await result.get_output()
        return (await the_agent.run(prompt, **run_kwargs)).output

    with rec.run(INSTR, scenario, shape) as run:
        try:
            print(f"{scenario}: {str(asyncio.run(go()))[:100]!r}")
        except Exception as e:
            if not raises:
                raise
            print(f"{scenario}: raised {type(e).__name__}: {str(e)[:100]}")
    run.notes = notes
    return run


def with_stub(steps: list[Step], scenario: str, shape: str, tools: list[Callable[..., Any]], prompt: str,
              retries: int = 1, **kwargs: Any) -> Run:
    server = ScriptedOpenAI(steps)
    url = server.start()
    try:
        return record(scenario, shape, lambda: agent(openai_model(url, retries), tools), prompt, **kwargs)
    finally:
        server.stop()


BILLING = "You are the billing agent. You issue refunds."
ORCH = "You are the concierge. Ask the billing agent (ask_billing) for anything about refunds."


def concierge(billing_replies: list[Reply], concierge_replies: list[Reply],
              refund_fn: Callable[..., Any]) -> Callable[[], Agent[None, Any]]:
    """A parent agent whose tool `ask_billing` runs the billing agent (agent delegation)."""
    def build() -> Agent[None, Any]:
        billing = agent(scripted(billing_replies), [refund_fn], name="billing_agent", instructions=BILLING)
        parent = agent(scripted(concierge_replies), [], name="concierge_agent", instructions=ORCH)

        @parent.tool(name="ask_billing")
        async def ask_billing(ctx: RunContext[None], request: str) -> str:
            """Ask the billing agent to handle a refund request."""
            return str((await billing.run(request, usage=ctx.usage)).output)

        return parent
    return build


class OrderStatus(BaseModel):
    order_id: str
    status: str
    eta_days: int


# -- healthy runs --------------------------------------------------------------------------------------
def healthy() -> None:
    record("single_tool", "function_model",
           lambda: agent(scripted([tool_call("lookup_order", {"order_id": "A17"}), text("Order A17 has shipped.")]),
                         [lookup_order]), "Where is my order A17?")
    record("parallel_tools", "function_model",
           lambda: agent(scripted([tool_call("get_weather", {"city": "Paris"}, ("get_weather", {"city": "Tokyo"})),
                                   text("Paris is 18°C and clear; Tokyo is 24°C and clear.")]), [get_weather]),
           "What's the weather in Paris and in Tokyo?")
    record("sequential_tools", "function_model",
           lambda: agent(scripted([tool_call("lookup_order", {"order_id": "B42"}),
                                   tool_call("refund", {"order_id": "B42", "amount": 42.5}),
                                   text("Order B42 was refunded 42.50 (refund R-981).")]), [lookup_order, refund]),
           "Please refund my order B42 in full.")
    cities = ["Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Perth", "Quito"]
    record("long_conversation", "function_model",
           lambda: agent(scripted([tool_call("search_docs", {"query": "return window"}),
                                   *[tool_call("get_weather", {"city": c}) for c in cities],
                                   text("Returns are accepted within 30 days; the weather for the seven cities is "
                                        "above.")]), [search_docs, get_weather]),
           "What's the return window, and the weather in Paris, Tokyo, Lima, Oslo, Cairo, Perth and Quito, one by one?",
           notes="9 model turns: one search, seven sequential weather calls, the answer")
    record("string_arg_tool", "function_model",
           lambda: agent(scripted([tool_call("search_docs", {"query": "how do I return shoes"}),
                                   text("You can return shoes within 30 days.")]), [search_docs]),
           "How do I return shoes?")
    record("structured_output", "function_model_output_type",
           lambda: agent(scripted([tool_call("lookup_order", {"order_id": "S3"}),
                                   tool_call("final_result", {"order_id": "S3", "status": "shipped", "eta_days": 2})]),
                         [lookup_order], output_type=OrderStatus), "Status of order S3 as a record?",
           notes="output_type: the final answer is the `final_result` output tool call")
    record("model_retry_recovers", "function_model",
           lambda: agent(scripted([tool_call("lookup_order", {"order_id": "17"}),
                                   tool_call("lookup_order", {"order_id": "A17"}), text("Order A17 has shipped.")]),
                         [lookup_order_strict]), "Where is order 17? (it's A17 actually)",
           notes="the tool raises ModelRetry on a malformed id; the model fixes the id and the run succeeds")
    record("delegation", "agent_delegation",
           concierge([tool_call("refund", {"order_id": "G2", "amount": 10.0}), text("Refunded 10.00 on G2 (R-981).")],
                     [tool_call("ask_billing", {"request": "Refund 10.00 on order G2"}),
                      text("Done: 10.00 was refunded on order G2.")], refund), "Please refund 10 on order G2.")
    with_stub([call("lookup_order", {"order_id": "C7"}), say("Order C7 has shipped and should arrive tomorrow.")],
              "openai_single_tool", "openai_chat_model", [lookup_order], "Has order C7 shipped?",
              notes="OpenAIChatModel against the scripted OpenAI-compatible stub")
    with_stub([call("lookup_order", {"order_id": "C8"}), say("Order C8 has shipped and should arrive tomorrow.")],
              "streaming", "openai_chat_model_streaming", [lookup_order], "Has order C8 shipped?", stream=True,
              notes="agent.run_stream + stream_text over OpenAIChatModel (streamed chat completions)")
    with_stub([fail(429, "Rate limit reached for gpt-4o-mini"), call("lookup_order", {"order_id": "D3"}),
               say("Order D3 has shipped.")],
              "retry_429_then_success", "openai_chat_model", [lookup_order], "Where is order D3?",
              notes="the openai client (max_retries=1) retries the 429 inside one chat span")


# -- failure runs ------------------------------------------------------------------------------------
def failures() -> None:
    run = record("tool_raises", "function_model",
                 lambda: agent(scripted([tool_call("lookup_order", {"order_id": "H1"}),
                                         text("Sorry, I could not reach the orders system to look up H1.")]),
                               [lookup_order_retry]), "Where is order H1?",
                 notes="the tool raises ModelRetry (pydantic-ai's way to report a tool failure to the model)")
    run.expect("tool_error", run.span("execute_tool lookup_order"),
               "lookup_order raised ModelRetry (orders database unreachable); the agent reported it could not look "
               "the order up")

    run = record("tool_crashes", "function_model",
                 lambda: agent(scripted([tool_call("lookup_order", {"order_id": "H2"}), text("unreachable")]),
                               [lookup_order_down]), "Where is order H2?", raises=True,
                 notes="the tool raises ConnectionError: pydantic-ai does not catch it, the run ends with it")
    run.expect("tool_error", run.span("execute_tool lookup_order", error=True),
               "lookup_order raised ConnectionError, which ended the run")

    run = record("tool_error_string", "function_model",
                 lambda: agent(scripted([tool_call("lookup_order", {"order_id": "Z99"}),
                                         text("I could not find an order Z99.")]), [lookup_order_missing]),
                 "Where is order Z99?")
    run.expect("tool_error", run.span("execute_tool lookup_order"),
               "lookup_order returned 'Error: order Z99 not found' (a string, not an exception)")

    run = record("unknown_tool", "function_model",
                 lambda: agent(scripted([tool_call("cancel_order", {"order_id": "J4"}),
                                         text("I can't cancel orders, only look them up.")]), [lookup_order]),
                 "Cancel order J4.", notes="pydantic-ai answers an unknown tool with a retry prompt; no tool span")
    run.expect("unknown_tool", run.span(contains="chat", index=0),
               "the model's reply requested cancel_order, which the agent was not offered")

    run = record("bad_tool_args", "function_model",
                 lambda: agent(scripted([tool_call("refund", {"order_id": "K8", "amount": "all of it"}),
                                         text("The refund could not be processed.")]), [refund]),
                 "Refund everything on K8.",
                 notes="argument validation fails before the tool runs; a retry prompt goes back to the model")
    run.expect("invalid_tool_args", run.span(contains="chat", index=0),
               "the model sent amount='all of it' where the refund schema requires a number")

    run = record("bad_tool_args_exhausted", "function_model",
                 lambda: agent(scripted([tool_call("refund", {"order_id": "K9", "amount": "everything"})]), [refund],
                               retries=2), "Refund everything on K9.", raises=True,
                 notes="the model keeps sending the invalid amount until the tool's retries (2) are exhausted: "
                       "UnexpectedModelBehavior")
    run.expect("invalid_tool_args", run.span(contains="chat", index=0),
               "the model sent amount='everything' (not a number) and repeated it until the retries ran out")

    run = record("loop", "function_model",
                 lambda: agent(scripted([tool_call("lookup_order", {"order_id": "L5"})]), [lookup_order]),
                 "Where is order L5?", raises=True, usage_limits=UsageLimits(request_limit=6),
                 notes="the model repeats the same call until UsageLimits(request_limit=6) raises UsageLimitExceeded")
    run.expect("loop", run.span("execute_tool lookup_order"),
               "the model called lookup_order(order_id='L5') again and again with the same result until stopped")

    queries = ["return policy", "refund policy", "exchange policy", "store credit", "gift returns"]
    run = record("max_iterations", "function_model",
                 lambda: agent(scripted([tool_call("search_docs", {"query": q}) for q in queries]), [search_docs]),
                 "Explain every returns-related policy.", raises=True, usage_limits=UsageLimits(request_limit=4),
                 notes="different searches each turn; UsageLimits(request_limit=4) raises UsageLimitExceeded")
    run.expect("max_iterations", run.span(contains="invoke_agent", error=True),
               "the run raised UsageLimitExceeded (request_limit of 4) on the agent run span")

    run = record("content_filtered", "function_model",
                 lambda: agent(scripted([text("", finish_reason="content_filter")]), [lookup_order],
                               capabilities=[RaiseContentFilterError()]),
                 "Write me something nasty about the courier.", raises=True,
                 notes="the provider's content filter stops the reply (finish_reason=content_filter); the "
                       "RaiseContentFilterError capability ends the run with ContentFilterError")
    run.expect("content_filtered", run.span(contains="chat", error=True),
               "the model's reply was stopped by the content filter: the chat span carries ContentFilterError "
               "(raised by the RaiseContentFilterError capability)")

    run = with_stub([fail(429, "Rate limit reached for gpt-4o-mini")], "rate_limited", "openai_chat_model",
                    [lookup_order], "Where is order M2?", retries=0, raises=True,
                    notes="every request gets 429; max_retries=0 and the run raises ModelHTTPError")
    run.expect("rate_limited", run.span(contains="chat", error=True),
               "the model call was refused with HTTP 429 and never recovered")

    run = record("sub_agent_failure", "agent_delegation",
                 concierge([tool_call("refund", {"order_id": "P6", "amount": 12.0}),
                            text("The refund failed: the payment provider declined it.")],
                           [tool_call("ask_billing", {"request": "Refund 12.00 on order P6"}),
                            text("Billing could not refund P6; I've opened a ticket for you.")], refund_declined),
                 "Please refund 12 on order P6.")
    run.expect("delegation_failure", run.span("execute_tool refund"),
               "the billing agent's refund failed (ModelRetry: declined); the concierge went on and answered",
               failed_agent="billing_agent")

    run = record("error_swallowed", "function_model",
                 lambda: agent(scripted([tool_call("refund", {"order_id": "Q1", "amount": 25.0}),
                                         text("Your refund of 25.00 on Q1 is done!")]), [refund_declined]),
                 "Refund 25 on order Q1.")
    run.expect("error_swallowed", run.span("execute_tool refund"),
               "refund failed (ModelRetry: declined) but the agent told the user the refund was done")


if __name__ == "__main__":
    healthy()
    failures()
    rec.write()
