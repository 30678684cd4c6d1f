"""Synthetic agent runs at benchmark scale: a few template traces emitted through the OTel SDK (a
20-span healthy run in both conventions, plus every failure scenario), stored as the collector
stores them, then copied inside ClickHouse with fresh trace/span ids and shifted times (one
`INSERT … SELECT` per template kind: column-wise, no Python per span). Each copy of a long run
gets its own cities and country, so no two runs share a conversation (as real runs do not;
text-keyed caches in the rules would otherwise always hit). Used by the analyzer and API benchmarks.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentmortem.demo.emit import FLAVOURS, Emitter
from agentmortem.demo.scenarios import AGENT, SCENARIOS, TOOLS, play
from agentmortem.platform.schema import INSERT_COLUMNS
from agentmortem.platform.store import Store
from tests.support.demo_traces import store_spans

DAY_NS = 86_400 * 10**9
LONG_RUN_SPANS = 20  # `long_run`'s spans: the agent, 9 model + 9 tool calls, the answering model call


def offered_tools(sets: int) -> list[dict]:
    """The demo tools (3), and `sets - 1` more variants of them with longer descriptions: real agents
    offer tens of tools, kilobytes of JSON schema on every model call."""
    tools = list(TOOLS)
    for i in range(1, sets):
        tools += [{**t, "name": f"{t['name']}_{i}", "description": f"{t['description']} (variant {i}: when to use "
                   "it, what it returns, and its limits, as real tool descriptions say)"} for t in TOOLS]
    return tools


def long_run(em: Emitter, tools: list[dict]) -> dict:
    """A healthy 20-span run: 9 model calls each followed by a tool call, then the answer."""
    with em.agent(AGENT, "Plan a week of weather-aware sightseeing in Italy") as run:
        for i in range(9):
            em.llm(tool_calls=[("get_weather", {"city": f"City{i}"})], tools=tools)
            em.tool("get_weather", {"city": f"City{i}"}, {"city": f"City{i}", "temp_c": 20 + i})
        run["answer"] = "Here is your plan."
        em.llm(answer=run["answer"], tools=tools)
    return {}


def make_templates(store: Store, tool_sets: int = 1) -> tuple[list[str], list[str], int]:
    """Store template traces in `bench_template` (long runs offering `offered_tools(tool_sets)`);
    returns (long ids, failure ids, failure spans)."""
    store.command("DROP TABLE IF EXISTS bench_template")
    store.command("CREATE TABLE bench_template AS otel_traces ENGINE = MergeTree PRIMARY KEY TraceId ORDER BY TraceId")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    t0 = 1_700_000_000 * 10**9
    for flavour in FLAVOURS:
        long_run(Emitter(tracer, flavour, t0), offered_tools(tool_sets))
    long_spans = list(exporter.get_finished_spans())
    assert len(long_spans) == LONG_RUN_SPANS * len(FLAVOURS), "long_run changed: update LONG_RUN_SPANS"
    exporter.clear()
    for scenario in SCENARIOS:
        play(scenario, tracer, "genai", t0)
    fail_spans = list(exporter.get_finished_spans())
    store_spans(_Table(store, "bench_template"), long_spans + fail_spans)  # type: ignore[arg-type]

    def ids(spans):
        return sorted({format(s.context.trace_id, "032x") for s in spans})

    return ids(long_spans), ids(fail_spans), len(fail_spans)


class _Table:
    """A store whose inserts go to another table (for `store_spans`)."""

    def __init__(self, store: Store, table: str) -> None:
        self.store, self.table = store, table

    def insert_columns(self, _table, columns, names) -> None:
        self.store.insert_columns(self.table, columns, names)


# What makes each copy of a long run its own conversation: real runs differ in their question and in
# what their tools return, so no two runs share a message (tool definitions stay the same).
_VARIED = ("replaceAll(replaceAll(v, 'City', concat('City', toString(n), '.')), "
           "'Italy', concat('Italy (trip ', toString(n), ')'))")


def copy(store: Store, template_ids: list[str], copies: int, offset: int, start_ns: int, spacing_ns: int,
         vary: bool = False) -> None:
    """`copies` copies of each template trace, with fresh ids; copy n starts at start + n·spacing.
    `vary`: the cities and the country in the copies' attribute values get the copy's number."""
    cols = ", ".join(f"`{c}`" for c in INSERT_COLUMNS)
    select = []
    for c in INSERT_COLUMNS:
        if c == "Timestamp":
            select.append("fromUnixTimestamp64Nano(toInt64(toUnixTimestamp64Nano(Timestamp) - {t0:Int64}"
                          " + {start:Int64} + n * {spacing:Int64}))")
        elif c == "TraceId":
            select.append("lower(concat(hex(cityHash64(TraceId, n)), hex(cityHash64(n, TraceId))))")
        elif c in ("SpanId", "ParentSpanId"):
            select.append(f"if({c} = '', '', lower(hex(cityHash64({c}, n))))")
        elif c == "SpanAttributes" and vary:
            select.append(f"mapApply((k, v) -> (k, {_VARIED}), SpanAttributes)")
        else:
            select.append(f"`{c}`")
    store.command(
        f"INSERT INTO otel_traces ({cols}) SELECT {', '.join(select)} FROM bench_template "
        "ARRAY JOIN range({lo:UInt64}, {hi:UInt64}) AS n WHERE TraceId IN {ids:Array(String)}",
        {"t0": 1_700_000_000 * 10**9, "start": start_ns, "spacing": spacing_ns, "lo": offset,
         "hi": offset + copies, "ids": template_ids},
    )


def generate(store: Store, spans: int, offset: int, start_ns: int, spacing_ns: int,
             long_ids: list[str], fail_ids: list[str], fail_spans: int) -> int:
    """About `spans` spans: 90 % of runs long healthy ones (`LONG_RUN_SPANS` spans each, each its own
    conversation), 10 % failure scenarios (a few spans each), so 1M spans make ~54,000 runs. Returns
    the traces made."""
    spans_per_failure = fail_spans / max(1, len(fail_ids))
    runs = spans / (0.9 * LONG_RUN_SPANS + 0.1 * spans_per_failure)
    long_copies = max(1, round(runs * 0.9 / len(long_ids)))
    fail_copies = max(1, (spans - long_copies * LONG_RUN_SPANS * len(long_ids)) // max(1, fail_spans))
    copy(store, long_ids, long_copies, offset, start_ns, spacing_ns, vary=True)
    copy(store, fail_ids, fail_copies, offset, start_ns, spacing_ns)
    return long_copies * len(long_ids) + fail_copies * len(fail_ids)
