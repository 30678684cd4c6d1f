"""Test helper: extreme trace shapes emitted through the OTel SDK — a chain of spans thousands
of levels deep (a recursion that failed at the bottom, the error bubbling up every level) and
a run tens of thousands of calls wide — stored the way the collector stores them. The deep-tree
tests and `tests/benchmarks/bench_deep_trees.py` use them."""

from __future__ import annotations

import json
from collections.abc import Callable, Container

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, Status, StatusCode

from agentmortem.platform.store import Store
from tests.support.demo_traces import START_NS, store_spans

MS = 10**6
ERROR = ("ConnectionError", "resolver connection refused")


def _tracer() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "deep-agents"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("agentmortem.test.trees"), exporter


def _agent(tracer: trace.Tracer, name: str, parent: Span | None, start_ns: int) -> Span:
    ctx = trace.set_span_in_context(parent) if parent is not None else None
    return tracer.start_span(f"invoke_agent {name}", context=ctx, start_time=start_ns, attributes={
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name, "gen_ai.provider.name": "openai"})


def _tool(tracer: trace.Tracer, name: str, args: dict, parent: Span, start_ns: int) -> Span:
    return tracer.start_span(f"execute_tool {name}", context=trace.set_span_in_context(parent), start_time=start_ns,
                             attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                                         "gen_ai.tool.call.arguments": json.dumps(args)})


def _fail(span: Span) -> None:
    span.set_status(Status(StatusCode.ERROR, ERROR[1]))
    span.set_attribute("error.type", ERROR[0])


def _id(span: Span) -> str:
    return format(span.get_span_context().span_id, "016x")


def chain(depth: int, agents: bool = False, start_ns: int = START_NS) -> tuple[list[ReadableSpan], list[str]]:
    """An agent whose spans nest `depth` levels deep (tool calls, or with `agents` each level a
    sub-agent), 1 ms apart; the deepest fails and every level above fails with it. Returns the
    spans and their ids from the top down."""
    tracer, exporter = _tracer()
    opened: list[Span] = [_agent(tracer, "deep", None, start_ns)]
    for level in range(1, depth):
        at = start_ns + level * MS
        opened.append(_agent(tracer, f"deep_{level}", opened[-1], at) if agents
                      else _tool(tracer, "resolve", {"level": level}, opened[-1], at))
    ids = [_id(s) for s in opened]
    for level, span in reversed(list(enumerate(opened))):  # innermost first, as a bubbling error ends them
        _fail(span)
        span.end(end_time=start_ns + (2 * depth - level) * MS)
    return list(exporter.get_finished_spans()), ids


def wide(width: int, failing: Container[int], start_ns: int = START_NS, tool: Callable[[int], str] = lambda i: "fetch",
         agent: Callable[[int], bool] = lambda i: False) -> tuple[list[ReadableSpan], list[str]]:
    """An agent that made `width` calls one after the other: call i runs `tool(i)`, or is a
    sub-agent when `agent(i)`; the calls in `failing` (0-based) fail. Returns the spans and the ids
    of the agent then its calls, in start order."""
    tracer, exporter = _tracer()
    root = _agent(tracer, "wide", None, start_ns)
    ids = [_id(root)]
    for i in range(width):
        at = start_ns + (i + 1) * MS
        call = _agent(tracer, f"helper_{i}", root, at) if agent(i) else _tool(tracer, tool(i), {"page": i}, root, at)
        ids.append(_id(call))
        if i in failing:
            _fail(call)
        call.end(end_time=at + MS // 2)
    root.end(end_time=start_ns + (width + 2) * MS)
    return list(exporter.get_finished_spans()), ids


def store_all(store: Store, spans: list[ReadableSpan], chunk: int = 10_000) -> str:
    """Store spans in collector-sized requests; returns their trace id."""
    for i in range(0, len(spans), chunk):
        store_spans(store, spans[i:i + chunk])
    return format(spans[0].context.trace_id, "032x")
