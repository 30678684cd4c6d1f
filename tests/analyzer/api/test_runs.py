"""`/v1` read API over runs the real pipeline produced: values, filters, pages, cursor, sort, exports, details."""

from __future__ import annotations

import csv
import io
import statistics

import orjson
import pytest

from agentmortem.demo.scenarios import SCENARIOS
from tests.support.api_corpus import Corpus


def all_runs(client) -> list[dict]:
    body = client.get("/v1/runs", params={"limit": 1000}).json()
    assert body["total"] == len(body["data"])
    return body["data"]


def top_run(client, corpus: Corpus, tenant: str, scenario: str) -> dict:
    stored = corpus.of(tenant, scenario)
    return client.get(f"/v1/runs/{stored.trace_id}").json()


def test_run_values_match_the_analysis(client, corpus):
    """The tool_error scenario: class, root cause span, AgentMetrics fields, headline."""
    stored = corpus.of("acme", "tool_error")
    scenario = next(s for s in SCENARIOS if s.name == "tool_error")
    run = client.get(f"/v1/runs/{stored.trace_id}").json()
    assert run["trace_id"] == stored.trace_id and run["parent_run_id"] == ""
    assert run["failure_class"] == scenario.failure_class == "tool_error"
    assert run["root_cause_span_id"] == stored.marks["root_cause"]
    assert run["outcome"] == "failed" and run["status"] == "failed"
    assert run["agent_id"] == "travel_assistant" and run["model"] == "gpt-4o-mini"
    assert run["error_type"] == "ConnectionError" and "connection refused" in run["error_message"]
    assert run["tokens_input"] > 0 and run["tokens_output"] > 0 and run["estimated_cost_usd"] > 0
    assert run["started_at"].endswith("Z") and run["finished_at"] > run["started_at"]
    assert run["headline"].startswith("Agent `travel_assistant` failed at step 3 of 4")
    assert client.get(f"/v1/runs/{run['run_id']}").json() == run  # by run id, same answer


def test_every_scenario_class_is_served(client, corpus):
    """Each top-level acme run carries the class its scenario expects (the analyzer's, as stored)."""
    for s in SCENARIOS:
        run = top_run(client, corpus, "acme", s.name)
        if s.name == "abandoned":
            assert run["failure_class"] == "abandoned" and run["status"] == "failed"
        elif not s.settings:  # scenarios needing special rule settings are judged with defaults here
            assert run["failure_class"] == s.failure_class, s.name


@pytest.mark.parametrize("name, value, check", [
    ("agent_id", "researcher", lambda r: r["agent_id"] == "researcher"),
    ("status", "failed", lambda r: r["status"] == "failed"),
    ("status", "completed", lambda r: r["status"] == "completed"),
    ("outcome", "degraded", lambda r: r["outcome"] == "degraded"),
    ("failure_class", "loop", lambda r: r["failure_class"] == "loop"),
    ("model", "gpt-4o-mini", lambda r: "gpt-4o-mini" in r["models"]),
    ("service", "demo-agents", lambda r: r["service"] == "demo-agents"),
    ("min_cost", 0.01, lambda r: (r["estimated_cost_usd"] or 0) >= 0.01),
    ("search", "search_flights", lambda r: "search_flights" in r["headline"]),
    ("top_level", "true", lambda r: r["parent_run_id"] == ""),
])
def test_filters_select_exactly_the_matching_runs(client, name, value, check):
    everything = all_runs(client)
    expected = {r["run_id"] for r in everything if check(r)}
    got = client.get("/v1/runs", params={name: value, "limit": 1000}).json()
    assert expected and {r["run_id"] for r in got["data"]} == expected and got["total"] == len(expected)


def test_time_trace_and_id_search_filters(client, corpus):
    everything = sorted(all_runs(client), key=lambda r: r["started_at"])
    middle = everything[len(everything) // 2]["started_at"]
    since = client.get("/v1/runs", params={"since": middle, "limit": 1000}).json()["data"]
    until = client.get("/v1/runs", params={"until": middle, "limit": 1000}).json()["data"]
    assert {r["run_id"] for r in since} == {r["run_id"] for r in everything if r["started_at"] >= middle}
    assert len(since) + len(until) == len(everything)
    trace = corpus.of("acme", "delegation_failure").trace_id
    in_trace = client.get("/v1/runs", params={"trace_id": trace}).json()["data"]
    assert len(in_trace) == 2 and {r["trace_id"] for r in in_trace} == {trace}  # the run and its sub-run
    by_prefix = client.get("/v1/runs", params={"search": trace[:12], "limit": 1000}).json()["data"]
    assert {r["trace_id"] for r in by_prefix} == {trace}


def test_offset_pages_are_disjoint_and_newest_first(client):
    everything = all_runs(client)
    starts = [r["started_at"] for r in everything]
    assert starts == sorted(starts, reverse=True)
    seen = []
    for offset in range(0, len(everything), 7):
        page = client.get("/v1/runs", params={"limit": 7, "offset": offset}).json()
        assert page["limit"] == 7 and page["offset"] == offset and page["total"] == len(everything)
        assert page["has_more"] == (offset + 7 < len(everything))
        seen += [r["run_id"] for r in page["data"]]
    assert seen == [r["run_id"] for r in everything]


@pytest.mark.parametrize("sort", ["-started_at", "started_at", "-duration_ms", "estimated_cost_usd", "-tokens_total"])
def test_cursor_walks_every_run_once_in_sort_order(client, sort):
    everything = all_runs(client)
    got, cursor = [], None
    while True:
        params = {"limit": 5, "sort": sort, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/runs", params=params).json()
        got += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(r["run_id"] for r in got) == sorted(r["run_id"] for r in everything)
    field = sort.lstrip("-")
    values = [r[field] or 0 for r in got]
    assert values == sorted(values, reverse=sort.startswith("-"))
    other = client.get("/v1/runs", params={"cursor": page_cursor(client, sort), "sort": "-duration_ms"
                                           if sort != "-duration_ms" else "started_at"})
    assert other.status_code == 400


def page_cursor(client, sort: str) -> str:
    return client.get("/v1/runs", params={"limit": 1, "sort": sort}).json()["next_cursor"]


def test_csv_and_ndjson_exports_hold_the_same_runs(client):
    everything = {r["run_id"]: r for r in all_runs(client)}
    r = client.get("/v1/runs", params={"format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["run_id"] for row in rows} == set(everything)
    assert list(rows[0])[:5] == ["run_id", "agent_id", "session_id", "status", "started_at"]
    one = rows[0]
    assert float(one["duration_ms"]) == everything[one["run_id"]]["duration_ms"]
    nd = client.get("/v1/runs", params={"format": "ndjson", "outcome": "failed"})
    lines = [orjson.loads(line) for line in nd.text.splitlines()]
    assert lines and all(x["outcome"] == "failed" for x in lines)
    assert {x["run_id"] for x in lines} == {k for k, v in everything.items() if v["outcome"] == "failed"}


def test_explanation_json_and_markdown(client, corpus):
    stored = corpus.of("acme", "loop")
    run = client.get(f"/v1/runs/{stored.trace_id}").json()
    x = client.get(f"/v1/runs/{stored.trace_id}/explanation").json()
    assert x["failure_class"] == run["failure_class"] == "loop"
    assert x["root_cause_span_id"] == run["root_cause_span_id"] == stored.marks["root_cause"]
    assert x["headline"] == run["headline"] and x["where"]["span_id"] == stored.marks["root_cause"]
    assert x["cost_impact"]["wasted_tokens"] == run["wasted_tokens"] > 0
    assert any(s["type"] == "loop" for s in x["signals"])
    md = client.get(f"/v1/runs/{stored.trace_id}/explanation", params={"format": "markdown"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith(f"**{x['headline']}**") and "- **Where:**" in md.text


def test_tree_and_events_place_every_span(client, corpus):
    stored = corpus.of("acme", "delegation_failure")
    run = client.get(f"/v1/runs/{stored.trace_id}").json()
    tree = client.get(f"/v1/runs/{run['run_id']}/tree").json()
    events = client.get(f"/v1/runs/{run['run_id']}/events").json()
    flat, stack = [], list(tree["roots"])
    while stack:
        node = stack.pop()
        flat.append(node)
        stack.extend(node["children"])
    assert len(flat) == tree["span_count"] == len(events)
    assert {e["span_id"] for e in events} == {n["span_id"] for n in flat}
    sub_runs = {e["run_id"] for e in events} - {run["run_id"]}
    assert len(sub_runs) == run["sub_run_count"] == 1  # the sub-agent's spans are in the tree
    assert [n["span_id"] for n in flat if n["is_root_cause"]] == [run["root_cause_span_id"]]
    assert tree["critical_path"][0] == run["run_id"]
    on_path = {n["span_id"] for n in flat if n["on_critical_path"]}
    assert on_path == set(tree["critical_path"])
    tools = [e for e in events if e["category"] == "tool"]
    assert tools and all(e["type"] == "tool_call" and e["tool_name"] and e["tool_duration_ms"] >= 0 for e in tools)
    assert events[0]["canonical"]["trace_id"] == stored.trace_id


def test_stats_match_the_runs(client):
    everything = all_runs(client)
    s = client.get("/v1/stats").json()
    assert s["total_runs"] == len(everything)
    for status in ("completed", "failed", "timeout"):
        assert s[status] == sum(1 for r in everything if r["status"] == status)
    assert s["degraded"] == sum(1 for r in everything if r["outcome"] == "degraded")
    assert s["total_tokens_input"] == sum(r["tokens_input"] for r in everything)
    assert s["total_cost_usd"] == pytest.approx(sum(r["estimated_cost_usd"] or 0 for r in everything))
    durations = sorted(r["duration_ms"] for r in everything)
    assert s["p50_duration_ms"] == pytest.approx(statistics.median(durations))
    assert durations[0] <= s["p50_duration_ms"] <= s["p95_duration_ms"] <= s["p99_duration_ms"] <= durations[-1]
    assert s["failure_rate"] == pytest.approx((s["failed"] + s["timeout"]) / s["total_runs"])
    classes = {}
    for r in everything:
        if r["failure_class"]:
            classes[r["failure_class"]] = classes.get(r["failure_class"], 0) + 1
    assert s["by_failure_class"] == classes
    assert sum(s["by_status"].values()) == s["total_runs"]
    researcher = client.get("/v1/stats", params={"agent_id": "researcher"}).json()
    assert researcher["total_runs"] == sum(1 for r in everything if r["agent_id"] == "researcher") == 1
    future = client.get("/v1/stats", params={"since": "2100-01-01T00:00:00Z"}).json()
    assert future["total_runs"] == 0 and future["p50_duration_ms"] is None and future["failure_rate"] is None


def test_agents_and_tools(client):
    everything = all_runs(client)
    agents = {a["agent_id"]: a for a in client.get("/v1/agents").json()}
    travel = [r for r in everything if r["agent_id"] == "travel_assistant"]
    a = agents["travel_assistant"]
    assert a["run_count"] == len(travel) and a["failure_count"] == sum(r["outcome"] == "failed" for r in travel)
    assert a["success_count"] + a["failure_count"] == a["run_count"]
    assert a["last_run_at"] == max(r["started_at"] for r in travel)
    tools = {t["tool_name"]: t for t in client.get("/v1/tools").json()}
    flights = tools["search_flights"]
    assert flights["failure_count"] >= 1 and flights["success_count"] + flights["failure_count"] == flights["call_count"]
    assert flights["error_rate"] == pytest.approx(flights["failure_count"] / flights["call_count"])
    assert client.get("/v1/tools", params={"agent_id": "nobody"}).json() == []


def test_signals_filters(client, corpus):
    roots = client.get("/v1/signals", params={"root_cause": "true", "limit": 1000}).json()
    runs_with_rc = [r for r in all_runs(client) if r["root_cause_span_id"]]
    assert roots["total"] == len(runs_with_rc)
    assert {(s["run_id"], s["span_id"]) for s in roots["data"]} == {(r["run_id"], r["root_cause_span_id"])
                                                                     for r in runs_with_rc}
    loops = client.get("/v1/signals", params={"type": "loop", "limit": 1000}).json()["data"]
    assert loops and all(s["type"] == "loop" and s["evidence"] for s in loops)
    page = client.get("/v1/signals", params={"limit": 3, "offset": 3}).json()
    assert len(page["data"]) == 3 and page["has_more"] == (6 < page["total"])
