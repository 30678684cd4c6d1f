"""The API tests' read-only corpus: runs produced by the real pipeline (OTel SDK spans → collector
conversion → `otel_traces` → analyzer), in three tenants.

Every scenario of the demo library is stored for tenant `acme`; a few for `globex` (OpenInference
flavour) and a few without a tenant; then the analyzer's own `analyze_traces` writes the tables,
and each tenant gets an API key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.engine.pipeline import analyze_traces
from agentmortem.demo.scenarios import SCENARIOS
from agentmortem.platform.auth import create_key
from agentmortem.platform.store import Store
from tests.support.demo_traces import START_NS, scenario_spans, store_spans

GLOBEX_SCENARIOS = ("tool_error", "healthy_two_cities", "unknown_tool")
ANON_SCENARIOS = ("healthy_two_cities", "rate_limited")


@dataclass
class Stored:
    tenant: str
    scenario: str
    trace_id: str
    marks: dict


@dataclass
class Corpus:
    store: Store
    runs: list[Stored] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # tenant -> secret

    def of(self, tenant: str, scenario: str) -> Stored:
        return next(r for r in self.runs if r.tenant == tenant and r.scenario == scenario)


def store_as(store: Store, tenant: str | None, name: str, flavour: str, start_ns: int) -> Stored:
    """Store one demo scenario as sent with a key of `tenant` (None: without a key)."""
    scenario = next(s for s in SCENARIOS if s.name == name)
    spans, marks = scenario_spans(scenario, flavour, start_ns)
    store_spans(store, spans, tenant)
    return Stored(tenant or "", name, format(spans[0].context.trace_id, "032x"), marks)


def build_corpus(store: Store) -> Corpus:
    """Store and analyze the corpus in `store` (a database with every table)."""
    c = Corpus(store)
    minute = 60 * 10**9
    t = START_NS
    for i, s in enumerate(SCENARIOS):
        c.runs.append(store_as(store, "acme", s.name, "genai", t + i * minute))
    for i, name in enumerate(GLOBEX_SCENARIOS):
        c.runs.append(store_as(store, "globex", name, "openinference", t + (100 + i) * minute))
    for i, name in enumerate(ANON_SCENARIOS):
        c.runs.append(store_as(store, None, name, "genai", t + (200 + i) * minute))
    analyze_traces(store, [TraceKey(r.tenant, r.trace_id) for r in c.runs], RuleSettings())
    for tenant in ("acme", "globex"):
        c.keys[tenant] = create_key(store, tenant, "api tests")[1]
    return c
