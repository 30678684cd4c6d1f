"""One test (or a small table) per rule, on hand-built runs: the rule fires with the right evidence."""

from __future__ import annotations

import pytest

from agentmortem.analyzer.core.analysis import analyze_run
from agentmortem.analyzer.core.model import Baseline, Signal, SubRunOutcome, Verdict
from agentmortem.analyzer.core.rule_context import RuleSettings
from tests.support.run_builder import SECOND, WEATHER_TOOLS, RunBuilder


def analyze(run, baseline: Baseline | None = None, **settings) -> Verdict:
    return analyze_run(run, baseline, RuleSettings(**settings))[0]


def of_type(verdict: Verdict, kind: str):
    return [s for s in verdict.signals if s.type == kind]


def test_tool_error_grouped_and_unrecovered():
    b = RunBuilder()
    b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"city": "Paris"}, error=("ConnectionError", "weather API unreachable"))
    b.llm(answer="I could not get the weather.", tools=WEATHER_TOOLS)
    v = analyze(b.build(output="I could not get the weather."))
    [sig] = of_type(v, "tool_error")
    assert (sig.span_id, sig.severity, sig.evidence["count"], sig.evidence["tool"]) == ("s02", "error", 1, "get_weather")
    assert "weather API unreachable" in sig.evidence["message"]
    assert v.outcome == "failed" and v.failure_class == "tool_error"


def test_error_text_says_each_part_once():
    """SDKs set the status message to "Type: message"; the evidence must not repeat it."""
    b = RunBuilder()
    b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"city": "Paris"}, error=("ConnectionError", "weather API unreachable"),
           status_message="ConnectionError: weather API unreachable")
    b.llm(answer="I could not get the weather.", tools=WEATHER_TOOLS)
    [sig] = of_type(analyze(b.build(output="I could not get the weather.")), "tool_error")
    assert sig.evidence["message"] == "ConnectionError: weather API unreachable"


def test_soft_tool_error_returned_as_result():
    b = RunBuilder()
    b.llm(tool_calls=[("search", {"q": "x"})], tools=WEATHER_TOOLS)
    b.tool("search", {"q": "x"}, result="Error: index not found")
    b.llm(answer="I'm sorry, I was unable to find anything.")
    [sig] = of_type(analyze(b.build()), "tool_error")
    assert sig.evidence["soft"] is True and sig.span_id == "s02"


@pytest.mark.parametrize(("result", "failed"), [
    ({"message": "order Z99 not found in the order service", "code": "404"}, True),  # CrewAI's ToolFailure
    ({"success": False, "detail": "card declined"}, True),
    ({"ok": False}, True),
    ({"status": "shipped", "code": "A17"}, False),
    ({"status": 200, "message": "found"}, False),
    ({"order_id": "A17", "shipped": False}, False),
])
def test_a_tool_result_that_states_a_failure_is_a_tool_error(result, failed):
    b = RunBuilder(question="Where is order Z99?")
    b.llm(tool_calls=[("search", {"q": "Z99"})], tools=WEATHER_TOOLS)
    b.tool("search", {"q": "Z99"}, result=result)
    b.llm(answer="Here is what I found about Z99.")
    assert bool(of_type(analyze(b.build()), "tool_error")) is failed


@pytest.mark.parametrize(("error", "kind", "code"), [
    (("RateLimitError", "Error code: 429 - rate limit reached for gpt-4o-mini"), "rate_limited", 429),
    (("AuthenticationError", "Error code: 401 - Incorrect API key provided"), "auth_error", 401),
    (("PermissionDeniedError", "Error code: 403 - forbidden"), "auth_error", 403),
    (("APITimeoutError", "Request timed out."), "timeout", None),
    (("BadRequestError", "This model's maximum context length is 128000 tokens"), "context_overflow", None),
    (("BadRequestError", "The response was filtered due to the prompt triggering content management policy"),
     "content_filtered", None),
    (("ValueError", "something broke"), "error", None),
])
def test_llm_failure_kinds(error, kind, code):
    b = RunBuilder()
    b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"city": "Paris"}, result={"temp_c": 18})
    failing = b.llm(error=error)
    v = analyze(b.build(root_error=error))
    assert v.failure_class == kind and v.root_cause.span_id == failing
    assert [s.type for s in v.signals if s.severity in ("error", "critical")] == [kind]  # root error is propagated
    assert v.root_cause.evidence.get("status_code") == code


def test_recovered_rate_limit_is_silent():
    b = RunBuilder()
    b.llm(error=("RateLimitError", "Error code: 429"))
    b.llm(answer="It is sunny in Paris.")
    v = analyze(b.build(output="It is sunny in Paris."))
    assert v.signals == () and v.outcome == "ok"


def test_context_overflow_truncated_and_nearly_full():
    b = RunBuilder()
    b.llm(answer="The report begins", finish=("length",), tokens=(125_000, 4000))
    v = analyze(b.build(output="The report begins"))
    reasons = sorted(s.evidence["reason"] for s in of_type(v, "context_overflow"))
    assert reasons == ["output_truncated", "window_nearly_full"]
    assert v.outcome == "degraded"


def test_context_window_override():
    settings = RuleSettings(model_context_windows={"my-model": 1000})
    assert settings.context_window("acme/my-model-v2") == 1000
    assert settings.context_window("gpt-4o-mini-2024-07-18") == 128_000
    assert settings.context_window("gpt-4-0613") == 8_192
    assert settings.context_window("unknown") is None


def test_content_filter_finish_reason_and_refusal():
    b = RunBuilder()
    b.llm(answer="", finish=("content_filter",))
    [sig] = of_type(analyze(b.build()), "content_filtered")
    assert sig.evidence["reason"] == "finish_reason" and sig.span_id == "s01"
    b = RunBuilder()
    b.llm(answer="I'm sorry, but I can't help with that request.")
    [sig] = of_type(analyze(b.build()), "content_filtered")
    assert sig.evidence["reason"] == "refusal"


def test_empty_output_and_non_answer():
    b = RunBuilder()
    b.llm(answer="")
    v = analyze(b.build())
    assert v.failure_class == "empty_output" and v.outcome == "failed"
    b = RunBuilder()
    b.llm(answer="I'm sorry, I was unable to complete the booking.")
    v = analyze(b.build())
    assert v.failure_class == "empty_output" and v.root_cause.evidence["reason"] == "non_answer"
    assert v.outcome == "degraded"


def test_invalid_tool_args_schema_and_json():
    b = RunBuilder()
    llm = b.llm(tool_calls=[("get_weather", {"town": "Paris"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"town": "Paris"}, error=("TypeError", "missing argument city"))
    b.llm(answer="Sorry, I couldn't get the weather.")
    v = analyze(b.build())
    [sig] = of_type(v, "invalid_tool_args")
    assert sig.span_id == llm and "'city' is a required property" in sig.evidence["problem"]
    assert v.failure_class == "invalid_tool_args"
    b = RunBuilder()
    b.llm(tool_calls=[("search", '{"q": "par')], tools=WEATHER_TOOLS)
    [sig] = of_type(analyze(b.build()), "invalid_tool_args")
    assert sig.evidence["problem"] == "arguments are not valid JSON"


ORDER_TOOLS = [{"name": "lookup_order", "description": "Look up an order",
                "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                               "required": ["order_id"]}}]


def test_tool_arguments_are_judged_on_what_the_model_sent_not_on_the_tool_span_record():
    """LangChain (OpenInference) records a one-string-argument tool's input as the bare value: not JSON,
    and not what the model sent (its call carried valid JSON)."""
    b = RunBuilder(question="Where is order A17?")
    b.llm(tool_calls=[("lookup_order", {"order_id": "A17"})], tools=ORDER_TOOLS)
    b.tool("lookup_order", "A17", result="A17: shipped on Monday")
    b.llm(answer="Order A17 shipped on Monday.")
    v = analyze(b.build(output="Order A17 shipped on Monday."))
    assert v.signals == () and v.outcome == "ok" and not v.failure_class


def test_a_tool_that_raised_is_a_tool_error_whatever_its_span_recorded_as_input():
    b = RunBuilder(question="Where is order A17?")
    b.llm(tool_calls=[("lookup_order", {"order_id": "A17"})], tools=ORDER_TOOLS)
    tool = b.tool("lookup_order", "A17", error=("KeyError", "A17"))
    b.llm(answer="I could not look up order A17: the order service failed.")
    v = analyze(b.build(output="I could not look up order A17: the order service failed."))
    assert v.failure_class == "tool_error" and v.root_cause.span_id == tool
    assert of_type(v, "invalid_tool_args") == []


@pytest.mark.parametrize("schema", ["a string", {"type": "string"}, {"type": "object", "properties": 5}])
def test_a_malformed_or_non_object_tool_schema_is_no_schema(schema):
    tools = [{"name": "lookup_order", "description": "Look up an order", "parameters": schema}]
    b = RunBuilder(question="Where is order A17?")
    b.llm(tool_calls=[("lookup_order", {"order_id": "A17"})], tools=tools)
    b.tool("lookup_order", {"order_id": "A17"}, result="A17: shipped on Monday")
    b.llm(answer="Order A17 shipped on Monday.")
    v = analyze(b.build(output="Order A17 shipped on Monday."))
    assert of_type(v, "invalid_tool_args") == [] and not v.failure_class


@pytest.mark.parametrize(("error", "kind"), [
    (("UnknownTool", "unknown tool 'cancel_order'"), "unknown_tool"),
    (("TypeError", "refund() got an unexpected keyword argument 'order'"), "invalid_tool_args"),
    (("ValidationError", "1 validation error for refundArgs\namount\n  Input should be a valid number"),
     "invalid_tool_args"),
])
def test_a_call_the_tool_runner_refused_is_the_models_mistake_at_the_model_call(error, kind):
    """No tool definitions recorded: the runner's own refusal tells the kind; the model call that asked is
    where it happened."""
    b = RunBuilder(question="Cancel order A17")
    asked = b.llm(tool_calls=[("cancel_order", {"order": "A17"})])
    b.tool("cancel_order", {"order": "A17"}, error=error)
    b.llm(answer="Sorry, I could not do that: the order tool refused the call.")
    v = analyze(b.build(output="Sorry, I could not do that: the order tool refused the call."))
    assert (v.failure_class, v.root_cause.span_id) == (kind, asked)


def test_invalid_args_corrected_later_is_silent():
    b = RunBuilder()
    b.llm(tool_calls=[("get_weather", {"town": "Paris"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"town": "Paris"}, result="Error: city is required")
    b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"city": "Paris"}, result={"temp_c": 18})
    b.llm(answer="It is 18°C in Paris.")
    v = analyze(b.build(output="It is 18°C in Paris."))
    assert v.signals == () and v.outcome == "ok"


def test_unknown_tool_only_when_definitions_offered():
    b = RunBuilder()
    llm = b.llm(tool_calls=[("book_flight", {"to": "Rome"})], tools=WEATHER_TOOLS)
    b.tool("book_flight", {"to": "Rome"}, error=("KeyError", "book_flight"))
    b.llm(answer="Your flight to Rome is booked.")
    v = analyze(b.build())
    [sig] = of_type(v, "unknown_tool")
    assert sig.span_id == llm and sig.evidence["tool"] == "book_flight"
    assert sig.evidence["offered"] == ["get_weather", "search"]
    assert v.failure_class == "unknown_tool"
    b = RunBuilder()
    b.llm(tool_calls=[("book_flight", {"to": "Rome"})])
    b.tool("book_flight", {"to": "Rome"}, result="booked")
    b.llm(answer="Booked.")
    assert of_type(analyze(b.build()), "unknown_tool") == []


def test_loop_identical_calls_ending_in_non_answer():
    b = RunBuilder()
    for _ in range(4):
        b.llm(tool_calls=[("search", {"q": "paris weather"})], tools=WEATHER_TOOLS)
        b.tool("search", {"q": "paris weather"}, result={"hits": []})
    b.llm(answer="I'm sorry, I couldn't find the weather for Paris.")
    v = analyze(b.build())
    [sig] = of_type(v, "loop")
    assert sig.evidence["reason"] == "identical_calls" and sig.evidence["count"] == 4 and sig.severity == "error"
    assert sig.evidence["wasted_span_ids"] == ["s03", "s04", "s05", "s06", "s07", "s08"]
    assert v.failure_class == "loop" and v.root_cause.span_id == "s02"


def test_loop_cycle_and_identical_prompts():
    b = RunBuilder()
    for _ in range(3):
        b.tool("search", {"q": "a"}, result="x")
        b.tool("get_weather", {"city": "b"}, result="y")
    b.llm(answer="Done.")
    [sig] = of_type(analyze(b.build()), "loop")
    assert sig.evidence["reason"] == "cycle" and sig.evidence["period"] == 2 and sig.evidence["count"] == 6
    b = RunBuilder()
    for _ in range(3):
        b.llm(answer="thinking", prompt=[{"role": "user", "content": "plan the trip"}])
    b.llm(answer="Here is the plan.")
    [sig] = of_type(analyze(b.build()), "loop")
    assert sig.evidence["reason"] == "identical_prompts" and sig.evidence["count"] == 3 and sig.severity == "warning"


def test_identical_prompts_are_told_apart_by_value_among_prompts_of_one_size():
    same, other = [{"role": "user", "content": "plan the trip"}], [{"role": "user", "content": "book it"}]
    b = RunBuilder()
    for prompt in (other, same, other, same, other, same):  # every prompt one message: one size
        b.llm(answer="thinking", prompt=prompt)
    b.llm(answer="Here is the plan.")
    # s04 gives `same` in another text (key order, spacing): the same JSON value, so the same prompt
    b.spans[3] = b.spans[3]._replace(input_messages='[ {"content": "plan the trip", "role": "user"} ]')
    loops = sorted((s.evidence["reason"], s.evidence["span_ids"]) for s in of_type(analyze(b.build()), "loop"))
    assert loops == [("identical_prompts", ["s01", "s03", "s05"]), ("identical_prompts", ["s02", "s04", "s06"])]
    b.spans[3] = b.spans[3]._replace(input_messages='[{"role": "user", "content": "plan the trip!"}]')
    loops = [s.evidence["span_ids"] for s in of_type(analyze(b.build()), "loop")]
    assert loops == [["s01", "s03", "s05"]]  # two calls left with `same`: below the 3 a loop needs


def test_retry_storm_recovered_is_a_warning():
    b = RunBuilder()
    for _ in range(3):
        b.tool("search", {"q": "x"}, error=("TimeoutError", "search timed out"))
    b.tool("search", {"q": "x"}, result="found it")
    b.llm(answer="found it")
    v = analyze(b.build(output="found it"))
    [sig] = v.signals
    assert (sig.type, sig.severity, sig.evidence["count"], sig.evidence["failed"]) == ("retry_storm", "warning", 4, 3)
    assert v.outcome == "degraded" and v.cost_impact.span_ids[:3] == ("s01", "s02", "s03")


@pytest.mark.parametrize(("message", "as_output"), [
    ("GraphRecursionError: Recursion limit of 25 reached without hitting a stop condition", False),
    ("MaxTurnsExceeded: Max turns (10) exceeded", False),
    ("Agent stopped due to iteration limit or time limit.", True),
])
def test_max_iterations_markers(message, as_output):
    b = RunBuilder()
    b.llm(tool_calls=[("search", {"q": "a"})], tools=WEATHER_TOOLS)
    b.tool("search", {"q": "a"}, result="x")
    if as_output:
        run = b.build(output=message)
    else:
        run = b.build(root_error=tuple(message.split(": ", 1)))
    v = analyze(run)
    assert v.failure_class == "max_iterations" and v.root_cause.span_id == "root"


def test_abandoned():
    b = RunBuilder()
    b.llm(tool_calls=[("search", {"q": "a"})], tools=WEATHER_TOOLS)
    b.tool("search", {"q": "a"}, result="x")
    v = analyze(b.build(ended=False))
    assert v.failure_class == "abandoned" and v.root_cause.span_id == "s02"
    assert v.root_cause.evidence["last_span_name"] == "execute_tool search"


def _baseline(**kw) -> Baseline:
    values = dict(agent_name="support", runs=50, duration_ms_p50=3000, duration_ms_p95=4000, duration_ms_mad=300,
                  tokens_p50=300, tokens_p95=400, cost_usd_p50=0.002, cost_usd_p95=0.003, cost_usd_mad=0.0003)
    values.update(kw)
    return Baseline(**values)


def test_latency_outlier_and_cost_overspend_vs_baseline():
    b = RunBuilder(question="")
    b.llm(answer="ok", cost=0.02, duration_s=20)
    v = analyze(b.build(output="ok"), _baseline())
    latency, cost = of_type(v, "latency_outlier")[0], of_type(v, "cost_overspend")[0]
    assert latency.evidence["z"] == pytest.approx(0.6745 * (20_200 - 3000) / 300, abs=0.01)
    assert cost.evidence["reason"] == "baseline" and v.outcome == "degraded"
    assert analyze(b.build(output="ok"), _baseline(runs=5)).signals == ()  # too little history


def test_budget_overspend_and_near_budget_warning():
    b = RunBuilder(question="")
    b.llm(answer="ok", cost=0.6)
    v = analyze(b.build(output="ok"), agent_budgets_usd={"support": 0.5})
    assert v.failure_class == "cost_overspend" and v.root_cause.evidence["budget_usd"] == 0.5
    v, e = analyze_run(b.build(output="ok"), None, RuleSettings(agent_budgets_usd={"support": 0.7}))
    [sig] = v.signals
    assert (sig.severity, sig.decisive, v.outcome) == ("info", False, "ok")
    assert "86% of its $0.7 budget" in e.markdown


def test_delegation_failure_from_sub_run_outcomes():
    b = RunBuilder()
    call = b.tool("ask_researcher", {"q": "x"}, result="")
    b.llm(answer="Everything is fine.")
    sub = SubRunOutcome(run_id="child", parent_span_id=call, agent_name="researcher", outcome="failed",
                        failure_class="tool_error")
    v = analyze(b.build(output="Everything is fine.", sub_runs=(sub,)))
    assert v.failure_class == "delegation_failure" and v.root_cause.span_id == call
    assert v.root_cause.evidence["sub_failure_class"] == "tool_error"
    ok = SubRunOutcome(run_id="child", parent_span_id=call, agent_name="researcher")
    assert analyze(b.build(output="Everything is fine.", sub_runs=(ok,))).signals == ()


def test_a_failed_sub_run_is_the_cause_before_the_parents_later_claim():
    """The planner delegates to billing-agent, whose refund tool failed; the planner then claims success.
    The root cause is where the sub-run's failure began (its own root cause span), not the claim."""
    b = RunBuilder(agent="planner", question="Refund my $20 order A17")
    b.llm(tool_calls=[("billing_agent", {"task": "refund $20 for A17"})])
    call = b.tool("billing_agent", {"task": "refund $20 for A17"}, result="")
    b.llm(answer="Your refund of $20 is on its way.")
    refund = Signal("tool_error", "error", "refund-span", {"span_ids": ["refund-span"], "tool": "refund",
                                                            "count": 1, "message": "PermissionError: not allowed"})
    sub = SubRunOutcome(run_id="billing", parent_span_id=call, agent_name="billing-agent", outcome="failed",
                        failure_class="tool_error", root_cause=refund, end_ns=b.cursor - 2 * SECOND)
    v = analyze(b.build(output="Your refund of $20 is on its way.", sub_runs=(sub,)))
    assert v.failure_class == "delegation_failure" and v.root_cause.span_id == "refund-span"
    assert v.root_cause.evidence["delegated_at"] == call and v.root_cause.evidence["sub_agent"] == "billing-agent"


def test_an_orchestration_that_stops_with_its_failed_agent_fails_with_the_agents_own_failure():
    """A workflow root whose one agent failed (and that made no model call after it) is not a
    delegation failure: it failed the way its agent did, at the agent's root cause."""
    b = RunBuilder(agent="workflow", question="Refund my $20 order A17")
    step = b.span(span_name="run billing_agent", category="workflow")
    refund = Signal("tool_error", "error", "refund-span", {"span_ids": ["refund-span"], "tool": "refund",
                                                            "count": 1, "message": "PermissionError: not allowed"})
    sub = SubRunOutcome(run_id="billing", parent_span_id=step, agent_name="billing-agent", outcome="failed",
                        failure_class="tool_error", root_cause=refund, end_ns=b.cursor)
    v = analyze(b.build(sub_runs=(sub,)))
    assert (v.failure_class, v.root_cause.span_id, v.root_cause.evidence["sub_agent"]) == (
        "tool_error", "refund-span", "billing-agent")


def test_an_error_that_only_passes_a_sub_runs_failure_on_is_not_another_failure():
    """CrewAI's crew span ends in the same error as the agent whose guardrail tripped: the crew's error is
    the agent's failure passed on, not a second, later cause."""
    b = RunBuilder(agent="crew", question="Refund order A17")
    step = b.span(span_name="Support agent._execute_core", category="workflow")
    trip = Signal("content_filtered", "error", "agent-span", {"span_ids": ["agent-span"], "reason": "error",
                                                             "message": "Task failed guardrail validation"})
    sub = SubRunOutcome(run_id="agent", parent_span_id=step, agent_name="Support agent", outcome="failed",
                        failure_class="content_filtered", root_cause=trip, end_ns=b.cursor)
    v = analyze(b.build(root_error=("Exception", "Task failed guardrail validation"), sub_runs=(sub,)))
    assert (v.failure_class, v.root_cause.span_id) == ("content_filtered", "agent-span")
    assert [s.type for s in v.signals] == ["content_filtered"]


def test_error_swallowed():
    b = RunBuilder()
    b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS)
    failing = b.tool("get_weather", {"city": "Paris"}, error=("ConnectionError", "weather service unavailable (503)"))
    reader = b.llm(answer="It is sunny in Paris today.")
    v = analyze(b.build(output="It is sunny in Paris today."))
    assert v.failure_class == "error_swallowed" and v.root_cause.span_id == failing
    assert v.root_cause.evidence["read_by"] == reader


def test_ungrounded_output_score():
    b = RunBuilder(question="What's the status of order ORD-1234?")
    b.llm(tool_calls=[("search", {"q": "ORD-1234"})], tools=WEATHER_TOOLS)
    b.tool("search", {"q": "ORD-1234"}, result={"order": "ORD-1234", "status": "shipped", "total": "1234.50 USD"})
    answer = ("Order ORD-1234 shipped on March 3, 2024 via https://track.example.com/x9 — total $1,234.50, "
              "refund ref RF-99812.")
    b.llm(answer=answer)
    v = analyze(b.build(output=answer))
    [sig] = of_type(v, "ungrounded_output")
    assert sig.evidence["claims"] == 5 and sig.evidence["ungrounded"] == 3
    assert sorted(sig.evidence["examples"]) == ["March 3, 2024", "RF-99812", "https://track.example.com/x9"]
    assert v.hallucination_score == 0.6 and sig.severity == "error"


def test_one_unsupported_fact_or_an_answer_from_no_source_is_not_ungrounded():
    b = RunBuilder(question="What's the status of order ORD-1234?")
    b.llm(tool_calls=[("search", {"q": "ORD-1234"})], tools=WEATHER_TOOLS)
    b.tool("search", {"q": "ORD-1234"}, result={"order": "ORD-1234", "status": "shipped"})
    answer = "Order ORD-1234 shipped. Returns are free within 30 days."
    b.llm(answer=answer)
    v = analyze(b.build(output=answer))
    assert of_type(v, "ungrounded_output") == [] and v.hallucination_score == 0.5 and not v.failure_class
    b = RunBuilder(question="When are you open?")
    answer = "Our support hours are 9:00-18:00 CET, Monday to Friday, call 0800-555-0199."
    b.llm(answer=answer)
    v = analyze(b.build(output=answer))  # nothing fetched: answered from the model's own knowledge
    assert of_type(v, "ungrounded_output") == [] and v.hallucination_score is None and not v.failure_class


def test_low_eval_score():
    b = RunBuilder(question="")
    b.llm(answer="ok", evaluations='[{"name": "relevance", "score": 0.2}, {"name": "toxicity", "label": "pass"}]')
    v = analyze(b.build(output="ok"))
    [sig] = of_type(v, "low_eval_score")
    assert sig.evidence["name"] == "relevance" and sig.evidence["score"] == 0.2 and v.outcome == "degraded"
    assert analyze(b.build(output="ok"), eval_thresholds={"relevance": 0.1}).signals == ()


def _workflow(*messages: tuple[str, str], expected: str = "") -> tuple[RunBuilder, tuple[SubRunOutcome, ...]]:
    """A failed workflow run whose agents spoke `messages` (agent, text) in order."""
    b = RunBuilder(question="How many stops are between South Station and Windsor Gardens?")
    explanation = f', "explanation": "expected answer: {expected}"' if expected else ""
    b.span(category="workflow", span_name="judge",
           evaluations='[{"name": "task_success", "score": 0, "label": "fail"' + explanation + "}]")
    subs = tuple(SubRunOutcome(run_id=f"m{i}", parent_span_id="root", agent_name=agent, start_ns=i * SECOND,
                               end_ns=i * SECOND + 1, answer=text) for i, (agent, text) in enumerate(messages))
    return b, subs


def test_wrong_outcome_names_the_message_that_first_stated_the_unsupported_fact():
    b, subs = _workflow(("Planner", "Task: count the stops between South Station and Windsor Gardens."),
                        ("Lister", "From memory the line has 14 stations, so there are 12 stops between them."),
                        ("Checker", "Verified: 12 stops."), ("Planner", "The answer is 12."), expected="10")
    v = analyze(b.build(output="The answer is 12.", sub_runs=subs))
    [sig] = of_type(v, "wrong_outcome")
    assert (sig.span_id, sig.evidence["agent"], sig.evidence["fact"]) == ("m1", "Lister", "12")
    assert v.root_cause.type == "wrong_outcome" and v.root_cause.span_id == "m1"


def test_wrong_outcome_blames_the_code_not_the_executor_that_printed_its_result():
    b, subs = _workflow(("Planner", "Task: count the even street numbers."),
                        ("Coder", "Run this: print(sum(1 for n in numbers if n % 2 == 0))"),
                        ("Computer_terminal", "exitcode: 0 (execution succeeded)\nCode output: 4"),
                        ("Checker", "The count is 4."))
    [sig] = of_type(analyze(b.build(output="The count is 4.", sub_runs=subs)), "wrong_outcome")
    assert (sig.span_id, sig.evidence["agent"]) == ("m1", "Coder")


def test_wrong_outcome_needs_a_failing_evaluation_and_an_unsupported_fact():
    b, subs = _workflow(("Planner", "Task: count the stops."), ("Lister", "There are 10 stops."),
                        ("Checker", "10 stops."), expected="10")
    assert of_type(analyze(b.build(output="10 stops.", sub_runs=subs)), "wrong_outcome") == []
    ok = RunBuilder(question="How many stops?")
    subs = (SubRunOutcome(run_id="m0", parent_span_id="root", agent_name="A", answer="Task"),
            SubRunOutcome(run_id="m1", parent_span_id="root", agent_name="B", start_ns=SECOND, answer="There are 12."))
    assert of_type(analyze(ok.build(output="There are 12.", sub_runs=subs)), "wrong_outcome") == []
