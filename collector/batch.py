"""What the writer asks of converted rows, whatever the signal: `Batch`.

`collector.convert.SpanBatch` (spans), and the log and metric batches, implement it; the
writer inserts a batch through its signal and `collector.isolate` splits a refused one.
"""

from __future__ import annotations

from typing import Any, Protocol

from agentmortem.collector.convert import SpanCheck


class Batch(Protocol):
    """Rows converted from requests, ready for one insert (per table), in one global row order."""

    check: SpanCheck

    @property
    def count(self) -> int: ...

    def extend(self, other: Any) -> None: ...

    def rows(self, start: int, stop: int) -> Any:
        """Rows `start` to `stop` (exclusive) as a batch of their own."""

    def label(self, row: int) -> str:
        """How a refusal names a row: `span 'chat gpt-4o'`, `log record 'gen_ai.choice'`."""
