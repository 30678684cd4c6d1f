"""Deep and wide trees through the API, the run page and `agentmortem explain`.

Chains 300, 1,000 and 20,000 spans deep (a failure at the bottom bubbling up every level), a
chain of 1,000 nested sub-agents and a run 50,000 tool calls wide: emitted with the OTel SDK,
stored through the collector's conversion, analyzed by the real pipeline, read back over HTTP.
Every response must come back (no recursion limit, no 500), nest no deeper than JSON parsers
take, and say what it left out.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.cli.explain import MAX_TREE_DEPTH, explain_command
from agentmortem.platform.store import Store
from tests.support.api_client import make_client
from tests.support.demo_traces import START_NS
from tests.support.engine import fresh_store
from tests.support.trace_shapes import chain, store_all, wide

DEPTHS = (300, 1000, 20_000)
AGENT_DEPTH = 1000
WIDTH, FAILING = 50_000, 10
MAX_SPANS = 25_000  # above the deepest chain, below the wide run
CAP = ApiSettings().api_tree_max_depth
ROWS = ApiSettings().api_page_max_rows


@dataclass
class Trees:
    store: Store
    chains: dict[int, tuple[str, list[str]]] = field(default_factory=dict)  # depth -> trace id, span ids top down
    agents: tuple[str, list[str]] = ("", [])
    wide: tuple[str, list[str]] = ("", [])


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trees]:
    t = Trees(fresh_store(tmp_path_factory))
    hour = 3600 * 10**9
    for i, depth in enumerate(DEPTHS):
        spans, ids = chain(depth, start_ns=START_NS + i * hour)
        t.chains[depth] = (store_all(t.store, spans), ids)
    spans, ids = chain(AGENT_DEPTH, agents=True, start_ns=START_NS + 10 * hour)
    t.agents = (store_all(t.store, spans), ids)
    spans, ids = wide(WIDTH, {FAILING}, START_NS + 20 * hour, tool=lambda i: "publish" if i == FAILING else "fetch")
    t.wide = (store_all(t.store, spans), ids)
    traces = [TraceKey("", tid) for tid in [tid for tid, _ in t.chains.values()] + [t.agents[0], t.wide[0]]]
    assert set(analyze_traces(t.store, traces, RuleSettings()).written) == set(traces)
    yield t
    t.store.command(f"DROP DATABASE IF EXISTS {t.store.database}")
    t.store.close()


@pytest.fixture(scope="module")
def api(trees: Trees) -> TestClient:
    return make_client(trees.store, api=ApiSettings(rate_limit_per_hour=0, api_max_spans=MAX_SPANS))


def get(api: TestClient, path: str, **params: object) -> dict | list:
    r = api.get(path, params=params)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return orjson.loads(r.content)  # orjson refuses JSON nested past 254 levels


def spine(roots: list[dict]) -> list[dict]:
    """The nodes of a chain-shaped tree from the top down (each node's first child)."""
    out, level = [], roots
    while level:
        out.append(level[0])
        level = level[0]["children"]
    return out


def cap_note(page: str) -> str:
    m = re.search(r'id="waterfall-cap">(.*?)</p>', page, re.S)
    assert m, "the page says nothing about what it left out"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).split())


def drawn(page: str) -> list[str]:
    return re.findall(r'<g class="span [^"]*" id="span-([0-9a-f]+)"', page)


@pytest.mark.parametrize("depth", DEPTHS)
def test_tree_nests_the_top_levels_and_counts_the_rest(api: TestClient, trees: Trees, depth: int) -> None:
    trace_id, ids = trees.chains[depth]
    tree = get(api, f"/v1/runs/{trace_id}/tree")
    nodes = spine(tree["roots"])
    assert [n["span_id"] for n in nodes] == ids[:CAP] and [n["depth"] for n in nodes] == list(range(CAP))
    assert nodes[-1]["children"] == [] and nodes[-1]["hidden_descendants"] == depth - CAP
    assert all(n["hidden_descendants"] == 0 for n in nodes[:-1])
    assert (tree["span_count"], tree["shown_span_count"], tree["hidden_span_count"], tree["hidden_levels"]) == (
        depth, CAP, depth - CAP, depth - CAP)
    assert tree["max_depth"] == CAP and tree["truncated"] and not tree["span_limit_reached"]
    # the critical path and the root cause still reach the bottom of the chain
    assert tree["critical_path"] == ids and tree["root_cause_span_id"] == ids[-1]
    assert all(n["on_critical_path"] for n in nodes) and not any(n["is_root_cause"] for n in nodes)


@pytest.mark.parametrize("depth", DEPTHS)
def test_tree_from_a_span_down(api: TestClient, trees: Trees, depth: int) -> None:
    trace_id, ids = trees.chains[depth]
    below = get(api, f"/v1/runs/{trace_id}/tree", span_id=ids[CAP], max_depth=10)
    nodes = spine(below["roots"])
    assert [n["span_id"] for n in nodes] == ids[CAP:CAP + 10] and nodes[0]["depth"] == CAP
    assert nodes[-1]["hidden_descendants"] == depth - CAP - 10 == below["hidden_span_count"]
    assert below["span_count"] == depth - CAP and below["max_depth"] == 10 and below["critical_path"] == ids
    bottom = get(api, f"/v1/runs/{trace_id}/tree", span_id=ids[-1])
    assert [n["span_id"] for n in bottom["roots"]] == [ids[-1]] and not bottom["truncated"]
    assert bottom["roots"][0]["is_root_cause"] and bottom["roots"][0]["depth"] == depth - 1
    assert bottom["roots"][0]["status_code"] == "Error" and bottom["roots"][0]["signal_types"]
    assert get(api, f"/v1/runs/{trace_id}/tree", max_depth=10_000)["max_depth"] == CAP  # the server's cap holds
    missing = api.get(f"/v1/runs/{trace_id}/tree", params={"span_id": "00000000000000ff"})
    assert missing.status_code == 404 and "not in run" in missing.json()["detail"]


@pytest.mark.parametrize("depth", DEPTHS)
def test_run_events_and_explanation_of_a_deep_chain(api: TestClient, trees: Trees, depth: int) -> None:
    trace_id, ids = trees.chains[depth]
    run = get(api, f"/v1/runs/{trace_id}")
    assert (run["step_count"], run["error_span_count"], run["failure_class"]) == (depth, depth, "tool_error")
    assert run["root_cause_span_id"] == ids[-1]  # the origin of the error, not one of the levels it bubbled through
    events = get(api, f"/v1/runs/{trace_id}/events")
    assert [e["span_id"] for e in events] == ids and [e["depth"] for e in events] == list(range(depth))
    assert all(e["parent_span_id"] == p for e, p in zip(events[1:], ids, strict=False))
    x = get(api, f"/v1/runs/{trace_id}/explanation")
    where = x["where"]
    assert (where["step"], where["of"], where["span_id"]) == (depth, depth, ids[-1])
    # the path from the root keeps its two ends and says how much of the middle it left out
    assert [p["span_id"] for p in where["path"]] == ids[:3] + ids[-5:]
    assert where["path_omitted"] == {"at": 3, "count": depth - 8}
    assert f"› … {depth - 8:,} more › `execute_tool resolve`" in x["markdown"]
    assert x["headline"].startswith(f"Agent `deep` failed at step {depth} of {depth} (`execute_tool resolve`)")


@pytest.mark.parametrize("depth", DEPTHS)
def test_run_page_draws_the_top_levels_and_the_root_cause(api: TestClient, trees: Trees, depth: int) -> None:
    trace_id, ids = trees.chains[depth]
    r = api.get(f"/runs/{trace_id}")
    assert r.status_code == 200, r.text[:300]
    assert drawn(r.text) == ids[:CAP] + [ids[-1]]
    assert re.search(rf'<g class="[^"]*root-cause[^"]*" id="span-{ids[-1]}"', r.text)
    assert all("critical" in g for g in re.findall(r'<g class="(span [^"]*)" id="span-', r.text))
    # the last drawn level stands for the levels under it
    last = re.search(rf'<g [^>]*id="span-{ids[CAP - 1]}".*?</g>', r.text).group(0)
    assert '<text class="more" ' in last and f">+{depth - CAP - 1:,} below</text>" in last
    note = cap_note(r.text)
    assert note.startswith(f"{CAP + 1} of {depth:,} spans drawn, {depth - CAP - 1:,} not: "
                           f"{depth - CAP - 1:,} in the {depth - CAP:,} levels below level {CAP} (draw deeper).")
    assert "the root cause is always drawn" in note and "may have more" not in note
    assert f"… {depth - 8:,} more ›" in r.text  # the Where path, shortened
    # evidence lists (a retry storm's thousands of span ids) are cut short on the page, in full in the API
    signals = get(api, "/v1/signals", run_id=ids[0])["data"]
    shown = [orjson.loads(html.unescape(e)) for e in re.findall(r"<pre>(.*?)</pre>", r.text, re.S)]
    brief = [{k: v[:20] + [f"… {len(v) - 20:,} more"] if isinstance(v, list) and len(v) > 20 else v
              for k, v in s["evidence"].items()} for s in signals]
    assert shown == brief and any(len(v) > 20 for s in signals for v in s["evidence"].values() if isinstance(v, list))
    deeper = re.search(r'id="draw-deeper" href="\?([^"]+)"', r.text).group(1)
    assert html.unescape(deeper) == f"max_depth={depth}"
    if depth <= ROWS:  # every level fits in the page's rows
        full = api.get(f"/runs/{trace_id}?max_depth={depth}")
        assert drawn(full.text) == ids and 'id="waterfall-cap"' not in full.text


def test_nested_sub_agents(api: TestClient, trees: Trees) -> None:
    trace_id, ids = trees.agents
    runs = get(api, "/v1/runs", trace_id=trace_id, limit=1)
    assert runs["total"] == AGENT_DEPTH
    middle = get(api, f"/v1/runs/{ids[500]}")
    assert middle["parent_run_id"] == ids[499] and middle["sub_run_count"] == 1
    tree = get(api, f"/v1/runs/{trace_id}/tree")  # the top run's tree holds every sub-run
    nodes = spine(tree["roots"])
    assert [n["run_id"] for n in nodes] == ids[:CAP] and nodes[-1]["hidden_descendants"] == AGENT_DEPTH - CAP
    assert tree["span_count"] == AGENT_DEPTH and tree["critical_path"] == ids
    sub = get(api, f"/v1/runs/{ids[500]}/tree")
    assert sub["span_count"] == AGENT_DEPTH - 500 and spine(sub["roots"])[0]["span_id"] == ids[500]
    assert api.get(f"/runs/{trace_id}").status_code == 200
    x = get(api, f"/v1/runs/{ids[-1]}/explanation")  # the bottom agent holds the error itself
    assert x["root_cause_span_id"] == ids[-1] and x["failure_class"] == "error"


def test_wide_run(api: TestClient, trees: Trees) -> None:
    trace_id, ids = trees.wide
    failing = ids[FAILING + 1]
    run = get(api, f"/v1/runs/{trace_id}")
    assert (run["step_count"], run["tool_call_count"], run["root_cause_span_id"]) == (WIDTH + 1, WIDTH, failing)
    # the API loads the trace's earliest spans, the run's root first
    tree = get(api, f"/v1/runs/{trace_id}/tree")
    assert [n["span_id"] for n in tree["roots"]] == [ids[0]]
    assert [c["span_id"] for c in tree["roots"][0]["children"]] == ids[1:MAX_SPANS]
    assert tree["span_count"] == tree["shown_span_count"] == MAX_SPANS and tree["hidden_span_count"] == 0
    assert tree["span_limit_reached"] and tree["truncated"]
    assert tree["roots"][0]["children"][FAILING]["is_root_cause"]
    events = get(api, f"/v1/runs/{trace_id}/events")
    assert [e["span_id"] for e in events] == ids[:MAX_SPANS]
    x = get(api, f"/v1/runs/{trace_id}/explanation")
    assert x["where"]["step"] == FAILING + 2 and x["where"]["of"] == WIDTH + 1 and "path_omitted" not in x["where"]
    page = api.get(f"/runs/{trace_id}")
    assert page.status_code == 200 and drawn(page.text) == ids[:ROWS]
    note = cap_note(page.text)
    assert note.startswith(f"{ROWS:,} of {MAX_SPANS:,} spans drawn, {MAX_SPANS - ROWS:,} not: "
                           f"{MAX_SPANS - ROWS:,} past the first {ROWS:,} rows (draw more).")
    assert f"at most a trace’s first {MAX_SPANS:,} spans" in note and "may have more" in note


def test_explain_in_the_terminal(trees: Trees) -> None:
    depth = DEPTHS[-1]
    trace_id, ids = trees.chains[depth]
    out = io.StringIO()
    assert explain_command(trees.store, trace_id, RuleSettings(), Console(file=out, width=400, color_system=None)) == 0
    text = out.getvalue()
    assert f"… {depth - 8:,} more ›" in text
    assert all(span_id in text for span_id in ids[:MAX_TREE_DEPTH]) and ids[MAX_TREE_DEPTH] not in text
    assert f"… {depth - MAX_TREE_DEPTH} spans below" in text
