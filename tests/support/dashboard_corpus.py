"""The runs the dashboard tests query: the demo scenarios (plus a few runs of our own) written
through a real OpenTelemetry tracer, converted and stored exactly as the collector stores
them, then analyzed by the real pipeline into `agent_runs` / `agent_signals`.

Three tenants (`acme`, `globex`, none), two environments, an agent whose name holds a
quote, a run that used two models, one run a day before the others (outside the time
range the tests ask for), and a `globex` run sent under an `acme` trace's trace id and
root span id (so two tenants hold a run with one run id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.analyzer.engine.tables import RESULT_TABLES
from agentmortem.collector.convert import request_to_batch
from agentmortem.demo.emit import Emitter
from agentmortem.demo.scenarios import AGENT, SCENARIOS, TOOLS, WEATHER_PARIS
from agentmortem.platform.schema import INSERT_COLUMNS, TRACES_TABLE
from agentmortem.platform.store import Store
from tests.support.demo_traces import SharedIds

START = datetime(2025, 6, 15, 15, 0, tzinfo=UTC)
QUOTED_AGENT = "ops'bot"
RULES = RuleSettings(agent_budgets_usd={AGENT: 0.5})  # the budget `cost_overspend` needs


def ops_bot(em: Emitter) -> dict:
    """A tool error in an agent whose name needs escaping in SQL."""
    with em.agent(QUOTED_AGENT, "Restart the flights cache") as run:
        em.llm(tool_calls=[("search_flights", {"origin": "CDG", "destination": "FCO", "date": "2025-06-01"})],
               tools=TOOLS)
        em.tool("search_flights", {"origin": "CDG", "destination": "FCO", "date": "2025-06-01"},
                error=("ConnectionError", "flights API connection refused"))
        run["answer"] = "I'm sorry, I was unable to reach the flights API right now."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"]}


def two_models(em: Emitter) -> dict:
    """A healthy run that plans with one model and answers with another."""
    with em.agent(AGENT, "What's the weather in Paris?") as run:
        em.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=TOOLS, model="gpt-4o")
        em.tool("get_weather", {"city": "Paris"}, WEATHER_PARIS)
        run["answer"] = "It is 18°C and sunny in Paris."
        em.llm(answer=run["answer"], tools=TOOLS)
    return {"run": run["span_id"]}


def impostor(em: Emitter) -> dict:
    """A failing run whose ids copy another tenant's trace (see `Planned.shares`)."""
    with em.agent("impostor-bot", "Read the other tenant's run") as run:
        em.tool("exfiltrate", {"what": "everything"}, error=("PermissionError", "impostor tool failed"))
        run["answer"] = "Nothing to see."
        em.llm(answer=run["answer"])
    return {"run": run["span_id"]}


@dataclass(frozen=True)
class Planned:
    """One trace to store, and the failure classes of the runs it must yield ("" = ok)."""

    tenant: str
    environment: str
    flavour: str
    start: datetime
    play: Callable[[Emitter], dict]
    classes: tuple[str, ...]
    shares: int | None = None  # the index of the planned trace whose trace id and root span id it reuses


# Runs besides the top-level one: the researcher sub-agent of `delegation_failure` fails.
SUB_RUN_CLASSES = {"delegation_failure": ("error",)}


def plan() -> list[Planned]:
    by_name = {s.name: s for s in SCENARIOS}
    out = [Planned("acme", "production", "genai", START + timedelta(minutes=4 * i), s.play,
                   (s.failure_class, *SUB_RUN_CLASSES.get(s.name, ())))
           for i, s in enumerate(SCENARIOS)]
    for i, name in enumerate(("tool_error", "healthy_two_cities", "unknown_tool")):
        s = by_name[name]
        out.append(Planned("globex", "staging", "openinference", START + timedelta(minutes=95 + 7 * i), s.play,
                           (s.failure_class,)))
    out.append(Planned("globex", "staging", "genai", START + timedelta(minutes=118), two_models, ("",)))
    out.append(Planned("acme", "production", "genai", START + timedelta(minutes=125), ops_bot, ("tool_error",)))
    for i, name in enumerate(("healthy_two_cities", "rate_limited")):
        s = by_name[name]
        out.append(Planned("", "", "genai", START + timedelta(minutes=140 + 9 * i), s.play, (s.failure_class,)))
    out.append(Planned("acme", "production", "genai", START - timedelta(days=1), by_name["tool_error"].play,
                       ("tool_error",)))
    tool_error = next(i for i, p in enumerate(out) if p.tenant == "acme" and p.play == by_name["tool_error"].play)
    out.append(Planned("globex", "staging", "genai", START + timedelta(minutes=130), impostor, ("error_swallowed",),
                       shares=tool_error))
    return out


def store_trace(store: Store, p: Planned, ids: tuple[str, str] | None = None) -> tuple[str, str]:
    """Emit one trace through the SDK (with the trace id and root span id `ids`, random by default)
    and store it as the collector does; returns its trace id and root span id."""
    exporter = InMemorySpanExporter()
    resource = {"service.name": "demo-agents"}
    if p.environment:
        resource["deployment.environment.name"] = p.environment
    provider = TracerProvider(resource=Resource.create(resource), id_generator=SharedIds(*ids) if ids else None)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    marks = p.play(Emitter(provider.get_tracer("agentmortem.dashboards"), p.flavour, int(p.start.timestamp()) * 10**9))
    spans = exporter.get_finished_spans()
    batch = request_to_batch(encode_spans(spans), p.tenant or None)
    assert batch.check.rejected == 0
    store.insert_columns(TRACES_TABLE, batch.columns, INSERT_COLUMNS)
    return format(spans[0].context.trace_id, "032x"), marks["run"]


def build(store: Store) -> list[Planned]:
    """Store and analyze every planned trace, then analyze the `acme` ones once more.

    The second analysis writes newer versions of the same rows (merges are stopped, so
    both versions stay on disk): only queries that read with FINAL count each run once.
    """
    for table in RESULT_TABLES:
        store.command(f"SYSTEM STOP MERGES {table.name}")
    planned = plan()
    stored: list[tuple[str, str]] = []
    for p in planned:
        stored.append(store_trace(store, p, stored[p.shares] if p.shares is not None else None))
    traces = [TraceKey(p.tenant, trace_id) for p, (trace_id, _) in zip(planned, stored)]
    analyze_traces(store, traces, RULES)
    analyze_traces(store, [t for t in traces if t.tenant == "acme"], RULES)
    return planned
