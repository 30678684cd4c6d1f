"""API fixtures: runs produced by the real pipeline (OTel SDK spans → collector conversion →
`otel_traces` → analyzer), in three tenants, once per session; apps and clients over it.

`corpus` is read-only (tests that write use their own `store`). Every scenario of the
demo library is stored for tenant `acme`; a few for `globex` (OpenInference flavour)
and a few without a tenant; then the analyzer's own `analyze_traces` writes the tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from agentmortem.analyzer.api.app import build_app
from agentmortem.analyzer.api.service import make_context
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.collector.config import IngestSettings
from agentmortem.collector.convert import request_to_batch
from agentmortem.collector.ingest import Ingest
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.migrations import migrate_collector
from agentmortem.collector.service import writer_limits
from agentmortem.collector.writer import GroupCommitWriter
from agentmortem.demo.scenarios import SCENARIOS
from agentmortem.platform.auth import create_key
from agentmortem.platform.schema import INSERT_COLUMNS, TRACES_TABLE
from agentmortem.platform.settings import AuthSettings
from agentmortem.platform.store import Store
from tests.analyzer.emit import START_NS, scenario_spans
from tests.conftest import engine_url

GLOBEX_SCENARIOS = ("tool_error", "healthy_two_cities", "unknown_tool")
ANON_SCENARIOS = ("healthy_two_cities", "rate_limited")


@dataclass
class Stored:
    tenant: str
    scenario: str
    trace_id: str
    marks: dict


@dataclass
class Corpus:
    store: Store
    runs: list[Stored] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # tenant -> secret

    def of(self, tenant: str, scenario: str) -> Stored:
        return next(r for r in self.runs if r.tenant == tenant and r.scenario == scenario)


def _store_as(store: Store, tenant: str | None, name: str, flavour: str, start_ns: int) -> Stored:
    scenario = next(s for s in SCENARIOS if s.name == name)
    spans, marks = scenario_spans(scenario, flavour, start_ns)
    batch = request_to_batch(encode_spans(spans), tenant)
    assert batch.check.rejected == 0
    store.insert_columns(TRACES_TABLE, batch.columns, INSERT_COLUMNS)
    return Stored(tenant or "", name, format(spans[0].context.trace_id, "032x"), marks)


def fresh_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(engine_url(tmp_path_factory), database="t_" + uuid.uuid4().hex[:12])
    migrate_collector(s)
    migrate_analyzer(s)
    return s


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    store = fresh_store(tmp_path_factory)
    c = Corpus(store)
    minute = 60 * 10**9
    t = START_NS
    for i, s in enumerate(SCENARIOS):
        c.runs.append(_store_as(store, "acme", s.name, "genai", t + i * minute))
    for i, name in enumerate(GLOBEX_SCENARIOS):
        c.runs.append(_store_as(store, "globex", name, "openinference", t + (100 + i) * minute))
    for i, name in enumerate(ANON_SCENARIOS):
        c.runs.append(_store_as(store, None, name, "genai", t + (200 + i) * minute))
    analyze_traces(store, [TraceKey(r.tenant, r.trace_id) for r in c.runs], RuleSettings())
    for tenant in ("acme", "globex"):
        c.keys[tenant] = create_key(store, tenant, "api tests")[1]
    yield c
    store.command(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


def make_client(store: Store, auth: AuthSettings | None = None, api: ApiSettings | None = None,
                writer: GroupCommitWriter | None = None) -> TestClient:
    auth = auth or AuthSettings()
    ingest = None
    if writer is not None:
        ingest = Ingest(IngestSettings(), auth, writer, make_context(store, ApiSettings(), auth, None).keys,
                        CollectorMetrics())
    app = build_app(make_context(store, api or ApiSettings(rate_limit_per_hour=0), auth, ingest))
    client = TestClient(app, raise_server_exceptions=False)
    client.fastapi = app  # type: ignore[attr-defined]
    return client


@pytest.fixture(scope="session")
def client(corpus: Corpus) -> TestClient:
    """Auth off: sees every tenant."""
    return make_client(corpus.store)


@pytest.fixture(scope="session")
def auth_client(corpus: Corpus) -> TestClient:
    """`require_auth` on."""
    return make_client(corpus.store, AuthSettings(require_auth=True, key_cache_seconds=60))


@pytest.fixture
def writer(store: Store) -> Iterator[GroupCommitWriter]:
    w = GroupCommitWriter(store, writer_limits(IngestSettings()), CollectorMetrics())
    w.start()
    yield w
    w.stop()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
