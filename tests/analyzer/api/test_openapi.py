"""schemathesis against `/openapi.json`: generated requests never get a 5xx and responses match the schema.

Runs in-process on its own database (ingest endpoints write), seeded with analyzed
scenario runs; examples per operation are kept small so the suite stays fast.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from agentmortem.analyzer.api.app import build_app
from agentmortem.analyzer.api.service import make_context
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.collector.config import IngestSettings
from agentmortem.collector.ingest import Ingest
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.service import writer_limits
from agentmortem.collector.writer import GroupCommitWriter
from agentmortem.platform.settings import AuthSettings
from tests.support.api_corpus import store_as
from tests.support.demo_traces import START_NS
from tests.support.engine import fresh_store


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    store = fresh_store(tmp_path_factory)
    traces = [TraceKey("", store_as(store, None, name, "genai", START_NS + i * 10**9).trace_id)
              for i, name in enumerate(("tool_error", "healthy_two_cities", "delegation_failure"))]
    analyze_traces(store, traces, RuleSettings())
    writer = GroupCommitWriter(store, writer_limits(IngestSettings()), CollectorMetrics())
    writer.start()
    auth = AuthSettings()
    ctx = make_context(store, ApiSettings(rate_limit_per_hour=0), auth, None)
    ctx.ingest = Ingest(IngestSettings(), auth, writer, ctx.keys, CollectorMetrics())
    yield schemathesis.openapi.from_asgi("/openapi.json", build_app(ctx))
    writer.stop()
    store.command(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


def test_api_conforms_to_its_schema(api_schema):
    """Every operation, a few generated cases each (the schemathesis pytest plugin is not used: it does
    not run on this pytest release, so hypothesis drives each operation's strategy directly)."""
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 14

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:
            case.call_and_validate(checks=checks)

        check()
