"""Memory stays within its bounds under overload: admission before reading, RSS measured from /proc.

The RSS test is benchmark-style: a real `agentmortem collector` on a fresh data
directory with a small in-flight budget, hammered by many concurrent HTTP and gRPC
senders of large requests that retry every refusal at once. It asserts a bound derived
from the settings with a wide margin (README "Memory"), never a timing; the peak is the
kernel's own (VmHWM).
"""

from __future__ import annotations

import time

import grpc
import httpx

from tests.support.otlp_clients import EXPORT_METHOD, hold_declared_body, make_request
from tests.support.pressure import Template, apply_pressure
from tests.support.servers import query_data_dir

MIB = 1024 * 1024


def test_rss_stays_bounded_under_overload_and_nothing_acknowledged_is_lost(server_factory):
    budget, group, spans = 32 * MIB, 8 * MIB, 8000
    srv = server_factory(
        {"AGENTMORTEM_MAX_INFLIGHT_BYTES": str(budget), "AGENTMORTEM_BATCH_MAX_BYTES": str(group)},
        command="collector",
    )
    result = apply_pressure(
        srv.proc.pid, srv.http_url, srv.grpc_target, http_senders=20, grpc_senders=20, spans=spans, seconds=12
    )
    assert srv.stop() == 0, srv.log()
    out = result.outcome
    assert not out.unexpected, out.unexpected
    assert out.answers["http 200"] and out.answers["grpc OK"], out.answers
    assert out.answers["http 429"] and out.answers["grpc RESOURCE_EXHAUSTED"], out.answers
    assert out.refusals_without_hint == 0  # every refusal carried Retry-After / RetryInfo

    stored = dict(query_data_dir(srv.data_dir, "SELECT TraceId, count() FROM otel_traces GROUP BY TraceId"))
    lost = [trace for trace in out.acked_traces if stored.get(trace, 0) < spans]
    assert not lost, f"{len(lost)} of {len(out.acked_traces)} acknowledged requests are not stored"

    # README "Memory", with wide margins: the idle process + the budget (held as bytes; x4
    # covers gRPC reads, the one request being decoded and the allocator) + one insert's
    # working memory (30 MiB + 20x its largest request + 8x the rest of its group) + 384 MiB
    # for chDB's merges, caches and slack.
    insert = 32 * MIB + 24 * len(Template.of(spans).body) + 8 * group
    bound = result.idle_rss_kib * 1024 + 4 * budget + insert + 384 * MIB
    assert result.hwm_kib * 1024 < bound, (
        f"peak RSS {result.hwm_kib // 1024} MiB over the bound {bound // MIB} MiB "
        f"(idle {result.idle_rss_kib // 1024} MiB; answers {dict(out.answers)})"
    )


def test_budget_is_reserved_before_a_body_is_read(server_factory):
    held_body, _ = make_request(15_000, "held")
    small_body, _ = make_request(20, "small")
    budget = len(held_body) + len(small_body) // 2  # room for the held request, not for both
    srv = server_factory({"AGENTMORTEM_MAX_INFLIGHT_BYTES": str(budget)}, command="collector")
    url, headers = f"{srv.http_url}/v1/traces", {"content-type": "application/x-protobuf"}
    held = hold_declared_body(srv.http_port, len(held_body))
    try:
        deadline = time.monotonic() + 10
        while True:  # the held request reserves its declared length as soon as its headers are in
            response = httpx.post(url, content=small_body, headers=headers)
            if response.status_code != 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert response.status_code == 429, response.text
        assert response.headers["retry-after"] == "1"
        with grpc.insecure_channel(srv.grpc_target) as channel:
            export = channel.unary_unary(EXPORT_METHOD, request_serializer=None, response_deserializer=None)
            try:
                export(small_body, timeout=10)
            except grpc.RpcError as err:
                assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err
                assert "google.rpc.retryinfo-bin" in dict(err.trailing_metadata() or ())
            else:
                raise AssertionError("a gRPC export was admitted past the budget")

        held.sendall(held_body)  # the held request itself goes through
        answer = held.recv(65536)
    finally:
        held.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert httpx.post(url, content=small_body, headers=headers).status_code == 200  # its share is back
