"""Run building: runs and sub-runs, orphans, duplicates, cycles, missing roots, leaf-only cost."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from agentmortem.analyzer.core.model import RunSpan
from agentmortem.analyzer.core.runs import build_runs, trace_runs
from agentmortem.semconv.model import CanonicalSpan

S = 1_000_000_000


def span(sid: str, parent: str = "", start: int = 0, dur: int = 1, cat: str = "other", trace: str = "t",
         **kw) -> CanonicalSpan:
    kw.setdefault("span_name", f"{cat} {sid}")
    return CanonicalSpan(trace_id=trace, span_id=sid, parent_span_id=parent,
                         span_kind="Internal", service_name="svc", start_ns=start * S, duration_ns=dur * S,
                         status_code="Unset", category=cat, **kw)


def price(s: CanonicalSpan) -> float | None:
    return (s.input_tokens or 0) / 1000 if s.input_tokens is not None else None


def test_agent_with_nested_agent_gives_a_run_and_a_sub_run():
    runs = trace_runs([
        span("a", cat="agent", dur=10, agent_name="planner"),
        span("l1", "a", 1, cat="llm", input_tokens=100),
        span("t1", "a", 2, 5, cat="tool"),
        span("b", "t1", 3, 3, cat="agent", agent_name="researcher"),
        span("l2", "b", 4, cat="llm", input_tokens=50),
        span("l3", "a", 8, cat="llm", input_tokens=200),
    ], price)
    top, sub = runs
    assert (top.run_id, top.parent_run_id, top.sub_run_ids, top.agent_name) == ("a", "", ("b",), "planner")
    assert [(rs.span_id, rs.step, rs.depth) for rs in top.spans] == [
        ("a", 1, 0), ("l1", 2, 1), ("t1", 3, 1), ("l3", 4, 1)]
    assert top.by_id()["t1"].children == ()  # the sub-agent belongs to the sub-run
    assert top.by_id()["a"].children == ("l1", "t1", "l3")
    assert (sub.run_id, sub.parent_run_id, sub.agent_name) == ("b", "a", "researcher")
    assert [(rs.span_id, rs.depth) for rs in sub.spans] == [("b", 0), ("l2", 1)]
    assert [rs.cost_usd for rs in top.spans] == [None, 0.1, None, 0.2]
    assert (top.start_ns, top.end_ns, top.ended) == (0, 10 * S, True)


def test_agents_under_a_non_agent_root_are_top_level_runs():
    runs = trace_runs([span("http", dur=9), span("a1", "http", 1, cat="agent", agent_name="triage"),
                       span("x", "a1", 2), span("a2", "http", 5, cat="agent", agent_name="billing"),
                       span("db", "http", 6)], price)
    assert [(r.run_id, r.parent_run_id, [s.span_id for s in r.spans]) for r in runs] == [
        ("http", "", ["http", "db"]), ("a1", "", ["a1", "x"]), ("a2", "", ["a2"])]


def test_agents_under_a_workflow_root_are_its_sub_runs():
    """An orchestration (a graph, a crew, `invoke_workflow`) is the one run a user asks about."""
    runs = trace_runs([span("wf", dur=9, cat="workflow"), span("a1", "wf", 1, cat="agent", agent_name="triage"),
                       span("l1", "a1", 2, cat="llm"), span("a2", "wf", 5, cat="agent", agent_name="billing"),
                       span("t", "a2", 6, cat="tool")], price)
    assert [(r.run_id, r.parent_run_id, r.sub_run_ids) for r in runs] == [
        ("wf", "", ("a1", "a2")), ("a1", "wf", ()), ("a2", "wf", ())]


def test_a_graph_node_marked_as_an_agent_is_a_step_of_its_agent():
    """LangGraph's `agent` node (an agent span under OpenInference, named as its agent) makes one
    model call: a step of the agent around it, not a sub-agent. A node that runs tools acts as an agent."""
    runs = trace_runs([
        span("g", dur=9, cat="agent", agent_name="order_agent"),
        span("n1", "g", 1, cat="agent", agent_name="agent", span_name="agent"), span("l1", "n1", 2, cat="llm"),
        span("n2", "g", 3, cat="workflow", agent_name="tools"), span("t1", "n2", 4, cat="tool"),
        span("n3", "g", 5, cat="agent", agent_name="agent", span_name="agent"), span("l2", "n3", 6, cat="llm"),
        span("sub", "g", 7, cat="agent", agent_name="billing_agent", span_name="billing_agent"),
        span("t2", "sub", 8, cat="tool"),
    ], price)
    top, sub = runs
    assert (top.run_id, top.sub_run_ids) == ("g", ("sub",))
    assert [s.span_id for s in top.spans] == ["g", "n1", "l1", "n2", "t1", "n3", "l2"]
    assert (sub.run_id, [s.span_id for s in sub.spans]) == ("sub", ["sub", "t2"])


def test_duplicate_deliveries_count_once():
    spans = [span("a", cat="agent", dur=5), span("l", "a", 1, cat="llm", input_tokens=100)]
    runs = trace_runs(spans + spans + [spans[1]], price)
    assert len(runs) == 1 and len(runs[0].spans) == 2
    assert sum(rs.cost_usd or 0 for rs in runs[0].spans) == 0.1


def test_a_run_span_id_is_always_its_span_id():
    [run] = trace_runs([span("a", cat="agent", dur=5), span("l", "a", 1, cat="llm")], price)
    assert [rs.span_id for rs in run.spans] == [rs.span.span_id for rs in run.spans] == ["a", "l"]
    built = RunSpan(span("x"), depth=1, step=2)
    assert built.span_id == "x" and built._replace(step=3).span_id == "x"
    assert built._replace(span=span("y")).span_id == "y"  # a copy with another span follows it
    assert built == RunSpan(span("x"), 1, 2) and built != RunSpan(span("y"), 1, 2)


def test_cost_only_on_leaf_model_calls():
    runs = trace_runs([span("a", cat="agent", dur=5, input_tokens=999),
                       span("outer", "a", 1, 3, cat="llm", input_tokens=300),
                       span("inner", "outer", 1, 2, cat="llm", input_tokens=300)], price)
    assert {rs.span_id: rs.cost_usd for rs in runs[0].spans} == {"a": None, "outer": None, "inner": 0.3}


def test_orphans_attach_to_the_root_with_a_flag():
    [run] = trace_runs([span("r", cat="agent", dur=9), span("x", "r", 1), span("o", "gone", 2),
                        span("oc", "o", 3)], price)
    by = run.by_id()
    assert by["o"].orphan and by["o"].depth == 1 and not by["oc"].orphan and by["oc"].depth == 2
    assert by["r"].children == ("x", "o")


def test_cycles_are_cut_at_the_earliest_span():
    [run] = trace_runs([span("r", dur=9), span("a", "c", 1), span("b", "a", 2), span("c", "b", 3)], price)
    by = run.by_id()
    assert by["a"].orphan and by["r"].children == ("a",)
    assert [(rs.span_id, rs.depth) for rs in run.spans] == [("r", 0), ("a", 1), ("b", 2), ("c", 3)]


def test_self_parent_and_cycle_without_root():
    runs = trace_runs([span("a", "a", 0), span("b", "c", 1), span("c", "b", 2)], price)
    assert sorted(rs.span_id for r in runs for rs in r.spans) == ["a", "b", "c"]


def test_missing_root_with_several_strays_is_a_run_that_never_ended():
    [run] = trace_runs([span("l", "root", 1, cat="llm", agent_name="x"), span("t", "root", 3, cat="tool"),
                        span("z", "elsewhere", 4)], price)
    assert (run.run_id, run.root_span_id, run.ended, run.end_ns, run.start_ns) == ("root", "root", False, 0, S)
    assert run.agent_name == "x"
    assert {rs.span_id: (rs.depth, rs.orphan) for rs in run.spans} == {
        "l": (1, False), "t": (1, False), "z": (1, True)}


def test_single_span_under_a_remote_parent_is_the_root():
    [run] = trace_runs([span("a", "remote", 0, 5, cat="agent"), span("l", "a", 1, cat="llm")], price)
    assert (run.run_id, run.ended, run.by_id()["a"].orphan) == ("a", True, False)


def test_clock_skew_changes_steps_not_the_tree():
    [run] = trace_runs([span("r", start=10, dur=5), span("early", "r", 2)], price)
    assert [(rs.span_id, rs.step, rs.depth) for rs in run.spans] == [("early", 1, 1), ("r", 2, 0)]


def test_traces_are_separated():
    runs = build_runs([span("r", trace="t2"), span("r", trace="t1"), span("x", "r", 1, trace="t1")], price)
    assert [(r.trace_id, len(r.spans)) for r in runs] == [("t1", 2), ("t2", 1)]


# -- properties ------------------------------------------------------------------------------------

ids = st.sampled_from([f"s{i}" for i in range(12)])
raw_span = st.tuples(ids, st.one_of(st.just(""), ids, st.sampled_from(["m1", "m2"])), st.integers(0, 20),
                     st.integers(0, 5), st.sampled_from(["agent", "llm", "tool", "other"]), st.booleans())


def _spans(rows) -> list[CanonicalSpan]:
    return [span(sid, parent, start, dur, cat, input_tokens=10 if tok else None)
            for sid, parent, start, dur, cat, tok in rows]


@settings(max_examples=300, deadline=None)
@given(st.lists(raw_span, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_every_span_lands_in_exactly_one_run(rows, rnd: random.Random):
    spans = _spans(rows)
    runs = trace_runs(spans, price)
    placed = [rs.span_id for r in runs for rs in r.spans]
    assert sorted(placed) == sorted({s.span_id for s in spans})
    run_ids = {r.run_id for r in runs}
    assert len(run_ids) == len(runs)
    for r in runs:
        assert [rs.step for rs in r.spans] == list(range(1, len(r.spans) + 1))
        by = r.by_id()
        assert r.parent_run_id in run_ids | {""} and r.parent_run_id != r.run_id
        assert set(r.sub_run_ids) == {x.run_id for x in runs if x.parent_run_id == r.run_id}
        for rs in r.spans:
            assert (rs.depth == 0) == (rs.span_id == r.root_span_id)
            for c in rs.children:
                assert by[c].depth == rs.depth + 1
            if rs.cost_usd is not None:
                assert rs.span.category == "llm"
    # order-independent and deterministic
    shuffled = list(spans)
    rnd.shuffle(shuffled)
    assert trace_runs(shuffled, price) == runs


@settings(max_examples=100, deadline=None)
@given(st.lists(raw_span, min_size=1, max_size=20))
def test_duplicates_never_double_count(rows):
    spans = _spans(rows)
    once = trace_runs(spans, price)
    twice = trace_runs(spans + [s._replace() for s in spans], price)
    assert twice == once
