"""The collector's tables (`otel_traces` and its trace-id lookup, API keys) as numbered `.sql` migrations.

Run by the platform's runner (`agentmortem.platform.migrations`); the only template values are
TTL clauses built from a validated integer.
"""

from __future__ import annotations

from pathlib import Path

from agentmortem.platform.migrations import Migration, apply, load
from agentmortem.platform.schema import verify_otel_traces
from agentmortem.platform.store import Store

HERE = Path(__file__).parent
PACKAGE = "collector"


def ttl_template(ttl_days: int) -> dict[str, str]:
    """TTL clauses for the contrib tables (empty when data is kept forever)."""
    days = int(ttl_days)
    if days <= 0:
        return {"ttl_timestamp": "", "ttl_start": "", "ttl_timestamp_time": ""}
    return {
        "ttl_timestamp": f"TTL toDateTime(Timestamp) + toIntervalDay({days})",
        "ttl_timestamp_time": f"TTL TimestampTime + toIntervalDay({days})",
        "ttl_start": f"TTL toDateTime(Start) + toIntervalDay({days})",
    }


def collector_migrations(ttl_days: int = 0) -> list[Migration]:
    """The collector's migrations, in order."""
    return load(HERE, PACKAGE, ttl_template(ttl_days))


def migrate_collector(store: Store, ttl_days: int = 0) -> list[Migration]:
    """Create or verify the collector's tables."""
    applied = apply(store, collector_migrations(ttl_days))
    verify_otel_traces(store)
    return applied
