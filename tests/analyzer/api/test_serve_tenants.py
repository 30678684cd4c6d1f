"""Cross-tenant takeover, end to end against `agentmortem serve` with keys required.

`alpha` exports a failing run over OTLP/HTTP (a secret in its tool error) and posts an
AgentMetrics run `order-42`. `beta`, with its own key, exports over OTLP/gRPC a run that
reuses alpha's trace id and root span id, posts one more span under alpha's failing tool
span (OTLP/HTTP protobuf), and streams an error event and `run_end` to alpha's AgentMetrics
run id. Every exporter is the real OTel SDK one over a real socket; the server analyzes
on its own schedule. Neither tenant may see or change the other's run.
"""

from __future__ import annotations

import time

import httpx
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator

from agentmortem.demo.scenarios import Scenario, play
from tests.support.agentmetrics_runs import failing_run
from tests.support.demo_traces import SharedIds
from tests.support.servers import create_key_cli, wait_for
from tests.support.takeover import INJECTED, SECRET, impostor, order_bot, raw_span

RUN_ID = "order-42"  # an AgentMetrics run id anyone can guess


def export(exporter, scenario: Scenario, start_ns: int, ids: IdGenerator | None = None) -> dict:
    """Play a scenario through a real SDK exporter; its marks plus `trace_id`."""
    provider = TracerProvider(resource=Resource.create({"service.name": "agents"}), id_generator=ids)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans: list = []
    provider.add_span_processor(SimpleSpanProcessor(_Collect(spans)))
    marks = play(scenario, provider.get_tracer("tenants"), "genai", start_ns)
    provider.shutdown()
    return {**marks, "trace_id": format(spans[0].context.trace_id, "032x")}


class _Collect:
    """A span exporter that keeps what it is given (to read the ids the SDK chose)."""

    def __init__(self, into: list) -> None:
        self.into = into

    def export(self, spans):  # noqa: ANN001
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.into.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 0) -> bool:
        return True


def test_a_tenant_cannot_take_over_or_read_another_tenants_run(server_factory, tmp_path):
    data = tmp_path / "srv"
    keys = {t: create_key_cli(data, t) for t in ("alpha", "beta")}
    srv = server_factory({"AGENTMORTEM_ANALYZER_INTERVAL_SECONDS": "0.5", "AGENTMORTEM_REQUIRE_AUTH": "true",
                          "AGENTMORTEM_SETTLE_SECONDS": "1", "AGENTMORTEM_ABANDON_AFTER_SECONDS": "2"},
                         data_dir=data)
    api = f"http://127.0.0.1:{srv.ports['api_port']}"
    auth = {t: {"Authorization": f"Bearer {k}"} for t, k in keys.items()}
    now = time.time_ns() - 3600 * 10**9

    alpha = export(HttpExporter(endpoint=f"{srv.http_url}/v1/traces", headers=auth["alpha"], timeout=10),
                   Scenario("order_bot", "", "", order_bot), now)
    trace, run = alpha["trace_id"], alpha["run"]
    beta = export(GrpcExporter(endpoint=srv.grpc_target, insecure=True,
                               headers=(("authorization", f"Bearer {keys['beta']}"),), timeout=10),
                  Scenario("impostor", "", "", impostor), now + 10**9, SharedIds(trace, run))
    assert (beta["trace_id"], beta["run"]) == (trace, run)
    poison = raw_span(trace, "00000000000000be", alpha["tool"], "execute_tool poison", f"{INJECTED} in alpha's tool",
                      now + 2 * 10**9)
    sent = httpx.post(f"{srv.http_url}/v1/traces", content=poison.SerializeToString(),
                      headers={**auth["beta"], "content-type": "application/x-protobuf"}, timeout=10)
    assert sent.status_code == 200, sent.text

    with httpx.Client(base_url=api, timeout=10) as http:
        owned = failing_run(RUN_ID)
        owned["error"]["message"] = SECRET
        assert http.post("/v1/runs", json=owned, headers=auth["alpha"]).status_code == 202
        for event in ({"event_id": "x1", "type": "error", "timestamp": "2025-01-15T10:30:05Z",
                       "error": {"type": "Injected", "message": INJECTED}},
                      {"event_id": "x2", "type": "run_end", "timestamp": "2025-01-15T10:30:06Z"}):
            assert http.post(f"/v1/runs/{RUN_ID}/events", json=event, headers=auth["beta"]).status_code == 202

        def analyzed() -> bool:
            return all(http.get(f"/v1/runs/{ident}/explanation", headers=auth[t]).status_code == 200
                       for t, ident in (("alpha", run), ("beta", run), ("alpha", RUN_ID), ("beta", RUN_ID)))

        wait_for(analyzed, 60, srv.log)

        mine = http.get(f"/v1/runs/{run}", headers=auth["alpha"]).json()
        assert (mine["tenant"], mine["agent_id"], mine["root_cause_span_id"]) == ("alpha", "alpha-order-agent",
                                                                                   alpha["tool"])
        theirs = http.get(f"/v1/runs/{run}", headers=auth["beta"]).json()
        assert (theirs["tenant"], theirs["agent_id"]) == ("beta", "beta-impostor-agent")
        order = http.get(f"/v1/runs/{RUN_ID}", headers=auth["alpha"]).json()
        assert (order["tenant"], order["agent_id"]) == ("alpha", "trip-planner")
        assert http.get(f"/v1/runs/{RUN_ID}", headers=auth["beta"]).json()["trace_id"] != order["trace_id"]

        for path in (f"/v1/runs/{run}", f"/v1/runs/{run}/explanation", f"/v1/runs/{run}/events", f"/runs/{run}",
                     f"/v1/runs/{RUN_ID}", f"/v1/runs/{RUN_ID}/explanation", f"/runs/{RUN_ID}",
                     "/v1/signals?limit=1000", "/v1/runs?format=csv", "/?limit=1000"):
            by_alpha, by_beta = (http.get(path, headers=auth[t]) for t in ("alpha", "beta"))
            assert by_alpha.status_code == by_beta.status_code == 200, path
            assert INJECTED not in by_alpha.text and "beta-impostor-agent" not in by_alpha.text, path
            assert SECRET not in by_beta.text and "alpha-order-agent" not in by_beta.text, path
    assert srv.stop() == 0
