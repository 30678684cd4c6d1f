"""Failure attribution on Who&When: does the post-mortem name the agent and the step that caused a failure?

Starts `agentmortem serve` on the embedded default in a temporary directory, sends every log of the
development set (`../shared/data/whowhen-algorithm-generated`, 126 failed multi-agent task logs) as an
OTLP/HTTP trace in the shape of `tests/support/whowhen.py` — twice, with and without the expected
answer in the evaluation — waits for each run's explanation and scores its `root_cause_span_id` by
exact match: the agent (the span's `gen_ai.agent.name` = `mistake_agent`) and the step (its message
index = `mistake_step`). Rules only; a run with no root cause counts as wrong. Prints the accuracies,
the share of runs given a root cause, and the failure classes named.

    python tests/benchmarks/whowhen_attribution.py [--data DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.servers import start_server  # noqa: E402
from tests.support.whowhen import DEV_SET, SentLog, as_request, load_logs  # noqa: E402


def _explanations(api: str, sent: list[SentLog], timeout: float) -> dict[str, dict]:
    found: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=10) as client:
        while len(found) < len(sent) and time.monotonic() < deadline:
            for s in sent:
                if s.trace_id not in found:
                    r = client.get(f"{api}/v1/runs/{s.trace_id}/explanation")
                    if r.status_code == 200:
                        found[s.trace_id] = r.json()
            time.sleep(0.5)
    return found


def score(sent: list[SentLog], found: dict[str, dict]) -> dict[str, float | int | Counter]:
    agent = step = attributed = 0
    classes: Counter = Counter()
    for s in sent:
        x = found.get(s.trace_id)
        classes[(x or {}).get("failure_class") or "(none)"] += 1
        span = (x or {}).get("root_cause_span_id", "")
        if span not in s.message_spans:
            continue
        attributed += 1
        index = s.message_spans.index(span)
        agent += s.log.messages[index][0] == s.log.mistake_agent
        step += index == s.log.mistake_step
    n = max(len(sent), 1)
    return {"runs": len(sent), "analysed": len(found), "attributed": attributed / n, "agent": agent / n,
            "step": step / n, "classes": classes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEV_SET, help="a folder of Who&When N.json logs")
    parser.add_argument("--limit", type=int, default=0, help="only the first N logs")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the explanations")
    args = parser.parse_args()
    logs = load_logs(args.data)[: args.limit or None]
    print(f"{len(logs)} logs from {args.data}")
    with tempfile.TemporaryDirectory() as tmp:
        srv = start_server(Path(tmp), {"AGENTMORTEM_ANALYZER_INTERVAL_SECONDS": "0.5", "AGENTMORTEM_SETTLE_SECONDS": "1"})
        api = f"http://127.0.0.1:{srv.ports['api_port']}"
        try:
            results = {}
            start = time.time_ns() - 3600 * 10**9
            for with_expected in (True, False):
                sent = []
                with httpx.Client(timeout=30) as client:
                    for i, log in enumerate(logs):
                        body, s = as_request(log, start + i * 60 * 10**9, with_expected)
                        r = client.post(f"{srv.http_url}/v1/traces", content=body,
                                        headers={"content-type": "application/x-protobuf"})
                        r.raise_for_status()
                        sent.append(s)
                results[with_expected] = score(sent, _explanations(api, sent, args.timeout))
        finally:
            srv.stop()
    for with_expected, r in results.items():
        label = "with the expected answer   " if with_expected else "without the expected answer"
        print(f"{label}: agent {r['agent']:.1%}  step {r['step']:.1%}  (root cause named for "
              f"{r['attributed']:.0%} of {r['runs']} runs; {r['analysed']} analysed)")
        print(f"    failure classes: {dict(r['classes'].most_common())}")


if __name__ == "__main__":
    main()
