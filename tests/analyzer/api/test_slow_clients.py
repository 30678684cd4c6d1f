"""Slow and excess clients on the API port of a real `agentmortem serve`: trickled or stalled
requests get 408 and are closed, silent connections are closed, the connection cap answers
503 and spares the connections it holds — while the API keeps serving well-behaved clients."""

from __future__ import annotations

import uuid

import httpx
import orjson

from tests.support.agentmetrics_runs import failing_run
from tests.support.slow_sockets import Background, SlowClients, assert_http_cap_holds, drive, http_request


def _runs(client: httpx.Client, api: str) -> int:
    return client.get(f"{api}/v1/runs").status_code


def test_api_trickled_stalled_and_silent_connections_are_closed_while_others_are_served(server_factory):
    srv = server_factory({"AGENTMORTEM_HEADER_TIMEOUT_SECONDS": "1", "AGENTMORTEM_BODY_TIMEOUT_SECONDS": "3"})
    port = srv.ports["api_port"]
    api = f"http://127.0.0.1:{port}"
    slow = SlowClients.open(port, http_request("/v1/runs", orjson.dumps(failing_run(str(uuid.uuid4()))),
                                               "application/json"))
    with Background(lambda client: _runs(client, api)) as normal:
        drive(slow.all, seconds=20)

    slow.assert_cut_off("1", "3", "1024")
    normal.assert_served_during(slow.all)
    assert "Traceback" not in srv.log()


def test_api_connection_cap_answers_503_and_spares_the_connections_it_holds(server_factory):
    srv = server_factory({"AGENTMORTEM_MAX_CONNECTIONS": "20", "AGENTMORTEM_HEADER_TIMEOUT_SECONDS": "60"})
    port = srv.ports["api_port"]

    def fresh() -> int:
        response = httpx.get(f"http://127.0.0.1:{port}/v1/runs", timeout=10)
        assert response.status_code != 503 or response.headers["retry-after"] == "1"
        return response.status_code

    assert_http_cap_holds(port, 20, http_request("/v1/runs", method="GET"), fresh)
