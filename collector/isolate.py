"""Find the spans of one request that the database refuses, and store the others.

When ClickHouse refuses a request's data (`DataRejected`: a value it cannot parse, convert
or place), sending the request again cannot help, and answering 503 would make exporters
retry it forever while its valid spans are never stored. The writer hands such a request
here: its rows are split in halves, each half inserted on its own and split again while
refused, until the refused spans stand alone. They are reported through OTLP
`partial_success`; the rest is stored.

A budget of inserts, shared by the requests of one group commit, bounds what hostile
requests can cost the writer: once it is spent, the rows not yet stored are rejected too,
with a message saying so. Any other failure (the database is down, overloaded) stops the
search and stays retryable; rows stored by then are stored again on the client's retry,
as with any retried export.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from agentmortem.collector.batch import Batch
from agentmortem.collector.convert import SpanCheck
from agentmortem.platform.store import DataRejected

INSERT_BUDGET = 128
"""Inserts one group commit may spend searching for refused spans: enough to find a handful
of bad spans among tens of thousands (about 2 log2(n) inserts each)."""
_REASON_CHARS = 300
_FILE = re.compile(r" \(in file/uri [^)]*\)")  # the engine's temporary file names say nothing


@dataclass
class Budget:
    """Inserts left for isolating refused spans."""

    inserts: int = INSERT_BUDGET
    spent: int = 0


def _first_line(error: Exception) -> str:
    text = _FILE.sub("", str(error)).strip()
    text = text.splitlines()[0] if text else type(error).__name__
    return text if len(text) <= _REASON_CHARS else text[:_REASON_CHARS] + "…"


def isolate(batch: Batch, insert: Callable[[Batch], None], refused: DataRejected, budget: Budget) -> SpanCheck:
    """Store what the database accepts of `batch`, which it refused whole with `refused`; the
    result counts the rows stored as accepted and the others as rejected, with reasons.

    Raises `StoreError` (not `DataRejected`) from `insert` when the database fails for
    another reason; the caller answers that as retryable.
    """
    result = SpanCheck()
    refused_ranges: list[tuple[int, int, DataRejected]] = [(0, batch.count, refused)] if batch.count else []
    while refused_ranges:
        start, stop, error = refused_ranges.pop()
        if stop - start == 1:
            result.reject(f"{batch.label(start)}: the database refused it: {_first_line(error)}")
            continue
        middle = (start + stop) // 2
        for low, high in ((middle, stop), (start, middle)):
            if budget.spent == budget.inserts:
                for row in range(low, high):
                    result.reject(
                        f"{batch.label(row)}: not stored: the database refused this request's data "
                        f"and the search for the refused rows stopped after {budget.inserts} inserts"
                    )
                continue
            budget.spent += 1
            try:
                insert(batch.rows(low, high))
            except DataRejected as exc:
                refused_ranges.append((low, high, exc))
            else:
                result.accepted += high - low
    return result
