"""False-positive guards: healthy runs — including legitimate repeats and recovered errors — get no signals."""

from __future__ import annotations

import pytest

from agentmortem.analyzer.core.analysis import analyze_run
from agentmortem.analyzer.core.model import Run, SubRunOutcome
from agentmortem.analyzer.core.rule_context import RuleSettings
from tests.support.run_builder import WEATHER_TOOLS, RunBuilder, healthy_weather_run


def paginated_search() -> Run:
    b = RunBuilder(question="List every open ticket")
    for page in (1, 2, 3, 4):
        b.llm(tool_calls=[("search", {"q": f"open tickets page {page}"})], tools=WEATHER_TOOLS)
        b.tool("search", {"q": f"open tickets page {page}"}, result={"tickets": [f"T-{page}00", f"T-{page}01"]})
    answer = "Open tickets: T-100, T-101, T-200, T-201, T-300, T-301, T-400 and T-401."
    b.llm(answer=answer, tools=WEATHER_TOOLS)
    return b.build(output=answer)


def tool_retry_succeeds() -> Run:
    b = RunBuilder()
    b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"city": "Paris"}, error=("ReadTimeout", "read timed out"))
    b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"city": "Paris"}, result={"temp_c": 18})
    b.llm(answer="It is 18°C in Paris.", tools=WEATHER_TOOLS)
    return b.build(output="It is 18°C in Paris.")


def rate_limit_then_fallback_model() -> Run:
    b = RunBuilder()
    b.llm(error=("RateLimitError", "Error code: 429 - Too Many Requests"), model="gpt-4o")
    b.llm(answer="Paris is sunny today.", model="gpt-4o-mini")
    return b.build(output="Paris is sunny today.")


def loose_number_formats() -> Run:
    b = RunBuilder(question="How much did ACME earn in 2023 and what was the margin?")
    b.span(category="retrieval", span_name="retrieval docs",
           retrieved_documents='[{"id": "d1", "content": "ACME revenue 2023: 1234567 USD; margin 0.125; CEO \\"Jane Roe\\"; '
                               'filed 2024-02-01; contact ir@acme.example"}]')
    answer = ('ACME earned $1,234,567 in 2023 with a 12.5% margin; CEO "Jane Roe" filed on February 1, 2024 '
              "(ir@acme.example).")
    b.llm(answer=answer)
    return b.build(output=answer)


def no_content_captured() -> Run:
    b = RunBuilder(question="")
    b.llm(prompt=[], answer=None)
    run = b.build()
    spans = tuple(rs.__class__(span=rs.span._replace(input_messages="", output_messages=""),
                               depth=rs.depth, step=rs.step, children=rs.children, cost_usd=rs.cost_usd)
                  for rs in run.spans)
    return run.__class__(**{**run.__dict__, "spans": spans})


def with_ok_sub_agent() -> Run:
    b = RunBuilder()
    call = b.tool("ask_researcher", {"q": "Paris weather"}, result="Sunny, 18°C")
    b.llm(answer="Paris: sunny, 18°C.")
    return b.build(output="Paris: sunny, 18°C.",
                   sub_runs=(SubRunOutcome(run_id="c1", parent_span_id=call, agent_name="researcher"),))


@pytest.mark.parametrize("make", [
    healthy_weather_run, paginated_search, tool_retry_succeeds, rate_limit_then_fallback_model,
    loose_number_formats, no_content_captured, with_ok_sub_agent,
])
def test_healthy_runs_have_no_signals(make):
    verdict, explanation = analyze_run(make(), None, RuleSettings())
    assert verdict.signals == ()
    assert (verdict.outcome, verdict.failure_class, verdict.root_cause, verdict.cost_impact) == ("ok", "", None, None)
    assert explanation.headline.startswith("Agent `support` ok: answered in")
    assert explanation.structured["outcome"] == "ok" and explanation.structured["failure_class"] == ""


def test_grounded_answer_scores_zero():
    verdict, _ = analyze_run(loose_number_formats(), None, RuleSettings())
    assert verdict.hallucination_score == 0.0
