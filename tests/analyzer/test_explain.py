"""Root-cause ordering, cost-impact figures and the post-mortem's text and structure."""

from __future__ import annotations

import json

from agentmortem.analyzer.core.analysis import analyze_run
from agentmortem.analyzer.core.model import Run
from agentmortem.analyzer.core.rule_context import RuleSettings
from tests.support.run_builder import SECOND, WEATHER_TOOLS, RunBuilder, healthy_weather_run


def tool_error_loop_rate_limit() -> Run:
    """A tool error makes the agent call it again and again until the provider rate-limits it."""
    b = RunBuilder()
    b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS, tokens=(100, 20), cost=0.001)
    for _ in range(3):
        b.tool("get_weather", {"city": "Paris"}, error=("ConnectionError", "weather API unreachable"))
        b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS, tokens=(200, 20), cost=0.002)
    b.tool("get_weather", {"city": "Paris"}, error=("ConnectionError", "weather API unreachable"))
    b.llm(error=("RateLimitError", "Error code: 429 - Too Many Requests"))
    return b.build(root_error=("RateLimitError", "Error code: 429 - Too Many Requests"))


def words(text: str) -> int:
    return len(text.split())


def test_root_cause_is_the_earliest_cause_not_the_last_error():
    verdict, _ = analyze_run(tool_error_loop_rate_limit(), None, RuleSettings())
    assert verdict.outcome == "failed" and verdict.failure_class == "tool_error"
    assert verdict.root_cause.span_id == "s02"
    assert [s.type for s in verdict.signals] == ["tool_error", "retry_storm", "loop", "rate_limited"]


def test_cost_impact_figures():
    verdict, _ = analyze_run(tool_error_loop_rate_limit(), None, RuleSettings())
    ci = verdict.cost_impact
    # from the first failing tool call (s02, starts 1.2 s in) to the run's end (9.9 s in), plus nothing earlier
    assert ci.span_ids == ("s02", "s03", "s04", "s05", "s06", "s07", "s08", "s09")
    assert ci.wasted_tokens == 3 * 220 and ci.share_tokens == round(660 / 780, 4)
    assert ci.wasted_cost_usd == 0.006 and ci.share_cost == round(0.006 / 0.007, 4)
    assert ci.wasted_ms == 8800.0


def test_ties_break_by_depth_deeper_first():
    b = RunBuilder()
    step = b.span(category="workflow", span_name="node tools", duration_s=0.0)
    b.cursor -= SECOND // 10
    inner = b.span(category="tool", span_name="execute_tool search", tool_name="search", parent=step,
                   status_code="Error", error_type="ValueError", error_message="bad", duration_s=0.0)
    run = b.build(root_error=("ValueError", "bad"))
    verdict, _ = analyze_run(run, None, RuleSettings())
    assert verdict.root_cause.span_id == inner  # the workflow step only propagated it


def test_headline_names_failing_step_and_post_mortem_is_short():
    run = tool_error_loop_rate_limit()
    verdict, exp = analyze_run(run, None, RuleSettings())
    assert exp.headline == (
        "Agent `support` failed at step 3 of 10 (`execute_tool get_weather`): tool `get_weather` failed; "
        "then the agent looped on `get_weather` and the model provider rate-limited the agent."
    )
    assert exp.headline.count(".") == 1 and exp.headline.endswith(".")
    assert words(exp.markdown) <= 150
    for section in ("**What:**", "**Why:**", "**Where:**", "**Cost impact:**", "**Next step:**"):
        assert section in exp.markdown
    assert "step 3 of 10, `execute_tool get_weather` (`s02`); path: `invoke_agent support` › " in exp.markdown
    assert "660 tokens (85% of the run), $0.0060 (86%), 8.8 s" in exp.markdown


def test_structured_json_carries_the_facts():
    verdict, exp = analyze_run(tool_error_loop_rate_limit(), None, RuleSettings())
    s = json.loads(json.dumps(exp.structured))  # JSON-able
    assert s["failure_class"] == "tool_error" and s["root_cause_span_id"] == "s02" and s["outcome"] == "failed"
    assert s["where"] == {"step": 3, "of": 10, "span_name": "execute_tool get_weather", "span_id": "s02",
                          "path": [{"span_id": "root", "span_name": "invoke_agent support"},
                                   {"span_id": "s02", "span_name": "execute_tool get_weather"}]}
    assert s["cost_impact"]["wasted_tokens"] == 660
    assert [x["type"] for x in s["signals"]] == ["tool_error", "retry_storm", "loop", "rate_limited"]
    assert s["run"]["tokens"] == 780 and s["run"]["llm_calls"] == 5


def test_every_span_id_cited_exists():
    run = tool_error_loop_rate_limit()
    _, exp = analyze_run(run, None, RuleSettings())
    import re
    cited = set(re.findall(r"`(s\d\d|root)`", exp.markdown))
    assert cited and cited <= {rs.span_id for rs in run.spans}


def test_deterministic():
    a = analyze_run(tool_error_loop_rate_limit(), None, RuleSettings())
    b = analyze_run(tool_error_loop_rate_limit(), None, RuleSettings())
    assert a == b


def test_health_summary():
    _, exp = analyze_run(healthy_weather_run(), None, RuleSettings())
    assert exp.headline == "Agent `support` ok: answered in 6 steps (3 model calls, 2 tool calls), 5.6 s, 360 tokens, $0.0030."
    assert exp.markdown == f"**{exp.headline}**"
    assert exp.structured["where"] is None and exp.structured["cost_impact"] is None


def test_silent_failure_headline_when_spans_say_ok():
    b = RunBuilder()
    llm = b.llm(tool_calls=[("cancel_order", {"id": "A1"})], tools=WEATHER_TOOLS)
    b.tool("cancel_order", {"id": "A1"}, result="done")
    b.llm(answer="Your order is cancelled.")
    run = b.build(output="Your order is cancelled.")
    assert all(rs.span.status_code != "Error" for rs in run.spans)
    verdict, exp = analyze_run(run, None, RuleSettings())
    assert verdict.failure_class == "unknown_tool" and verdict.root_cause.span_id == llm
    assert exp.headline == ("Agent `support` failed at step 2 of 4 (`chat gpt-4o-mini`): the model called "
                            "`cancel_order`, a tool it was never offered.")
