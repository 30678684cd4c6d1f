"""Memory under overload: many real senders of large requests against a collector subprocess.

Shared by the RSS-bound test and `tests/benchmarks/bench_memory.py`. Senders are plain
OTLP clients (httpx for HTTP, a gRPC channel each) that retry refusals at once, as an
aggressive exporter would; each request carries one fresh trace id, so what was
acknowledged can be checked against what was stored. The server's resident memory is
read from `/proc/<pid>/status` (VmRSS sampled, VmHWM at the end: the kernel's own peak).
"""

from __future__ import annotations

import gzip
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.otlp_clients import EXPORT_METHOD


def genai_request(n_spans: int, spans_per_trace: int = 50) -> bytes:
    """One request of `n_spans` spans shaped like an agent's LLM and tool calls (~15 attributes each),
    a new trace (with a root span) every `spans_per_trace` spans."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    for key, value in (("service.name", "bench-agent"), ("deployment.environment", "bench"),
                       ("telemetry.sdk.language", "python"), ("telemetry.sdk.name", "opentelemetry")):
        kv = rs.resource.attributes.add()
        kv.key, kv.value.string_value = key, value
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "opentelemetry.instrumentation.openai_v2", "2.4b0"
    trace_id = uuid.uuid4().bytes
    now = time.time_ns()
    for i in range(n_spans):
        span = ss.spans.add()
        starts_trace = i % spans_per_trace == 0
        if starts_trace and i:
            trace_id = uuid.uuid4().bytes
        span.trace_id = trace_id
        span.span_id = uuid.uuid4().bytes[:8]
        span.parent_span_id = b"" if starts_trace else uuid.uuid4().bytes[:8]
        span.name = "chat gpt-4o-mini" if i % 3 else "execute_tool search"
        span.kind = 3
        span.start_time_unix_nano = now + i * 1000
        span.end_time_unix_nano = now + i * 1000 + 250_000_000
        attrs = {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.response.id": f"chatcmpl-{i}", "gen_ai.agent.name": "researcher",
            "gen_ai.conversation.id": "conv-1", "server.address": "api.openai.com",
            "gen_ai.response.finish_reasons": None, "gen_ai.output.type": "text",
        }
        for key, value in attrs.items():
            kv = span.attributes.add()
            kv.key = key
            if value is None:
                kv.value.array_value.values.add().string_value = "stop"
            else:
                kv.value.string_value = value
        for key, number in (("gen_ai.usage.input_tokens", 1200 + i), ("gen_ai.usage.output_tokens", 300),
                            ("gen_ai.request.max_tokens", 1024), ("server.port", 443)):
            kv = span.attributes.add()
            kv.key, kv.value.int_value = key, number
        kv = span.attributes.add()
        kv.key, kv.value.double_value = "gen_ai.request.temperature", 0.2
    return request.SerializeToString()


@dataclass(frozen=True)
class Template:
    """A one-trace request whose trace id each send replaces with a fresh one."""

    body: bytes
    trace_id: bytes

    @classmethod
    def of(cls, n_spans: int) -> Template:
        body = genai_request(n_spans, spans_per_trace=n_spans)
        return cls(body, ExportTraceServiceRequest.FromString(body).resource_spans[0].scope_spans[0].spans[0].trace_id)

    def fresh(self) -> tuple[bytes, str]:
        """The body with a new trace id on every span; returns (body, trace id hex)."""
        trace_id = uuid.uuid4().bytes
        return self.body.replace(self.trace_id, trace_id), trace_id.hex()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


@dataclass
class Outcome:
    """What the senders saw."""

    acked_traces: list[str] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)  # "http 429", "grpc RESOURCE_EXHAUSTED", …
    refusals_without_hint: int = 0  # retryable refusals lacking Retry-After / RetryInfo
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, answer: str, trace: str | None = None, hinted: bool = True) -> None:
        with self.lock:
            self.answers[answer] += 1
            if trace is not None:
                self.acked_traces.append(trace)
            if not hinted:
                self.refusals_without_hint += 1


def _http_sender(url: str, template: Template, use_gzip: bool, stop: threading.Event, out: Outcome) -> None:
    headers = {"content-type": "application/x-protobuf"}
    if use_gzip:
        headers["content-encoding"] = "gzip"
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            body, trace = template.fresh()
            payload = gzip.compress(body, 1) if use_gzip else body
            while not stop.is_set():
                try:
                    response = client.post(url, content=payload, headers=headers)
                except httpx.HTTPError as exc:
                    out.note(f"http {type(exc).__name__}")
                    time.sleep(0.02)
                    continue
                code = response.status_code
                if code == 200:
                    out.note("http 200", trace)
                    break
                if code in (429, 503):
                    out.note(f"http {code}", hinted="retry-after" in response.headers)
                    time.sleep(0.02)  # an impatient client: far sooner than Retry-After asks
                    continue
                with out.lock:
                    out.unexpected.append(f"http {code}: {response.text[:200]}")
                return


def _grpc_sender(target: str, template: Template, stop: threading.Event, out: Outcome) -> None:
    retryable = (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE)
    with grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 256 << 20)]) as channel:
        export = channel.unary_unary(EXPORT_METHOD, request_serializer=None, response_deserializer=None)
        while not stop.is_set():
            body, trace = template.fresh()
            while not stop.is_set():
                try:
                    export(body, timeout=60)
                except grpc.RpcError as err:
                    code = err.code()
                    if code not in retryable:
                        with out.lock:
                            out.unexpected.append(f"grpc {code.name}: {err.details()}")
                        return
                    hinted = "google.rpc.retryinfo-bin" in dict(err.trailing_metadata() or ())
                    out.note(f"grpc {code.name}", hinted=hinted)
                    time.sleep(0.02)
                    continue
                out.note("grpc OK", trace)
                break


@dataclass
class Pressure:
    """One overload episode: its senders' outcome and the server's memory."""

    outcome: Outcome
    peak_rss_kib: int  # highest VmRSS sampled during the episode
    hwm_kib: int  # VmHWM after it: the peak resident set since the process started
    idle_rss_kib: int  # VmRSS before the senders started
    peak_inflight_bytes: float  # highest `agentmortem_writer_queue_bytes` sampled from /metrics


def apply_pressure(
    pid: int, http_url: str | None, grpc_target: str | None, *, http_senders: int, grpc_senders: int,
    spans: int, seconds: float, use_gzip: bool = False,
) -> Pressure:
    """Run the senders for `seconds` against a server process, sampling its memory."""
    template = Template.of(spans)
    out = Outcome()
    stop = threading.Event()
    idle = memory_kib(pid)["VmRSS"]
    peak = [idle, 0.0]

    def sample() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], memory_kib(pid)["VmRSS"])
                except FileNotFoundError:  # the server died; the caller's checks will say so
                    return
                if http_url is not None:
                    peak[1] = max(peak[1], _gauge(client, f"{http_url}/metrics", "agentmortem_writer_queue_bytes"))
                time.sleep(0.02)

    threads = [threading.Thread(target=sample, daemon=True)]
    threads += [threading.Thread(target=_http_sender, args=(f"{http_url}/v1/traces", template, use_gzip, stop, out),
                                 daemon=True) for _ in range(http_senders)]
    threads += [threading.Thread(target=_grpc_sender, args=(grpc_target, template, stop, out), daemon=True)
                for _ in range(grpc_senders)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(90)
    status = memory_kib(pid)
    return Pressure(out, max(peak[0], status["VmRSS"]), status["VmHWM"], idle, peak[1])


def _gauge(client: httpx.Client, url: str, name: str) -> float:
    try:
        text = client.get(url).text
    except httpx.HTTPError:
        return 0.0
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0
