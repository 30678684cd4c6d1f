"""Cost (span-provided, catalogue, overrides, unknown) and the coverage report, on stored spans."""

from __future__ import annotations

import json

import pytest

from agentmortem.semconv.cost import ModelPrice, parse_overrides, price_tokens, span_cost
from agentmortem.semconv.report import coverage_report, is_mapped, render_report
from tests.support import conversation as sc
from tests.support.canonical_spans import load
from tests.support.conversation_checks import of_category, unknown_model_span

# OpenAI's published gpt-4o-mini prices, USD per million tokens (input, cached input, output).
GPT_4O_MINI = (0.15, 0.075, 0.60)


def expected_usd(turn: dict) -> float:
    inp, cached, out = GPT_4O_MINI
    return ((turn["input"] - turn["cached"]) * inp + turn["cached"] * cached + turn["output"] * out) / 1e6


def test_catalogue_price_counts_cached_tokens_once(produce, loaded):
    tool_turn = of_category(loaded(produce("openllmetry_openai")), "llm")[0]
    assert tool_turn.cost_usd is None  # the span carries no cost: priced from tokens
    assert span_cost(tool_turn) == pytest.approx(expected_usd(sc.TOOL_TURN_USAGE), rel=1e-9)


def test_span_provided_cost_wins(produce, loaded):
    first = of_category(loaded(produce("pydantic_ai_agent")), "llm")[0]
    assert span_cost(first) == first.cost_usd
    assert first.cost_usd == pytest.approx(expected_usd(sc.TOOL_TURN_USAGE), rel=1e-9)
    assert span_cost(first, {sc.MODEL: ModelPrice(1000, 1000)}) == first.cost_usd


def test_unknown_model_is_none_and_reported(store, loaded):
    (span,) = loaded(unknown_model_span())
    assert span_cost(span) is None
    report = coverage_report(store)
    assert report["unpriced_models"] == [{"provider": "acme", "model": sc.UNKNOWN_MODEL, "spans": 1}]
    assert report["unpriced_spans"] == 1
    assert {"key": "gen_ai.mystery.flag", "spans": 1} in report["unmapped_keys"]
    text = render_report(report)
    assert sc.UNKNOWN_MODEL in text and "gen_ai.mystery.flag" in text


def test_overrides_price_an_unknown_model(store, loaded):
    (span,) = loaded(unknown_model_span())
    overrides = parse_overrides(json.dumps({sc.UNKNOWN_MODEL: {"input_per_mtok": 2.0, "output_per_mtok": 8.0}}))
    assert span_cost(span, overrides) == pytest.approx((100 * 2.0 + 10 * 8.0) / 1e6)
    assert coverage_report(store, overrides=overrides)["unpriced_models"] == []


def test_no_tokens_no_cost():
    assert price_tokens("openai", sc.MODEL, None, None) is None
    assert price_tokens("openai", "", 10, 10) is None


def test_report_counts_categories_and_conventions(store, produce, vercel_spans):
    load(store, produce("openinference_langchain"))
    load(store, vercel_spans)
    report = coverage_report(store)
    assert report["spans"] == 8
    assert report["by_category"] == {"agent": 2, "llm": 4, "tool": 2}
    assert report["by_convention"] == {"openinference": 4, "vercel_ai": 4}
    assert report["unpriced_models"] == []
    unmapped = {r["key"] for r in report["unmapped_keys"]}
    assert "llm.invocation_parameters" in unmapped and not any(is_mapped(key) for key in unmapped)
    assert "llm.input_messages.0.message.role" not in unmapped  # read through an indexed rule
    assert "Spans per category and convention" in render_report(report)
