"""One way to find a run (`engine.find`), shared by the API and `agentmortem explain`: by run id,
trace id, UUID and other AgentMetrics run ids; within one tenant (the API) or across all (the CLI)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from agentmortem.analyzer.api.agentmetrics import AgentRunIn, ErrorInfo, root_span_id, run_request
from agentmortem.analyzer.api.queries.runs import get_run
from agentmortem.analyzer.api.queries.scope import Scope
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.find import find_runs, find_stored_traces, sender_tenants, trace_id_for
from agentmortem.analyzer.engine.load import trace_keys
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.analyzer.engine.tables import AGENT_RUNS
from agentmortem.cli.explain import explain_command, lookup
from agentmortem.collector.convert import request_to_batch
from agentmortem.platform.schema import INSERT_COLUMNS, TRACES_TABLE
from tests.support.demo_traces import START_NS, SharedIds, store_scenario

NAMED = "checkout-42"  # an AgentMetrics run id that is no UUID: its trace id is hashed with the tenant
UUID = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
T0 = datetime.fromtimestamp(START_NS / 1e9, UTC)
_r = AGENT_RUNS.c
COLUMNS = ", ".join((_r.RunId, _r.TraceId, _r.Tenant, _r.ParentRunId, _r.AgentName))


def store_agentmetrics_run(store, run_id: str, tenant: str, minutes: int) -> str:
    """An AgentMetrics run sent with a key of `tenant` ("" without one), as the ingest endpoint
    writes it; returns its trace id."""
    run = AgentRunIn(run_id=run_id, agent_id=f"checkout-{tenant or 'anon'}", started_at=T0 + timedelta(minutes=minutes),
                     duration_ms=1500, status="failed", error=ErrorInfo(type="Timeout", message="payment timed out"))
    batch = request_to_batch(run_request(run, tenant), tenant or None)
    assert batch.check.rejected == 0
    store.insert_columns(TRACES_TABLE, batch.columns, INSERT_COLUMNS)
    return trace_id_for(run_id, tenant)


@pytest.fixture
def stored(store):
    """acme's and globex's runs of one AgentMetrics id, a UUID run sent without a key, and a trace of
    acme that globex sent spans under too (its trace id and root span id): nothing analyzed yet."""
    migrate_analyzer(store)
    shared = store_scenario(store, "delegation_failure", tenant="acme")
    store_scenario(store, "tool_error", start_ns=START_NS + 600 * 10**9, tenant="globex",
                   ids=SharedIds(shared["trace_id"], shared["run"]))
    traces = {
        "acme": store_agentmetrics_run(store, NAMED, "acme", 20),
        "globex": store_agentmetrics_run(store, NAMED, "globex", 30),
        "uuid": store_agentmetrics_run(store, UUID, "", 40),
        "shared": shared["trace_id"],
    }
    return store, traces, shared


@pytest.fixture
def analyzed(stored):
    store, traces, shared = stored
    analyze_traces(store, trace_keys(store), RuleSettings())
    return stored


def test_a_run_id_and_a_trace_id_within_one_tenant(analyzed):
    store, traces, shared = analyzed
    for tenant in ("acme", "globex"):  # both hold a run with this run id, under this trace id
        for ident in (shared["run"], shared["trace_id"], shared["trace_id"].upper()):
            [row] = find_runs(store, ident, COLUMNS, tenant=tenant, id_tenants=(tenant,), best_for=tenant, limit=1)
            assert (row["Tenant"], row["RunId"], row["TraceId"]) == (tenant, shared["run"], shared["trace_id"])
    assert find_runs(store, shared["run"], COLUMNS, tenant="initech", id_tenants=("initech",)) == []
    # a trace id names every run of the trace, its top run first for a caller; in time order for the CLI
    acme = find_runs(store, shared["trace_id"], COLUMNS, tenant="acme")
    assert len(acme) > 1 and acme[0]["RunId"] == shared["run"] and {r["Tenant"] for r in acme} == {"acme"}
    everyone = find_runs(store, shared["trace_id"], COLUMNS)
    assert {r["Tenant"] for r in everyone} == {"acme", "globex"} and len(everyone) == len(acme) + 1
    sub = next(r for r in acme if r["ParentRunId"])
    [row] = find_runs(store, sub["RunId"], COLUMNS, tenant="acme", best_for="acme", limit=1)
    assert row["RunId"] == sub["RunId"]  # a run named by its own id before the top run of its trace


def test_every_tenant_the_callers_own_first(analyzed):
    store, traces, shared = analyzed
    for own in ("acme", "globex"):
        rows = find_runs(store, shared["run"], COLUMNS, best_for=own)
        assert [r["Tenant"] for r in rows] == [own, ({"acme", "globex"} - {own}).pop()]
    rows = find_runs(store, shared["run"], COLUMNS, best_for="")  # no run of its own: the earliest first
    assert [r["Tenant"] for r in rows] == ["acme", "globex"]


def test_agentmetrics_run_ids(analyzed):
    store, traces, _ = analyzed
    for ident in (UUID, UUID.lower(), UUID.replace("-", "")):  # a UUID run id is its trace id
        [row] = find_runs(store, ident, COLUMNS, best_for="", limit=1)
        assert (row["TraceId"], row["RunId"], row["Tenant"]) == (traces["uuid"], root_span_id(UUID), "")
    for tenant in ("acme", "globex"):  # another run id names the caller's own run
        [row] = find_runs(store, NAMED, COLUMNS, tenant=tenant, id_tenants=(tenant,), best_for=tenant, limit=1)
        assert (row["TraceId"], row["RunId"], row["Tenant"]) == (traces[tenant], root_span_id(NAMED), tenant)
    assert find_runs(store, NAMED, COLUMNS) == []  # sent with a key: not the run of a caller without one
    assert sender_tenants(store) == ["", "acme", "globex"]
    rows = find_runs(store, NAMED, COLUMNS, id_tenants=sender_tenants(store))  # an operator: every tenant's
    assert [(r["Tenant"], r["TraceId"]) for r in rows] == [("acme", traces["acme"]), ("globex", traces["globex"])]


def test_the_api_finds_runs_in_the_callers_scope(analyzed):
    store, traces, shared = analyzed
    assert get_run(store, Scope("acme"), NAMED)["trace_id"] == traces["acme"]
    assert get_run(store, Scope("globex"), NAMED)["trace_id"] == traces["globex"]
    assert get_run(store, Scope(None), NAMED) is None  # without a key, only runs sent without one
    assert get_run(store, Scope(None), UUID.lower())["trace_id"] == traces["uuid"]
    assert get_run(store, Scope("acme"), UUID) is None
    assert get_run(store, Scope("globex"), shared["trace_id"])["tenant"] == "globex"
    assert get_run(store, Scope(None), shared["trace_id"])["tenant"] == "acme"  # no own run: the earliest


def test_the_cli_analyzes_an_id_it_does_not_know_yet(stored):
    store, traces, shared = stored
    tool_span = shared["root_cause"]  # a span of the shared trace that is no run's root
    assert find_stored_traces(store, tool_span) == [shared["trace_id"]]
    assert find_stored_traces(store, NAMED, ["acme", "globex"]) == sorted([traces["acme"], traces["globex"]])
    assert store.query("SELECT count() FROM agent_runs")[0][0] == 0
    rows = lookup(store, tool_span, RuleSettings())  # a span id: every run of its trace, analyzed now
    assert [r["Tenant"] for r in rows] == ["acme", "acme", "globex"]  # acme's run and sub-run, globex's run
    assert rows[0]["RunId"] == rows[2]["RunId"] == shared["run"] and rows[1]["ParentRunId"] == shared["run"]
    assert all(r["TraceId"] == shared["trace_id"] and r["Markdown"] and r["Structured"] for r in rows)
    rows = lookup(store, UUID, RuleSettings())  # a UUID AgentMetrics run id, as its sender spells it
    assert [(r["Tenant"], r["TraceId"], r["RunId"]) for r in rows] == [("", traces["uuid"], root_span_id(UUID))]
    rows = lookup(store, NAMED, RuleSettings())  # another AgentMetrics id: every tenant's run of it
    assert [(r["Tenant"], r["TraceId"]) for r in rows] == [("acme", traces["acme"]), ("globex", traces["globex"])]
    out = io.StringIO()
    assert explain_command(store, NAMED, RuleSettings(), Console(file=out, width=200, color_system=None)) == 0
    text = out.getvalue()
    assert f"trace {traces['acme']} · tenant acme" in text and f"trace {traces['globex']} · tenant globex" in text
    assert explain_command(store, "no-such-run", RuleSettings(), Console(file=io.StringIO())) == 1
