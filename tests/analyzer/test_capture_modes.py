"""Same run, content on spans or only in log records: the same verdict and a post-mortem that quotes it.

The official `opentelemetry-instrumentation-openai-v2` (driven by a scripted OpenAI stub, exported
over real OTLP/HTTP to `agentmortem serve`) puts message content on its `chat` spans with
SPAN_ONLY and only into log records with EVENT_ONLY. The analyzer must reach the same failure
class and root cause either way, and in EVENT_ONLY mode quote content stored nowhere but `otel_logs`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.support.servers import query_data_dir

MODES = ("SPAN_ONLY", "EVENT_ONLY")
EXPECTED = {"ungrounded": "ungrounded_output", "loop": "loop", "empty": "empty_output", "healthy": "",
            "streaming": ""}
# (openai-v2 2.4b0 records duration and token metrics, not time to first chunk: its stream wrapper is
# its own; the per-span figures from exemplars are tested in tests/analyzer/api/test_measurements.py)


def produce(srv, scenario: str, mode: str) -> str:
    env = {**os.environ, "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
           "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": mode}
    out = subprocess.run([sys.executable, "-m", "tests.support.producers.openai_v2_capture", scenario, srv.http_url],
                         env=env, capture_output=True, text=True, timeout=120, check=True)
    (trace_id,) = out.stdout.split()
    return trace_id


def api(srv) -> str:
    return f"http://127.0.0.1:{srv.ports['api_port']}"


def explanation(srv, trace_id: str, timeout: float = 60) -> dict:
    """The run's post-mortem, once the analyzer has written it."""
    deadline = time.monotonic() + timeout
    url = f"{api(srv)}/v1/runs/{trace_id}/explanation"
    while True:
        response = httpx.get(url, timeout=10)
        if response.status_code == 200:
            return response.json()
        assert time.monotonic() < deadline, f"{trace_id}: {response.status_code} {response.text}\n{srv.log()}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[tuple[str, str], dict]:
    """Every scenario in both modes, through one server."""
    from tests.support.servers import start_server

    srv = start_server(tmp_path_factory.mktemp("capture"), {
        "AGENTMORTEM_ANALYZER_INTERVAL_SECONDS": "0.5", "AGENTMORTEM_SETTLE_SECONDS": "1"})
    try:
        traces = {(s, m): produce(srv, s, m) for s in EXPECTED for m in MODES}
        found = {key: explanation(srv, trace_id) | {"trace_id": trace_id} for key, trace_id in traces.items()}
        for verdict in found.values():
            verdict["events"] = httpx.get(f"{api(srv)}/v1/runs/{verdict['run_id']}/events", timeout=10).json()
    finally:
        assert srv.stop() == 0, srv.log()
    in_spans = dict(query_data_dir(srv.data_dir, (
        "SELECT TraceId, countIf(has(mapKeys(SpanAttributes), 'gen_ai.input.messages')"
        " OR has(mapKeys(SpanAttributes), 'gen_ai.output.messages')) FROM otel_traces GROUP BY TraceId")))
    log_records = dict(query_data_dir(srv.data_dir, "SELECT TraceId, count() FROM otel_logs GROUP BY TraceId"))
    for verdict in found.values():
        verdict["in_spans"] = in_spans.get(verdict["trace_id"], 0)
        verdict["log_records"] = log_records.get(verdict["trace_id"], 0)
    return found


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_both_capture_modes_reach_the_same_verdict(verdicts, scenario):
    on_spans, in_logs = verdicts[(scenario, "SPAN_ONLY")], verdicts[(scenario, "EVENT_ONLY")]
    assert on_spans["in_spans"] > 0 and on_spans["log_records"] == 0  # the modes differ as documented
    assert in_logs["in_spans"] == 0 and in_logs["log_records"] > 0
    assert on_spans["failure_class"] == in_logs["failure_class"] == EXPECTED[scenario]
    span_name = {v["trace_id"]: v["where"] and v["where"].get("span_name") for v in (on_spans, in_logs)}
    assert len(set(span_name.values())) == 1, span_name


def test_the_post_mortem_quotes_content_that_exists_only_in_log_records(verdicts):
    verdict = verdicts[("ungrounded", "EVENT_ONLY")]
    assert "118.40" in verdict["markdown"], verdict["markdown"]



def test_the_api_shows_a_call_s_messages_from_its_log_records(verdicts):
    chats = [e for e in verdicts[("ungrounded", "EVENT_ONLY")]["events"] if e["canonical"].get("category") == "llm"]
    assert len(chats) == 2
    assert "118.40" in chats[-1]["canonical"]["output_messages"]
    assert "Where is my order A17" in chats[0]["canonical"]["input_messages"]
