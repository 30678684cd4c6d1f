"""The Grafana dashboards in `dashboards/`: their JSON, and every panel's SQL run on the real engine.

Grafana cannot run here, so the tests check what it would be given. Structure: unique
panel ids, the provisioned ClickHouse datasource on every query, defined and safely
formatted variables, FINAL on the versioned tables, only the plugin macros we model.
Data: each query is expanded the way Grafana + grafana-clickhouse-datasource expand it
(`tests/support/grafana.py`) and run through chDB against runs that the real
pipeline analyzed (`tests/support/dashboard_corpus.py`); the results must equal figures
computed in Python from the raw, versioned rows (`tests/support/dashboard_expectations.py`).
"""

from __future__ import annotations

import html
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import yaml
from fastapi.testclient import TestClient

from agentmortem.analyzer.api.app import build_app
from agentmortem.analyzer.api.service import make_context
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.tables import AGENT_RUNS, AGENT_SIGNALS
from agentmortem.collector.migrations import migrate_collector
from agentmortem.demo.scenarios import AGENT
from agentmortem.platform.settings import AuthSettings
from agentmortem.platform.store import Store
from tests.support import grafana
from tests.support.dashboard_corpus import QUOTED_AGENT, Planned, build
from tests.support.dashboard_expectations import CHECKS, WINDOW, latest, naive_utc, selected
from tests.support.engine import engine_url
from tests.support.grafana import ALL, QueryWindow

DASHBOARDS = grafana.load_dashboards()
OVERVIEW = DASHBOARDS["agentmortem-overview.json"]
PROVISIONING = grafana.DASHBOARDS / "provisioning"
DATASOURCE = yaml.safe_load((PROVISIONING / "datasources" / "clickhouse.yaml").read_text())["datasources"][0]
PUBLIC_URL = "http://testserver"
SELECTIONS = {
    "all": {"tenant": ALL, "environment": [ALL], "agent": [ALL]},
    "acme-production-two-agents": {"tenant": "acme", "environment": ["production"], "agent": [AGENT, QUOTED_AGENT]},
    "no-tenant": {"tenant": "", "environment": [ALL], "agent": [ALL]},
    "one-sub-agent": {"tenant": ALL, "environment": [ALL], "agent": ["researcher"]},
}


def all_targets() -> list[tuple[str, dict, dict]]:
    return [(name, p, t) for name, d in DASHBOARDS.items() for p in grafana.panels(d) for t in p.get("targets", [])]


# -- structure ------------------------------------------------------------------------------


def test_the_overview_dashboard_is_there():
    assert OVERVIEW["uid"] == "agentmortem-overview" and OVERVIEW["schemaVersion"] >= 39
    assert len(grafana.panels(OVERVIEW)) >= 12


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_have_unique_ids_and_do_not_overlap(name):
    ps = grafana.panels(DASHBOARDS[name])
    ids = [p["id"] for p in ps]
    assert len(ids) == len(set(ids)), ids
    cells: dict[tuple[int, int], str] = {}
    for p in ps:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


@pytest.mark.parametrize(("name", "panel", "target"), all_targets(),
                         ids=lambda v: v.get("title", v.get("refId")) if isinstance(v, dict) else v)
def test_every_target_is_plugin_sql_on_the_provisioned_datasource(name, panel, target):
    expected = {"type": DATASOURCE["type"], "uid": DATASOURCE["uid"]}
    assert panel["datasource"] == expected and target["datasource"] == expected
    assert target["editorType"] == "sql" and target["rawSql"].strip()
    # sqlds formats: 0 time series, 1 table (the plugin's mapGrafanaFormatToQueryType).
    assert (target["format"], target["queryType"]) in {(0, "timeseries"), (1, "table")}
    assert tuple(int(n) for n in target["pluginVersion"].split(".")) >= (4, 0, 0)  # no v3 migration
    assert (panel["type"] == "timeseries") == (target["format"] == 0)


def sql_texts(dashboard: dict) -> list[str]:
    texts = [t["rawSql"] for p in grafana.panels(dashboard) for t in p.get("targets", [])]
    return texts + [v["query"] for v in grafana.variables(dashboard).values() if v["type"] == "query"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_sql_is_safe_and_portable(name):
    dashboard = DASHBOARDS[name]
    defs = grafana.variables(dashboard)
    for sql in sql_texts(dashboard):
        for ref in grafana.references(sql):
            assert ref.name in defs, f"{ref.text} is not a dashboard variable"
            # Values reach SQL only as single-quoted, escaped literals (or the custom All value).
            assert ref.text == f"${{{ref.name}:singlequote}}", ref.text
        used = grafana.macros(sql)
        assert set(used) <= grafana.MODELLED_MACROS, used
        # Older sqlds matches macros by prefix: no plugin macro may be a prefix of one we use.
        assert not [(m, o) for m in used for o in grafana.PLUGIN_MACROS if o != m and m.startswith(o)]
        # Versioned tables are read with FINAL; tables are never database-qualified.
        for table in re.findall(r"\b(agent_\w+)\b(?!\s+FINAL)", sql):
            pytest.fail(f"{table} read without FINAL in:\n{sql}")
        assert not re.search(r"\b\w+\.(agent_|otel_)", sql), sql


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_variables_are_defined_and_all_is_explicit(name):
    dashboard = DASHBOARDS[name]
    defs = grafana.variables(dashboard)
    for var in defs.values():
        if var["type"] == "query":
            assert var["datasource"]["uid"] == DATASOURCE["uid"]
            assert var["includeAll"] and var["allValue"] == "'__all__'", var["name"]
    links = list(dashboard.get("links", []))
    for p in grafana.panels(dashboard):
        for override in p["fieldConfig"]["overrides"]:
            for prop in override["properties"]:
                links += prop["value"] if prop["id"] == "links" else []
    for link in links:
        for ref in grafana.references(link["url"]):
            assert ref.name in defs or ref.name == "__data", ref.text
    assert set(defs) >= {"tenant", "agent", "environment", "public_url"}
    assert defs["agent"]["multi"] and defs["public_url"]["query"] == "http://localhost:8000"


def test_provisioning_points_at_this_folder():
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "agentmortem.yaml").read_text())["providers"][0]
    compose = (grafana.DASHBOARDS.parent / "docker-compose.yml").read_text()
    assert f"./dashboards:{provider['options']['path']}" in compose
    assert DATASOURCE["uid"] == "agentmortem-clickhouse" and DATASOURCE["type"] == "grafana-clickhouse-datasource"


def test_the_expander_reproduces_the_documented_expansions():
    """The plugin's README examples and Grafana's singlequote / custom-All rules."""
    defs = {"agent": {"type": "query", "multi": True, "includeAll": True, "allValue": "'__all__'"},
            "url": {"type": "textbox"}}
    window = QueryWindow(datetime(2015, 11, 12, 11, 45, 26, tzinfo=UTC), datetime(2015, 11, 12, 11, 45, 46, tzinfo=UTC),
                         interval_s=20)
    assert grafana.render("$__timeInterval(columnName)", defs, {}, window) == (
        "toStartOfInterval(toDateTime(columnName), INTERVAL 20 second)")
    assert grafana.render("$__fromTime $__toTime $__interval_s", defs, {}, window) == (
        "toDateTime(1447328726) toDateTime(1447328746) 20")
    assert grafana.render("$__timeFilter(t)", defs, {}, window) == (
        "t >= toDateTime(1447328726) AND t <= toDateTime(1447328746)")
    assert grafana.interpolate_variables("${agent:singlequote}", defs, {"agent": ["a", "o'b"]}) == "'a','o\\'b'"
    assert grafana.interpolate_variables("(${agent:singlequote})", defs, {"agent": [ALL]}) == "('__all__')"
    assert grafana.interpolate_variables("${url}/runs/${__data.fields.RunId}", defs, {"url": "http://x"},
                                         {"RunId": "ab12"}) == "http://x/runs/ab12"
    for unsupported in ("${agent}", "$agent", "${agent:csv}", "$__timeFilter_ms(t)", "${nope:singlequote}"):
        with pytest.raises((KeyError, NotImplementedError)):
            grafana.render(unsupported, defs, {"agent": ["a"]}, window)


# -- data -------------------------------------------------------------------------------------


@dataclass
class Corpus:
    store: Store
    planned: list[Planned]
    runs: list[dict]  # latest version of every run, deduplicated here (not with FINAL)
    signals: list[dict]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    store = Store(engine_url(tmp_path_factory), database="t_" + uuid.uuid4().hex[:12])
    migrate_collector(store)
    migrate_analyzer(store)
    planned = build(store)
    runs, signals = (latest(store.query_dicts(f"SELECT {', '.join(t.names)} FROM {t.name}"), t)
                     for t in (AGENT_RUNS, AGENT_SIGNALS))  # every version of every row: no FINAL
    yield Corpus(store, planned, runs, signals)
    store.command(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


def run_panel(store: Store, dashboard: dict, panel: dict, selection: dict, window: QueryWindow = WINDOW) -> list[dict]:
    sql = grafana.render(panel["targets"][0]["rawSql"], grafana.variables(dashboard), selection, window)
    assert "$" not in sql, sql
    return store.query_dicts(sql)


def overview_panel(title: str) -> dict:
    [panel] = [p for p in grafana.panels(OVERVIEW) if p["title"] == title]
    return panel


def test_every_panel_has_a_value_check():
    assert sorted(p["title"] for p in grafana.panels(OVERVIEW) if p.get("targets")) == sorted(CHECKS)


@pytest.mark.parametrize("selection", sorted(SELECTIONS))
@pytest.mark.parametrize("title", sorted(CHECKS))
def test_panel_values(corpus, title, selection):
    sel = SELECTIONS[selection]
    runs = selected(corpus.runs, sel)
    assert runs, "every selection must hold runs, or the check proves little"
    rows = run_panel(corpus.store, OVERVIEW, overview_panel(title), sel)
    CHECKS[title](rows, runs, corpus.signals)


@pytest.mark.parametrize("title", sorted(CHECKS))
def test_panels_on_an_empty_range(corpus, title):
    empty = QueryWindow(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC), 900)
    rows = run_panel(corpus.store, OVERVIEW, overview_panel(title), SELECTIONS["all"], empty)
    CHECKS[title](rows, [], corpus.signals)


def test_the_corpus_exercises_final_and_the_time_range(corpus):
    raw = corpus.store.query("SELECT count() FROM agent_runs")[0][0]
    assert raw > len(corpus.runs), "re-analyzed rows must still be on disk in several versions"
    assert any(r["Start"] < naive_utc(WINDOW.start) for r in corpus.runs)
    assert {r["Tenant"] for r in corpus.runs} == {"acme", "globex", ""}
    assert any(len(r["Models"]) > 1 for r in corpus.runs)


def test_failure_classes_are_those_the_scenarios_produce(corpus):
    rows = run_panel(corpus.store, OVERVIEW, overview_panel("Runs by failure class"), SELECTIONS["all"])
    lo, hi = naive_utc(WINDOW.start), naive_utc(WINDOW.end)
    expected = Counter(c for p in corpus.planned if lo <= naive_utc(p.start) <= hi for c in p.classes if c)
    assert {r["FailureClass"]: r["failed"] + r["degraded"] for r in rows} == expected


def test_model_costs_add_up_to_the_total_cost(corpus):
    rows = run_panel(corpus.store, OVERVIEW, overview_panel("Tokens and cost per model"), SELECTIONS["all"])
    [[cost, tokens]] = corpus.store.query(
        "SELECT sum(CostUsd), sum(TotalTokens) FROM agent_runs FINAL WHERE Start BETWEEN {a:DateTime} AND {b:DateTime}",
        {"a": naive_utc(WINDOW.start), "b": naive_utc(WINDOW.end)})
    assert sum(r["Cost"] or 0 for r in rows) == pytest.approx(cost) and sum(r["Tokens"] for r in rows) == tokens
    assert {"gpt-4o", "gpt-4o-mini", "gpt-4o + gpt-4o-mini"} <= {r["Model"] for r in rows}


def test_variable_queries(corpus):
    defs = grafana.variables(OVERVIEW)

    def options(name: str, selection: dict) -> list[tuple]:
        return corpus.store.query(grafana.render(defs[name]["query"], defs, selection, WINDOW))

    assert options("tenant", SELECTIONS["all"]) == [("", "(no tenant)"), ("acme", "acme"), ("globex", "globex")]
    assert options("environment", {"tenant": "acme"}) == [("production", "production")]
    acme_agents = options("agent", {"tenant": "acme", "environment": [ALL]})
    assert acme_agents == [("", "(unnamed)"), (QUOTED_AGENT, QUOTED_AGENT), ("researcher", "researcher"),
                           (AGENT, AGENT)]


def failed_runs_links(field: str) -> list[dict]:
    overrides = overview_panel("Recent failed runs")["fieldConfig"]["overrides"]
    return [link for o in overrides if o["matcher"] == {"id": "byName", "options": field}
            for prop in o["properties"] if prop["id"] == "links" for link in prop["value"]]


def test_run_links_open_the_post_mortem_page(corpus):
    [link] = failed_runs_links("RunId")
    assert failed_runs_links("Headline") == [link]
    sel = {**SELECTIONS["acme-production-two-agents"], "public_url": PUBLIC_URL}
    rows = run_panel(corpus.store, OVERVIEW, overview_panel("Recent failed runs"), sel)
    app = build_app(make_context(corpus.store, ApiSettings(rate_limit_per_hour=0), AuthSettings(), None))
    with TestClient(app, raise_server_exceptions=False) as client:
        for row in rows[:3]:
            url = grafana.interpolate_variables(link["url"], grafana.variables(OVERVIEW), sel, row)
            assert url == f"{PUBLIC_URL}/runs/{row['RunId']}"
            page = client.get(url)
            assert page.status_code == 200, page.text
            [shown] = re.findall(r'<h1 class="headline" id="headline">(.*?)</h1>', page.text, re.S)
            assert html.unescape(re.sub(r"<[^>]+>", "", shown)) == row["Headline"].replace("`", "")


def test_trace_links_open_the_trace_in_explore(corpus):
    [link] = failed_runs_links("TraceId")
    internal = link["internal"]
    assert internal["datasourceUid"] == DATASOURCE["uid"] and internal["query"]["datasource"]["uid"] == DATASOURCE["uid"]
    options = internal["query"]["builderOptions"]
    traces = DATASOURCE["jsonData"]["traces"]
    assert (options["database"], options["table"]) == (traces["defaultDatabase"], traces["defaultTable"])
    assert options["queryType"] == "traces" and options["meta"]["isTraceIdMode"]
    columns = {name for (name, *_) in corpus.store.query("DESCRIBE TABLE otel_traces")}
    assert {c["name"] for c in options["columns"]} <= columns
    rows = run_panel(corpus.store, OVERVIEW, overview_panel("Recent failed runs"), SELECTIONS["all"])
    for row in rows:
        trace_id = grafana.interpolate_variables(options["meta"]["traceId"], {}, {}, row)
        assert trace_id == row["TraceId"]
        assert corpus.store.query("SELECT count() FROM otel_traces WHERE TraceId = {t:String}", {"t": trace_id})[0][0]
