"""The framework corpus (`tests/corpus/`): real framework runs replayed through the OTLP receiver,
analyzed, and scored against their labels — per framework, healthy runs must get no failure class,
failures the right class (≥ 95 %) at the right root-cause span (≥ 90 %). The report is printed."""

from __future__ import annotations

import pytest

from agentmortem.platform.store import Store
from tests.support.corpus import (
    CorpusRun,
    GroupScore,
    Verdict,
    analyze_corpus,
    corpus_runs,
    format_report,
    replay,
    score,
)
from tests.support.engine import fresh_store
from tests.support.inprocess_collector import running_collector

RUNS = corpus_runs()
GROUPS = sorted({r.group for r in RUNS})
CLASS_TARGET, ROOT_TARGET = 0.95, 0.90
# Frameworks whose runs do not reach the targets yet (the report says which runs and why); strict:
# a group that reaches them fails here until it is taken off this list.
SHORT_OF_TARGETS = {
    "autogen (native)", "autogen (openinference)", "langgraph (openllmetry)",
    "llamaindex (openinference)", "openai_agents (openinference)", "openai_v2 (openai_v2_no_content)",
    "smolagents (openinference)",
}


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, Verdict]]:
    store = fresh_store(tmp_path_factory)
    with running_collector(store) as collector:
        replay(collector.http_port, RUNS)
    return store, analyze_corpus(store, RUNS)


@pytest.fixture(scope="module")
def scores(analyzed: tuple[Store, dict[str, Verdict]]) -> dict[str, GroupScore]:
    return score(RUNS, analyzed[1])


def _run(name: str) -> CorpusRun:
    return next(r for r in RUNS if r.name == name)


def test_the_corpus_holds_every_framework_and_both_kinds_of_run():
    frameworks = {r.framework for r in RUNS}
    assert {"langgraph", "openai_agents", "crewai", "smolagents", "llamaindex", "autogen", "pydantic_ai",
            "openai_v2"} <= frameworks
    for group in GROUPS:
        runs = [r for r in RUNS if r.group == group]
        assert sum(r.expected is None for r in runs) >= 8 and sum(r.expected is not None for r in runs) >= 8, group


def test_no_healthy_run_gets_a_failure_class(scores):
    assert {group: g.flagged for group, g in scores.items() if g.flagged} == {}


def test_every_recorded_run_is_received_and_analyzed(analyzed, scores, capsys):
    _, verdicts = analyzed
    assert sorted(set(r.name for r in RUNS) - set(verdicts)) == []
    with capsys.disabled():
        print("\n" + format_report(scores, details=False))


def test_a_one_string_argument_tool_is_not_invalid_arguments(analyzed):
    """LangChain under OpenInference records the tool span's input as the bare `A17`; the model sent
    `{"order_id": "A17"}`, which is valid."""
    v = analyzed[1]["langgraph/openinference/string_arg"]
    assert not v.failure_class and "invalid_tool_args" not in v.signal_types


def test_a_failed_sub_agent_is_the_cause_not_its_parents_later_claim(analyzed):
    """The supervisor delegates to billing_agent, whose refund tool raises PermissionError; the supervisor
    then answers "Your refund of $20 is on its way."."""
    for name in ("langgraph/openinference/delegation_failure", "langgraph/openllmetry/delegation_failure"):
        run, v = _run(name), analyzed[1][name]
        assert (v.failure_class, v.root_cause_span_id) == ("delegation_failure", run.expected["root_cause_span_id"]), name


@pytest.mark.parametrize("group", [pytest.param(g, marks=pytest.mark.xfail(
    g in SHORT_OF_TARGETS, reason="short of the corpus targets: tests/benchmarks/corpus_precision.py says where",
    strict=True)) for g in GROUPS])
def test_each_framework_reaches_the_targets(scores, group):
    g = scores[group]
    assert g.flagged == [] and g.class_rate >= CLASS_TARGET and g.root_rate >= ROOT_TARGET, \
        "\n".join([*g.flagged, *g.wrong])
