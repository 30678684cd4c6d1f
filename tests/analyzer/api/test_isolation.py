"""Auth and tenants: key A never sees tenant B on any route; 401 without a key; 429; 413; request ids; errors."""

from __future__ import annotations

import csv
import io
import re

import orjson
import pytest
from fastapi.routing import APIRoute

from agentmortem.analyzer.api.app import ROUTERS
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.platform.settings import AuthSettings
from tests.support.api_client import bearer, make_client
from tests.support.api_corpus import Corpus

A, B = "acme", "globex"


def _ids_in(response) -> set[str]:
    kind = response.headers["content-type"]
    if kind.startswith("text/csv"):
        return {row["run_id"] for row in csv.DictReader(io.StringIO(response.text))}
    if kind.startswith("application/x-ndjson"):
        return {orjson.loads(line)["run_id"] for line in response.text.splitlines()}
    if kind.startswith("text/html"):
        return set(re.findall(r'data-run-id="([0-9a-f]+)"', response.text))
    return {row["run_id"] for row in response.json()["data"]}


def run_ids(corpus: Corpus, client, tenant: str) -> set[str]:
    """Run ids of a tenant's traces, read without a key (auth off) — every run and sub-run."""
    traces = {r.trace_id for r in corpus.runs if r.tenant == tenant}
    rows = client.get("/v1/runs", params={"limit": 1000}).json()["data"]
    return {r["run_id"] for r in rows if r["trace_id"] in traces}


def tool_calls_of(corpus: Corpus, client, tenant: str) -> int:
    """Tool spans in a tenant's runs, counted from each run's events."""
    total = 0
    for run_id in run_ids(corpus, client, tenant):
        events = client.get(f"/v1/runs/{run_id}/events").json()
        total += sum(1 for e in events if e["category"] == "tool" and e["tool_name"] and e["run_id"] == run_id)
    return total


# Every data route, with what "only tenant A" means there. `{b}` is a run of tenant B.
LISTS = ["/v1/runs?limit=1000", "/v1/runs?format=csv", "/v1/runs?format=ndjson", "/v1/signals?limit=1000", "/?limit=1000"]
SINGLE = ["/v1/runs/{b}", "/v1/runs/{b}/events", "/v1/runs/{b}/tree", "/v1/runs/{b}/explanation", "/runs/{b}",
          "/v1/runs/{b_trace}"]
AGGREGATES = ["/v1/agents", "/v1/stats", "/v1/tools"]
INGEST = ["/v1/runs", "/v1/runs/{b}/events"]
COVERED = {p.split("?")[0].replace("{b}", "{run_id}").replace("{b_trace}", "{run_id}")
           for p in LISTS + SINGLE + AGGREGATES + INGEST}


def test_every_data_route_is_covered():
    """A new route must join the isolation tables below (health and capabilities hold no tenant data)."""
    routes = {r.path for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)}
    public = {"/health", "/health/db", "/health/ready", "/health/live", "/v1/capabilities"}
    assert routes - public == COVERED


@pytest.mark.parametrize("path", LISTS)
def test_lists_show_only_the_key_tenant(corpus, client, auth_client, path):
    mine, theirs = run_ids(corpus, client, A), run_ids(corpus, client, B)
    shown = _ids_in(auth_client.get(path, headers=bearer(corpus.keys[A])))
    assert shown and shown <= mine and not shown & theirs
    shown_b = _ids_in(auth_client.get(path, headers=bearer(corpus.keys[B])))
    assert shown_b and shown_b <= theirs


@pytest.mark.parametrize("path", SINGLE)
def test_another_tenants_run_is_not_found(corpus, client, auth_client, path):
    b = corpus.of(B, "tool_error")
    b_run = client.get(f"/v1/runs/{b.trace_id}").json()["run_id"]
    url = path.format(b=b_run, b_trace=b.trace_id)
    assert auth_client.get(url, headers=bearer(corpus.keys[B])).status_code == 200
    denied = auth_client.get(url, headers=bearer(corpus.keys[A]))
    assert denied.status_code == 404 and denied.json()["detail"].endswith("not found")


@pytest.mark.parametrize("path", AGGREGATES)
def test_aggregates_count_only_the_key_tenant(corpus, client, auth_client, path):
    r = auth_client.get(path, headers=bearer(corpus.keys[A]))
    assert r.status_code == 200
    body = r.json()
    if path == "/v1/stats":
        assert body["total_runs"] == len(run_ids(corpus, client, A))
    elif path == "/v1/agents":
        assert sum(a["run_count"] for a in body) == len(run_ids(corpus, client, A))
    else:
        assert sum(t["call_count"] for t in body) == tool_calls_of(corpus, client, A)
    everyone = client.get(path).json()
    if path == "/v1/stats":
        assert everyone["total_runs"] > body["total_runs"]


@pytest.mark.parametrize("path", LISTS + AGGREGATES + [p.format(b="x", b_trace="y") for p in SINGLE])
def test_no_key_is_401_when_auth_is_required(auth_client, path):
    r = auth_client.get(path)
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    assert "API key" in r.json()["detail"] and r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("how", ["bearer", "x-api-key", "query"])
def test_all_three_key_forms_work_and_a_bad_key_is_401(corpus, auth_client, how):
    key = corpus.keys[A]
    headers = {"bearer": bearer(key), "x-api-key": {"X-API-Key": key}, "query": {}}[how]
    params = {"api_key": key} if how == "query" else {}
    assert auth_client.get("/v1/stats", headers=headers, params=params).status_code == 200
    bad = {"bearer": bearer("am_nope"), "x-api-key": {"X-API-Key": "am_nope"}, "query": {}}[how]
    r = auth_client.get("/v1/stats", headers=bad, params={"api_key": "am_nope"} if how == "query" else {})
    assert r.status_code == 401 and r.json()["detail"] == "the API key is unknown or revoked"


def test_health_needs_no_key(auth_client):
    for path in ("/health", "/health/db", "/health/ready", "/health/live"):
        assert auth_client.get(path).status_code == 200


def test_rate_limit_per_key_gives_429_with_retry_after(corpus):
    c = make_client(corpus.store, AuthSettings(require_auth=True), ApiSettings(rate_limit_per_hour=3))
    a, b = bearer(corpus.keys[A]), bearer(corpus.keys[B])
    assert [c.get("/v1/stats", headers=a).status_code for _ in range(3)] == [200] * 3
    limited = c.get("/v1/stats", headers=a)
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 1200
    assert "rate limit" in limited.json()["detail"]
    assert c.get("/v1/stats", headers=b).status_code == 200  # another key has its own allowance


def test_body_over_the_limit_is_413(store):
    c = make_client(store, api=ApiSettings(api_max_body_bytes=1000))
    r = c.post("/v1/runs", content=b'{"run_id": "' + b"x" * 5000 + b'"}', headers={"content-type": "application/json"})
    assert r.status_code == 413 and "1000-byte limit" in r.json()["detail"]

    def chunks():  # no Content-Length: the bound applies while streaming
        for _ in range(10):
            yield b" " * 500
    r = c.post("/v1/runs", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/health/live", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/v1/runs/nope").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client.get("/health/live", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"] != "bad id\n"


def test_errors_are_json_detail(client):
    missing = client.get("/v1/runs/0123456789abcdef")
    assert missing.status_code == 404 and missing.json() == {"detail": "run 0123456789abcdef not found"}
    invalid = client.get("/v1/runs", params={"limit": 0})
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == ["query", "limit"]
    assert client.get("/no/such/path").json() == {"detail": "Not Found"}
    bad_cursor = client.get("/v1/runs", params={"cursor": "garbage"})
    assert bad_cursor.status_code == 400 and bad_cursor.json() == {"detail": "cursor is not valid"}


def test_cors_is_configurable(corpus):
    off = make_client(corpus.store)
    assert "access-control-allow-origin" not in off.get("/health", headers={"Origin": "http://x"}).headers
    on = make_client(corpus.store, api=ApiSettings(cors_origins=["http://dash.local"], rate_limit_per_hour=0))
    r = on.options("/v1/runs", headers={"Origin": "http://dash.local", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://dash.local"
