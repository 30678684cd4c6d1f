"""Two tenants under one trace id: each keeps its own runs, and neither reads nor changes the other's.

Trace ids travel in `traceparent` headers to every service a request reaches, so a tenant can
learn another tenant's trace id (and a root span id) and send spans under it. Here `beta`
does, with its own key: a span with `alpha`'s trace id and root span id, a failing child
under that root, and a failing child under `alpha`'s own tool span. Everything is analyzed
by the real pipeline (scheduler round: activity, staging, runs, rules, writes) and read
through every API route and page, with each tenant's key.
"""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.config import AnalyzerSettings
from agentmortem.analyzer.engine.load import trace_keys
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.analyzer.engine.scheduler import Scheduler
from agentmortem.collector.convert import request_to_batch
from agentmortem.demo.scenarios import Scenario
from agentmortem.platform.auth import create_key
from agentmortem.platform.schema import INSERT_COLUMNS, TRACES_TABLE
from agentmortem.platform.settings import AuthSettings
from agentmortem.platform.store import Store
from tests.support.api_client import bearer, make_client
from tests.support.demo_traces import START_NS, SharedIds, store_scenario
from tests.support.engine import fresh_store
from tests.support.takeover import INJECTED, SECRET, impostor, order_bot, raw_span

ROUND = AnalyzerSettings(settle_seconds=0, analyzer_lag_seconds=0, abandon_after_seconds=0.001, analyzer_workers=0)


def store_request(store: Store, request: ExportTraceServiceRequest, tenant: str | None) -> None:
    """Store a request as the collector does for a key of `tenant`."""
    batch = request_to_batch(request, tenant)
    assert batch.check.rejected == 0
    store.insert_columns(TRACES_TABLE, batch.columns, INSERT_COLUMNS)


class Shared:
    """The stored takeover attempt and its ids."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.keys = {t: create_key(store, t, "shared trace ids")[1] for t in ("alpha", "beta")}
        alpha = store_scenario(store, Scenario("order_bot", "tool_error", "", order_bot), start_ns=START_NS,
                               tenant="alpha")
        self.trace, self.run, self.alpha_tool = alpha["trace_id"], alpha["run"], alpha["tool"]
        beta = store_scenario(store, Scenario("impostor", "tool_error", "", impostor), start_ns=START_NS + 10**9,
                              tenant="beta", ids=SharedIds(self.trace, self.run))
        self.beta_tool, self.beta_child = beta["tool"], "00000000000000be"
        store_request(store, raw_span(self.trace, self.beta_child, self.alpha_tool, "execute_tool poison",
                                      f"{INJECTED} under alpha's tool", START_NS + 2 * 10**9), "beta")
        assert beta["run"] == self.run and beta["trace_id"] == self.trace
        result = Scheduler(store, ROUND, RuleSettings()).run_once()
        assert result.analyzed == 2 and result.pending == 0  # (alpha, trace) and (beta, trace)

    def spans_of(self, tenant: str) -> set[str]:
        """The span ids of a tenant's spans under the shared trace id."""
        return {r[0] for r in self.store.query(
            "SELECT SpanId FROM otel_traces WHERE TraceId = {t:String} AND ResourceAttributes['agentmortem.tenant'] "
            "= {n:String}", {"t": self.trace, "n": tenant})}

    def only(self, tenant: str) -> set[str]:
        """Span ids only `tenant`'s spans hold: not the other's own ids, nor those it names as parents."""
        other = {"alpha": "beta", "beta": "alpha"}[tenant]
        named = {r[0] for r in self.store.query(
            "SELECT arrayJoin([SpanId, ParentSpanId]) FROM otel_traces WHERE TraceId = {t:String} AND "
            "ResourceAttributes['agentmortem.tenant'] = {n:String}", {"t": self.trace, "n": other})}
        return self.spans_of(tenant) - named


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Shared:
    return Shared(fresh_store(tmp_path_factory))


@pytest.fixture(scope="module")
def api(shared):
    return make_client(shared.store, AuthSettings(require_auth=True, key_cache_seconds=60))


def _get(api, shared: Shared, tenant: str, path: str):
    r = api.get(path.format(run=shared.run, trace=shared.trace), headers=bearer(shared.keys[tenant]))
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r


def test_each_tenant_has_its_own_run_under_the_shared_ids(shared):
    rows = shared.store.query("SELECT Tenant, AgentName, Outcome, RootCauseSpanId, Steps FROM agent_runs FINAL "
                              "WHERE RunId = {r:String} AND NOT Deleted ORDER BY Tenant", {"r": shared.run})
    assert rows == [("alpha", "alpha-order-agent", "failed", shared.alpha_tool, 4),  # two model calls, a tool, the root
                    ("beta", "beta-impostor-agent", "failed", shared.beta_tool, 4)]  # root, tool, model call, its orphan


def test_the_owner_still_reads_its_run_untouched(shared, api):
    run = _get(api, shared, "alpha", "/v1/runs/{run}").json()
    assert (run["tenant"], run["agent_id"], run["root_cause_span_id"]) == ("alpha", "alpha-order-agent", shared.alpha_tool)
    assert _get(api, shared, "alpha", "/v1/runs/{trace}").json()["run_id"] == shared.run
    x = _get(api, shared, "alpha", "/v1/runs/{run}/explanation").json()
    assert x["root_cause_span_id"] == shared.alpha_tool and SECRET in x["markdown"]
    mine = shared.spans_of("alpha")
    for path, ids in (("/v1/runs/{run}/events", lambda b: {e["span_id"] for e in b}),
                      ("/v1/runs/{run}/tree", lambda b: {n["span_id"] for n in _nodes(b["roots"])}),
                      ("/v1/signals?run_id={run}", lambda b: {s["span_id"] for s in b["data"]})):
        body = _get(api, shared, "alpha", path).json()
        assert ids(body) and ids(body) <= mine, path  # none of beta's spans is in alpha's run


def _nodes(roots: list[dict]) -> list[dict]:
    out, stack = [], list(roots)
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(n.get("children") or [])
    return out


SURFACES = ["/v1/runs/{run}", "/v1/runs/{trace}", "/v1/runs/{run}/events", "/v1/runs/{run}/tree",
            "/v1/runs/{run}/explanation", "/v1/runs/{run}/explanation?format=markdown", "/runs/{run}",
            "/v1/runs?limit=1000", "/v1/runs?format=csv", "/v1/runs?format=ndjson", "/v1/signals?limit=1000",
            "/?limit=1000", "/v1/agents", "/v1/stats", "/v1/tools"]


@pytest.mark.parametrize("path", SURFACES)
def test_no_surface_shows_one_tenant_the_other_tenants_data(shared, api, path):
    alpha_only, beta_only = shared.only("alpha"), shared.only("beta")
    assert alpha_only and beta_only
    seen_by_beta = _get(api, shared, "beta", path).text
    assert SECRET not in seen_by_beta and "alpha-order-agent" not in seen_by_beta
    assert not any(s in seen_by_beta for s in alpha_only)
    seen_by_alpha = _get(api, shared, "alpha", path).text
    assert INJECTED not in seen_by_alpha and "beta-impostor-agent" not in seen_by_alpha
    assert not any(s in seen_by_alpha for s in beta_only)


def test_csv_export_rows_belong_to_the_key_tenant(shared, api):
    rows = list(csv.DictReader(io.StringIO(_get(api, shared, "beta", "/v1/runs?format=csv").text)))
    assert rows and {r["tenant"] for r in rows} == {"beta"}


def test_without_auth_a_run_id_shows_one_tenant_run_whole(shared):
    """Auth off, no key: every tenant is visible; the run an id names is one tenant's, with its own details."""
    client = make_client(shared.store)
    run = client.get(f"/v1/runs/{shared.run}").json()
    page = client.get(f"/runs/{shared.run}").text
    events = client.get(f"/v1/runs/{shared.run}/events").json()
    theirs = shared.only({"alpha": "beta", "beta": "alpha"}[run["tenant"]])
    assert not any(e["span_id"] in theirs for e in events) and not any(s in page for s in theirs)


# -- the property: no query returns a row of another tenant ----------------------------------------------

TENANTS = ("alpha", "beta", "")
MARK = {"alpha": "mk-alpha", "beta": "mk-beta", "": "mk-anonymous"}
span_plans = st.lists(st.tuples(st.sampled_from(TENANTS), st.integers(0, 1), st.integers(0, 3),
                                st.one_of(st.none(), st.integers(0, 3)), st.booleans()), min_size=1, max_size=10)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=span_plans)
def test_property_no_query_returns_a_row_of_another_tenant(shared, api, plan):
    """Random spans of three tenants over two trace ids and four span ids (roots, children, cycles,
    duplicates), each named and failed with its tenant's mark: after analysis, nothing a tenant's
    key reads carries another tenant's mark, and every run it lists is its own."""
    traces = [uuid.uuid4().hex for _ in range(2)]
    spans = [uuid.uuid4().hex[:16] for _ in range(4)]
    for i, (tenant, t, s, parent, error) in enumerate(plan):
        request = raw_span(traces[t], spans[s], spans[parent] if parent is not None and parent != s else "",
                           f"step {MARK[tenant]}", f"failed {MARK[tenant]}", START_NS + i * 10**8, error)
        store_request(shared.store, request, tenant or None)
    analyze_traces(shared.store, trace_keys(shared.store, traces), RuleSettings())
    for tenant in ("alpha", "beta"):
        others = [m for t, m in MARK.items() if t != tenant]
        listed = _get(api, shared, tenant, "/v1/runs?limit=1000").json()["data"]
        assert {r["tenant"] for r in listed} <= {tenant}
        ours = [r for r in listed if r["trace_id"] in traces]
        assert bool(ours) == any(p[0] == tenant for p in plan)
        paths = ["/v1/signals?limit=1000", "/v1/tools"]
        for i, r in enumerate(ours[:3]):  # the runs of this example (a few, one page: each builds the run's tree)
            paths += [f"/v1/runs/{r['run_id']}{tail}" for tail in ("/events", "/explanation")]
            paths += [f"/runs/{r['run_id']}"] if i == 0 else []
        for path in paths:
            text = api.get(path, headers=bearer(shared.keys[tenant])).text
            assert not any(m in text for m in others), (tenant, path)
