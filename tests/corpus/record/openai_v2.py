"""Record a hand-written tool-calling agent on the `openai` client, instrumented by the official
`opentelemetry-instrumentation-openai-v2`, into the corpus (`tests/corpus/frameworks/openai_v2/`).

The app (its tools, agent loop and spans) is `tests/support/openai_support_app.py`.

Every scenario is recorded in two content modes, each in a process of its own (the instrumentation
reads its environment when it is set up): `openai_v2_content` (OTEL_SEMCONV_STABILITY_OPT_IN=
gen_ai_latest_experimental, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY: messages
as span attributes) and `openai_v2_no_content` (the same with NO_CONTENT). The model is ScriptedOpenAI.

    PYTHONPATH=. /tmp/rec-openai_v2/bin/python tests/corpus/record/openai_v2.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import openai
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

from tests.support.corpus_recording import CORPUS, Recorder, Run
from tests.support.openai_support_app import BILLING, ORCH, Agent, orchestrator, run_agent, support
from tests.support.scripted_openai import ScriptedOpenAI, Step, call, fail, say

FRAMEWORK = "openai_v2"
PACKAGES = ("openai", "opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai", "opentelemetry-sdk",
            "opentelemetry-exporter-otlp-proto-common")
MODES = {"content": "SPAN_ONLY", "no_content": "NO_CONTENT"}


# -- the scenarios ----------------------------------------------------------------------------------
@dataclass
class Scenario:
    name: str
    shape: str
    steps: list[Step]
    agent: Agent
    prompt: str
    label: Callable[[Run], None] | None = None
    client_retries: int = 0
    notes: str = ""


A17 = {"order_id": "A17"}


def tool_span(run: Run, name: str, index: int = 0) -> Any:
    return run.span(name=f"execute_tool {name}", index=index)


def chat_span(run: Run, index: int = 0) -> Any:
    return run.span(attr=("gen_ai.operation.name", "chat"), index=index)


def by(prefix: str, step: Step) -> Step:
    """`step` answers only requests whose system prompt starts with `prefix` (one agent's model)."""
    step.when = lambda body: str(body.get("messages", [{}])[0].get("content", "")).startswith(prefix)
    return step


def scenarios() -> list[Scenario]:
    long_steps = [call("search_docs", {"query": q}) for q in ("refund policy", "shipping times", "returns label")]
    long_steps += [call("lookup_order", A17), call("lookup_order", {"order_id": "B22"}),
                   call("get_weather", {"city": "Oslo"}), call("search_docs", {"query": "gift cards"}),
                   call("refund", {"order_id": "A17", "amount": 5.0}),
                   say("A17 shipped, B22 is processing, and I refunded 5.00 on A17. Returns are free within 30 days.")]
    return [
        # -- healthy ------------------------------------------------------------------------------
        Scenario("single_tool", "single_tool", [call("lookup_order", A17), say("Order A17 has shipped.")],
                 support("lookup_order"), "Where is my order A17?"),
        Scenario("parallel_tools", "parallel_tools",
                 [call("get_weather", {"city": "Paris"}, ("get_weather", {"city": "Tokyo"})),
                  say("Paris is 18°C and clear; Tokyo is 24°C and clear.")],
                 Agent("travel_agent", "You are a travel assistant.", ["get_weather"]),
                 "What's the weather in Paris and Tokyo?"),
        Scenario("sequential_tools", "sequential_tools",
                 [call("lookup_order", A17), call("refund", {"order_id": "A17", "amount": 42.5}),
                  say("I refunded 42.50 on order A17.")],
                 support("lookup_order", "refund"), "Please refund my order A17 in full."),
        Scenario("long_conversation", "long_conversation", long_steps,
                 support("lookup_order", "refund", "search_docs", "get_weather", max_iterations=12),
                 "Tell me about refunds, shipping, returns, gift cards, my orders A17 and B22, the weather in Oslo, "
                 "and refund 5 on A17."),
        Scenario("streaming", "streaming", [call("lookup_order", A17), say("Order A17 has shipped.")],
                 support("lookup_order", stream=True), "Where is my order A17?"),
        Scenario("retry_429_client_recovers", "retry_then_success",
                 [fail(429, "Rate limit reached for gpt-4o-mini"), call("lookup_order", A17),
                  say("Order A17 has shipped.")],
                 support("lookup_order"), "Where is my order A17?", client_retries=2,
                 notes="the openai client retries the 429 itself (max_retries=2), inside one chat span"),
        Scenario("retry_429_app_recovers", "retry_then_success",
                 [fail(429, "Rate limit reached for gpt-4o-mini"), call("lookup_order", A17),
                  say("Order A17 has shipped.")],
                 support("lookup_order", app_retries=2), "Where is my order A17?",
                 notes="the app catches RateLimitError and calls again: a refused chat span, then a good one"),
        Scenario("string_arg_tool", "single_tool", [call("search_docs", {"query": "change delivery address"}),
                                                    say("You can change the address until the order ships.")],
                 support("search_docs"), "How do I change my delivery address?"),
        Scenario("subagent_ok", "subagent",
                 [by(ORCH, call("billing_agent", {"request": "Refund 42.50 on order A17"})),
                  by(BILLING, call("refund", {"order_id": "A17", "amount": 42.5})),
                  by(BILLING, say("Refunded 42.50 on order A17.")),
                  by(ORCH, say("Your refund of 42.50 on A17 is done."))],
                 orchestrator(), "Refund my order A17 please."),
        Scenario("no_tool_answer", "no_tool", [say("Our support hours are 9:00-18:00 CET, Monday to Friday.")],
                 support("lookup_order"), "When is support open?"),
        # -- failures -----------------------------------------------------------------------------
        Scenario("tool_raises", "single_tool",
                 [call("lookup_order", {"order_id": "X00"}), say("Sorry, I couldn't reach the order system.")],
                 support("lookup_order"), "Where is my order X00?",
                 label=lambda r: r.expect("timeout", tool_span(r, "lookup_order"),
                                          "lookup_order raised ConnectionError('orders database timed out after 5s'); "
                                          "the app sent the error text to the model and the agent reported the failure")),
        Scenario("tool_error_string", "single_tool",
                 [call("lookup_order", {"order_id": "Z99"}), say("I couldn't find an order Z99.")],
                 support("lookup_order"), "Where is my order Z99?",
                 label=lambda r: r.expect("tool_error", tool_span(r, "lookup_order"),
                                          "lookup_order returned 'Error: order Z99 not found' (no exception)")),
        Scenario("streaming_tool_raises", "streaming",
                 [call("lookup_order", {"order_id": "X00"}), say("Sorry, I couldn't reach the order system.")],
                 support("lookup_order", stream=True), "Where is my order X00?",
                 label=lambda r: r.expect("timeout", tool_span(r, "lookup_order"),
                                          "lookup_order raised ConnectionError('orders database timed out after 5s'), "
                                          "streamed model calls")),
        Scenario("unknown_tool", "single_tool",
                 [call("cancel_order", A17), say("I can't cancel orders, but I can look them up.")],
                 support("lookup_order"), "Cancel my order A17.",
                 label=lambda r: r.expect("unknown_tool", chat_span(r, 0),
                                          "the model's first reply called cancel_order, which the agent does not "
                                          "offer (the app's execute_tool span fails with UnknownTool)")),
        Scenario("bad_arguments", "single_tool",
                 [call("refund", {"order": "A17", "amount": "all of it"}),
                  say("I could not process that refund. Please confirm the order id and the amount.")],
                 support("refund"), "Refund order A17.",
                 label=lambda r: r.expect("invalid_tool_args", chat_span(r, 0),
                                          "the model's first reply called refund without order_id and with a "
                                          "non-numeric amount (the app's execute_tool span fails with TypeError)")),
        Scenario("loop", "loop", [call("lookup_order", A17)],
                 support("lookup_order", max_iterations=5), "Is my order A17 delivered yet?",
                 label=lambda r: r.expect("loop", tool_span(r, "lookup_order"),
                                          "the model calls lookup_order(A17) again every turn until the app's "
                                          "5-iteration limit")),
        Scenario("max_iterations", "max_iterations",
                 [call("search_docs", {"query": q}) for q in ("refunds", "returns", "exchanges", "store credit")],
                 support("search_docs", max_iterations=3), "Explain every way I can get my money back.",
                 label=lambda r: r.expect("max_iterations", r.span(name="invoke_agent support_agent"),
                                          "the agent was still searching (different queries) after 3 iterations; "
                                          "the invoke_agent span carries MaxIterationsExceeded")),
        Scenario("rate_limited", "rate_limited", [fail(429, "Rate limit reached for gpt-4o-mini")],
                 support("lookup_order"), "Where is my order A17?", client_retries=1,
                 label=lambda r: r.expect("rate_limited", chat_span(r, 0),
                                          "every request got 429; the client's one retry also got 429")),
        Scenario("claims_success", "single_tool",
                 [call("refund", {"order_id": "B22", "amount": 19.0}), say("Done! Your refund of 19.00 is on its way.")],
                 support("refund"), "Refund order B22.",
                 label=lambda r: r.expect("error_swallowed", tool_span(r, "refund"),
                                          "refund raised (gateway declined) and the agent told the user it succeeded")),
        Scenario("subagent_tool_fails", "subagent",
                 [by(ORCH, call("billing_agent", {"request": "Refund 19.00 on order B22"})),
                  by(BILLING, call("refund", {"order_id": "B22", "amount": 19.0})),
                  by(BILLING, say("The refund failed: the payment gateway declined it.")),
                  by(ORCH, call("lookup_order", {"order_id": "B22"})),
                  by(ORCH, say("Order B22 is processing; the refund could not be done yet."))],
                 orchestrator(), "Refund my order B22 please.",
                 label=lambda r: r.expect("delegation_failure", tool_span(r, "refund"),
                                          "the billing_agent sub-agent's refund raised; the orchestrator went on "
                                          "after the sub-agent reported it", failed_agent="billing_agent")),
        Scenario("subagent_fails_parent_claims_success", "subagent",
                 [by(ORCH, call("billing_agent", {"request": "Refund 19.00 on order B22"})),
                  by(BILLING, call("refund", {"order_id": "B22", "amount": 19.0})),
                  by(BILLING, say("The refund failed: the payment gateway declined it.")),
                  by(ORCH, say("All done: your 19.00 refund for B22 has been issued."))],
                 orchestrator(), "Refund my order B22 please.",
                 label=lambda r: r.expect("delegation_failure", tool_span(r, "refund"),
                                          "the billing_agent sub-agent's refund raised and it said so; the "
                                          "orchestrator told the user the refund was issued",
                                          failed_agent="billing_agent")),
    ]


def record(mode: str, only: set[str], show: bool) -> Recorder:
    rec = Recorder(FRAMEWORK, versions={p: version(p) for p in PACKAGES})
    OpenAIInstrumentor().instrument(tracer_provider=rec.provider)
    for sc in scenarios():
        if only and sc.name not in only:
            continue
        server = ScriptedOpenAI(sc.steps)
        client = openai.OpenAI(base_url=server.start(), api_key="sk-test", max_retries=sc.client_retries)
        with rec.run(f"openai_v2_{mode}", sc.name, sc.shape) as run:
            try:
                outcome = f"final output: {run_agent(client, sc.agent, sc.prompt)[:120]!r}"
            except Exception as exc:  # the app's own failure, recorded as it surfaced
                outcome = f"raised {type(exc).__name__}: {str(exc)[:160]}"
        server.stop()
        run.notes = " ".join(x for x in (sc.notes, f"[{len(server.requests)} model requests; {outcome}]") if x)
        print(f"{mode} {sc.name}: {len(run.spans)} spans, {outcome}")
        run.label_with(sc.label)
        if show:
            for s in sorted(run.spans, key=lambda s: s.start_time or 0):
                print(f"  {s.name!r} {s.kind.name} parent={s.parent and format(s.parent.span_id, '016x')} "
                      f"id={s.context.span_id:016x} {s.status.status_code.name} {s.status.description or ''}")
                for k, v in (s.attributes or {}).items():
                    print(f"      {k} = {str(v)[:200]}")
                for e in s.events:
                    print(f"      EVENT {e.name} {str(dict(e.attributes or {}))[:200]}")
    return rec


def main() -> None:
    """Without --mode: record both modes, each in a child process, and merge their manifests."""
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    mode = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--mode=")), "")
    if mode:
        rec = record(mode, set(args), "--dump" in sys.argv)
        if not args:
            rec.write()
        return
    manifest_path = CORPUS / FRAMEWORK / "manifest.json"
    runs: list[dict[str, Any]] = []
    manifest: dict[str, Any] = {}
    for m, capture in MODES.items():
        env = os.environ | {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
                            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": capture}
        subprocess.run([sys.executable, __file__, f"--mode={m}", *sys.argv[1:]], env=env, check=True)
        if args:
            continue
        manifest = json.loads(manifest_path.read_text())
        runs += manifest["runs"]
    if not args:
        manifest["runs"] = runs
        manifest["modes"] = {f"openai_v2_{m}": {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
                                                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": c}
                             for m, c in MODES.items()}
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"{FRAMEWORK}: {len(runs)} runs in {Path(manifest_path).parent}")


if __name__ == "__main__":
    main()
