"""Test helper: queue requests on a writer as the ingest does (a reservation of the in-flight budget)."""

from __future__ import annotations

from concurrent.futures import Future

from agentmortem.collector.admission import InflightBudget
from agentmortem.collector.writer import Admitted, GroupCommitWriter


def budget(max_spans: int = 10_000, max_bytes: int = 10**9) -> InflightBudget:
    return InflightBudget(max_bytes, max_spans, retry_after_seconds=1)


def submit(writer: GroupCommitWriter, item: Admitted, nbytes: int = 1, within: InflightBudget | None = None) -> Future:
    """Admit as the ingest does: reserve the request's bytes and spans (of `within`, default a
    budget of its own), then queue it."""
    with (within or budget()).reserve(nbytes) as reservation:
        reservation.resize(nbytes, item.count)
        return writer.submit(item, reservation)
