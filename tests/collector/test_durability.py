"""Nothing acknowledged is lost: SIGKILL mid-stream, and overload with retrying clients."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.otlp_clients import (
    AckLog,
    free_port,
    grpc_send_until_acked,
    http_send_until_acked,
    make_request,
)
from tests.support.servers import query_data_dir, start_server


def _stored_ids(data_dir) -> set[str]:
    return {row[0] for row in query_data_dir(data_dir, "SELECT SpanId FROM otel_traces")}


def test_sigkill_mid_stream_loses_no_acknowledged_span(tmp_path):
    data_dir = tmp_path / "killed"
    env = {"AGENTMORTEM_OTLP_HTTP_PORT": str(free_port())}
    first = start_server(data_dir, env)
    url = f"{first.http_url}/v1/traces"
    log = AckLog()
    stop = threading.Event()

    def stream(worker: int) -> None:
        n = 0
        while not stop.is_set():
            body, ids = make_request(50, f"w{worker}-{n}")
            if not http_send_until_acked(url, body, log, ids, time.monotonic() + 60):
                return
            n += 1

    workers = [threading.Thread(target=stream, args=(w,)) for w in range(3)]
    for w in workers:
        w.start()
    while len(log.acked) < 1500:  # well into the stream
        time.sleep(0.02)
    first.kill()
    acked_before_kill = len(log.acked)
    second = start_server(data_dir, env)
    time.sleep(1.0)  # the clients retry through the outage and keep streaming
    stop.set()
    for w in workers:
        w.join(90)
    assert second.stop() == 0, second.log()

    stored = _stored_ids(data_dir)
    missing = set(log.acked) - stored
    assert not missing, f"{len(missing)} acknowledged spans lost"
    assert len(log.acked) > acked_before_kill  # the stream went on after the restart
    assert log.refusals.get("connection", 0) > 0  # the outage was real
    assert not list((data_dir / "db" / "spool").glob("ingest-*"))  # nothing staged is left behind


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_overload_answers_retryable_and_retries_lose_nothing(server_factory, protocol):
    srv = server_factory(
        {"AGENTMORTEM_MAX_INFLIGHT_SPANS": "60", "AGENTMORTEM_BATCH_MAX_DELAY_MS": "150"}
    )
    log = AckLog()
    send = http_send_until_acked if protocol == "http" else grpc_send_until_acked
    target = f"{srv.http_url}/v1/traces" if protocol == "http" else srv.grpc_target
    requests = [make_request(40, f"{protocol}-{i}") for i in range(24)]
    results: list[bool] = []

    def client(chunk):
        for body, ids in chunk:
            results.append(send(target, body, log, ids, time.monotonic() + 60))

    threads = [threading.Thread(target=client, args=(requests[i::6],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(results) and len(results) == 24

    expected_refusal = "429" if protocol == "http" else "RESOURCE_EXHAUSTED"
    assert log.refusals.get(expected_refusal, 0) > 0, log.refusals
    assert log.retry_after == ({"1"} if protocol == "http" else {"retryinfo"})
    srv.stop()
    stored = _stored_ids(srv.data_dir)
    assert set(log.acked) <= stored
    assert len(log.acked) == len(stored) == 24 * 40
