"""Who&When failure logs (multi-agent task logs with the agent and step that caused each failure) as OTLP traces.

The shape of issue 19 — how such runs arrive: one trace per task, a root span `invoke_workflow {task}`
(`gen_ai.operation.name=invoke_workflow`, the question in `gen_ai.input.messages`), one child span per
message in order, `invoke_agent {agent}` with `gen_ai.agent.name` and the message in
`gen_ai.output.messages`, and on the root a `gen_ai.evaluation.result` event (`task_success`, score 0,
label `fail`, and, when the expected answer is given, `gen_ai.evaluation.explanation` = `expected answer: …`).
Spans come from the real OTel SDK (explicit times, one second per message), encoded as OTLP protobuf.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

DEV_SET = Path(__file__).resolve().parents[3] / "shared" / "data" / "whowhen-algorithm-generated"
_SECOND = 1_000_000_000


@dataclass(frozen=True)
class FailureLog:
    """One failed task: its question, expected answer, messages (agent, text) and the labelled cause."""

    name: str
    question: str
    expected: str
    messages: tuple[tuple[str, str], ...]
    mistake_agent: str
    mistake_step: int


def load_logs(folder: Path = DEV_SET) -> list[FailureLog]:
    """Every `N.json` of a Who&When folder, in file-number order."""
    logs = []
    for path in sorted(folder.glob("*.json"), key=lambda p: int(p.stem) if p.stem.isdigit() else 10**9):
        raw = json.loads(path.read_text())
        messages = tuple((str(m.get("name") or m.get("role") or ""), str(m.get("content") or ""))
                         for m in raw["history"])
        logs.append(FailureLog(path.stem, str(raw["question"]), str(raw.get("ground_truth", "")), messages,
                               str(raw["mistake_agent"]), int(raw["mistake_step"])))
    return logs


@dataclass(frozen=True)
class SentLog:
    """A log sent as a trace: its trace id and the span id of each message, in order."""

    log: FailureLog
    trace_id: str
    message_spans: tuple[str, ...]


def _text_messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def as_request(log: FailureLog, start_ns: int, with_expected: bool, service: str = "whowhen") -> tuple[bytes, SentLog]:
    """The log as one serialized `ExportTraceServiceRequest`, and where each message went."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("whowhen.replay")
    end_ns = start_ns + (len(log.messages) + 1) * _SECOND
    task = log.question.splitlines()[0][:80] if log.question else log.name
    root = tracer.start_span(f"invoke_workflow {task}", kind=SpanKind.INTERNAL, start_time=start_ns, attributes={
        "gen_ai.operation.name": "invoke_workflow", "gen_ai.input.messages": _text_messages("user", log.question)})
    context = trace.set_span_in_context(root)
    spans = []
    for i, (agent, text) in enumerate(log.messages):
        at = start_ns + (i + 1) * _SECOND
        span = tracer.start_span(f"invoke_agent {agent}", context=context, kind=SpanKind.INTERNAL, start_time=at,
                                 attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent,
                                             "gen_ai.output.messages": _text_messages("assistant", text)})
        span.end(end_time=at + _SECOND // 2)
        spans.append(format(span.get_span_context().span_id, "016x"))
    evaluation = {"gen_ai.evaluation.name": "task_success", "gen_ai.evaluation.score.value": 0.0,
                  "gen_ai.evaluation.score.label": "fail"}
    if with_expected:
        evaluation["gen_ai.evaluation.explanation"] = f"expected answer: {log.expected}"
    root.add_event("gen_ai.evaluation.result", evaluation, timestamp=end_ns)
    root.end(end_time=end_ns)
    body = encode_spans(exporter.get_finished_spans()).SerializeToString()
    return body, SentLog(log, format(root.get_span_context().trace_id, "032x"), tuple(spans))
