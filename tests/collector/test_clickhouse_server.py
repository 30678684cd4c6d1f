"""The same collector against a ClickHouse server (testcontainers); skipped, with the reason, without Docker."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.sdk_spans import READBACK_COLUMNS, READBACK_SQL, expected_row, rich_spans
from tests.support.typed_json_path import FAST_SHAPES, assert_typed_path_exact, shape_id


def _docker_reason() -> str | None:
    try:
        import docker

        docker.from_env().ping()
    except Exception as exc:  # no engine, no socket, no permission
        return f"no Docker engine reachable ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="module")
def clickhouse_url():
    reason = _docker_reason()
    if reason:
        pytest.skip(f"ClickHouse server test needs Docker: {reason}")
    from testcontainers.clickhouse import ClickHouseContainer

    with ClickHouseContainer("clickhouse/clickhouse-server:25.8") as ch:
        host, port = ch.get_container_host_ip(), ch.get_exposed_port(8123)
        yield f"http://{ch.username}:{ch.password}@{host}:{port}/{ch.dbname}"


@pytest.mark.clickhouse_server
def test_sdk_spans_round_trip_through_a_clickhouse_server(clickhouse_url, server_factory):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from agentmortem.platform.store import Store

    srv = server_factory({"AGENTMORTEM_CLICKHOUSE_URL": clickhouse_url}, command="collector")
    spans = rich_spans()
    exporter = OTLPSpanExporter(endpoint=f"{srv.http_url}/v1/traces")
    exporter.export(spans)
    srv.stop()
    rows = Store(clickhouse_url).query(READBACK_SQL)
    stored = {row[2]: dict(zip(READBACK_COLUMNS, row)) for row in rows}
    for span in spans:
        expected = expected_row(span)
        assert stored[expected["SpanId"]] == expected


@pytest.mark.clickhouse_server
@pytest.mark.parametrize("shape", FAST_SHAPES, ids=shape_id)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_typed_json_path_reads_documents_as_the_raw_walk_on_a_server(clickhouse_url, shape, data):
    """The typed path's exactness rests on how JSONExtract converts tuples: checked on the server version too."""
    from agentmortem.platform.store import Store

    assert_typed_path_exact(Store(clickhouse_url), shape, data)
