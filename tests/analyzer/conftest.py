"""Fixtures shared by the analyzer tests."""

from __future__ import annotations

import pytest

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.demo.emit import FLAVOURS
from agentmortem.demo.scenarios import SCENARIOS
from tests.support.demo_traces import START_NS, store_scenario


@pytest.fixture()
def scenario_traces(store) -> list[TraceKey]:
    """Every scenario in both flavours, stored (sent without a key); their traces."""
    return [TraceKey("", store_scenario(store, s, f, START_NS + i * 10**12)["trace_id"])
            for i, (s, f) in enumerate((s, f) for s in SCENARIOS for f in FLAVOURS)]
