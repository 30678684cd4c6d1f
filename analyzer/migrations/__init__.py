"""The analyzer's tables, as numbered `.sql` migrations run by the collector's runner."""

from __future__ import annotations

from pathlib import Path

from collector.migrations import Migration, apply, load
from collector.store import Store

HERE = Path(__file__).parent
PACKAGE = "analyzer"


def migrate_analyzer(store: Store) -> list[Migration]:
    """Create or upgrade the analyzer's tables (idempotent); `otel_traces` must exist."""
    return apply(store, load(HERE, PACKAGE, {}))
