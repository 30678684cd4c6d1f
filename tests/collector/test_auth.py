"""API keys: refused without/with wrong/revoked keys on both protocols; the key's tenant lands on spans."""

from __future__ import annotations

import subprocess
import sys
import time

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.platform.auth import KeyRing, create_key, list_keys, presented_key, revoke_key
from tests.support.otlp_clients import EXPORT_METHOD, make_request
from tests.support.servers import query_data_dir, start_server


def _cli(data_dir, *args: str, command: str = "keys") -> str:
    out = subprocess.run(
        [sys.executable, "-m", "agentmortem", command, "--clickhouse-url", f"chdb://{data_dir / 'db'}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return out.stdout


def _secret(output: str) -> tuple[str, str]:
    fields = dict(line.split(":", 1) for line in output.splitlines() if ":" in line)
    return fields["key id"].strip(), fields["secret"].strip()


@pytest.fixture
def auth_server(tmp_path):
    data_dir = tmp_path / "auth"
    data_dir.mkdir()
    _cli(data_dir, command="migrate")  # `keys` manages keys in a store, it does not create one
    acme_id, acme = _secret(_cli(data_dir, "create", "--tenant", "acme", "--name", "ci"))
    old_id, old = _secret(_cli(data_dir, "create", "--tenant", "globex"))
    assert "revoked" in _cli(data_dir, "revoke", old_id)
    listing = _cli(data_dir, "list")
    assert acme_id in listing and "active" in listing and "revoked" in listing
    assert acme not in listing  # secrets are never shown again
    srv = start_server(data_dir, {"AGENTMORTEM_REQUIRE_AUTH": "true"})
    yield srv, acme, old
    srv.stop()


def _http(srv, body, **headers):
    return httpx.post(
        f"{srv.http_url}/v1/traces", content=body,
        headers={"content-type": "application/x-protobuf", **headers}, timeout=10,
    )


def _grpc(srv, body, metadata=()):
    with grpc.insecure_channel(srv.grpc_target) as channel:
        export = channel.unary_unary(EXPORT_METHOD, request_serializer=None, response_deserializer=None)
        return export(body, timeout=10, metadata=metadata)


def test_keys_are_enforced_and_stamp_the_tenant(auth_server):
    srv, acme, revoked = auth_server
    body, _ = make_request(3, "auth")
    assert _http(srv, body).status_code == 401
    assert _http(srv, body, authorization="Bearer am_nope_nope").status_code == 401
    assert _http(srv, body, authorization=f"Bearer {revoked}").status_code == 401
    assert _http(srv, body, **{"x-api-key": revoked}).status_code == 401
    for metadata in ((), (("authorization", "Bearer wrong"),), (("x-api-key", revoked),)):
        with pytest.raises(grpc.RpcError) as err:
            _grpc(srv, body, metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

    http_body, http_ids = make_request(2, "via-http")
    assert _http(srv, http_body, authorization=f"Bearer {acme}").status_code == 200
    grpc_body, grpc_ids = make_request(2, "via-grpc")
    _grpc(srv, grpc_body, (("x-api-key", acme),))
    srv.stop()
    rows = query_data_dir(srv.data_dir, "SELECT SpanId, ResourceAttributes['agentmortem.tenant'] FROM otel_traces")
    assert sorted(rows) == sorted((i, "acme") for i in http_ids + grpc_ids)


def test_a_client_cannot_claim_a_tenant_without_a_key(server):
    body, ids = make_request(1, "spoof")
    request = ExportTraceServiceRequest.FromString(body)
    kv = request.resource_spans[0].resource.attributes.add()
    kv.key, kv.value.string_value = "agentmortem.tenant", "someone-else"
    assert _http(server, request.SerializeToString()).status_code == 200
    server.stop()
    rows = query_data_dir(server.data_dir, "SELECT mapContains(ResourceAttributes, 'agentmortem.tenant') FROM otel_traces")
    assert rows == [(0,)]


def test_revocation_reaches_a_running_key_ring_after_its_cache(store):
    key, secret = create_key(store, "tenant-a", "k")
    ring = KeyRing(store, cache_seconds=0.2)
    assert ring.tenant_for(secret) == "tenant-a"
    assert revoke_key(store, key.key_id)
    assert ring.tenant_for(secret) == "tenant-a"  # still cached
    time.sleep(0.25)
    assert ring.tenant_for(secret) is None
    assert [k.revoked_at is not None for k in list_keys(store)] == [True]
    assert not revoke_key(store, "no-such-key")
    stored_hashes = store.query("SELECT KeyHash FROM agentmortem_api_keys")
    assert all(secret not in h for (h,) in stored_hashes)


@pytest.mark.parametrize(
    ("authorization", "x_api_key", "expected"),
    [("Bearer abc", None, "abc"), ("bearer  abc ", None, "abc"), ("Basic abc", None, None),
     (None, "xyz", "xyz"), ("Bearer abc", "xyz", "xyz"), (None, None, None), ("Bearer ", None, None)],
)
def test_presented_key(authorization, x_api_key, expected):
    assert presented_key(authorization, x_api_key) == expected


def test_a_smuggled_tenant_field_is_discarded_before_writing(auth_server):
    srv, acme, _ = auth_server
    body, ids = make_request(1, "smuggle")
    smuggled = body + b"\x7a\x04evil"  # an unknown top-level field 15 = our envelope's tenant
    assert _http(srv, smuggled, authorization=f"Bearer {acme}").status_code == 200
    srv.stop()
    rows = query_data_dir(srv.data_dir, "SELECT ResourceAttributes['agentmortem.tenant'] FROM otel_traces")
    assert rows == [("acme",)]
