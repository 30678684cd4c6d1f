"""The collector's tables (`otel_traces` and its trace-id lookup, API keys, `otel_logs`, the five
`otel_metrics_*`) as numbered `.sql` migrations.

Run by the platform's runner (`agentmortem.platform.migrations`); the only template values are
TTL clauses built from a validated integer and the logs table's skip indexes, which — as the
contrib exporter does — are full-text `text` indexes on ClickHouse 26.2 and later, bloom filters before.
"""

from __future__ import annotations

from pathlib import Path

from agentmortem.platform.migrations import Migration, apply, load
from agentmortem.platform.schema import verify_otel_traces
from agentmortem.platform.signal_tables import verify_signal_tables
from agentmortem.platform.store import Store

HERE = Path(__file__).parent
PACKAGE = "collector"


FULL_TEXT_SINCE = (26, 2)
"""The first ClickHouse release whose `text` index the contrib exporter uses for the logs table."""

_LOGS_INDICES = {
    True: (
        "    INDEX idx_trace_id TraceId TYPE text(tokenizer = 'array'),",
        "    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE text(tokenizer = 'array'),",
        "    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE text(tokenizer = 'array'),",
        "    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE text(tokenizer = 'array'),",
        "    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE text(tokenizer = 'array'),",
        "    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE text(tokenizer = 'array'),",
        "    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE text(tokenizer = 'array'),",
        "    INDEX idx_lower_body lower(Body) TYPE text(tokenizer = 'splitByNonAlpha')",
    ),
    False: (
        "    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,",
        "    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,",
        "    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,",
        "    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,",
        "    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,",
        "    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,",
        "    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,",
        "    INDEX idx_lower_body lower(Body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8",
    ),
}


def ttl_template(ttl_days: int, full_text_search: bool = False) -> dict[str, str]:
    """Template values of the contrib tables: TTL clauses (empty when data is kept forever) and the
    logs table's skip indexes (`full_text_search`: the engine has ClickHouse's `text` index)."""
    days = int(ttl_days)
    values = {"logs_indices": "\n".join(_LOGS_INDICES[bool(full_text_search)])}
    if days <= 0:
        return values | {"ttl_timestamp": "", "ttl_start": "", "ttl_logs": "", "ttl_metrics": ""}
    return values | {
        "ttl_timestamp": f"TTL toDateTime(Timestamp) + toIntervalDay({days})",
        "ttl_start": f"TTL toDateTime(Start) + toIntervalDay({days})",
        "ttl_logs": f"TTL toDateTime(Timestamp) + toIntervalDay({days})",
        "ttl_metrics": f"TTL toDateTime(TimeUnix) + toIntervalDay({days})",
    }


def has_full_text_search(store: Store) -> bool:
    """Whether the engine behind `store` is ClickHouse 26.2 or later (the contrib exporter's test)."""
    version = str(store.query("SELECT version()")[0][0])
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) >= FULL_TEXT_SINCE


def collector_migrations(ttl_days: int = 0, full_text_search: bool = False) -> list[Migration]:
    """The collector's migrations, in order."""
    return load(HERE, PACKAGE, ttl_template(ttl_days, full_text_search))


def migrate_collector(store: Store, ttl_days: int = 0) -> list[Migration]:
    """Create or verify the collector's tables (a user's existing ones are checked, never changed)."""
    applied = apply(store, collector_migrations(ttl_days, has_full_text_search(store)))
    verify_otel_traces(store)
    verify_signal_tables(store)
    return applied
