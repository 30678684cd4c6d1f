"""The analyzer's tables, as numbered `.sql` migrations run by the platform's runner.

Migration 0004 also has a step in Python (`rekey_by_tenant`): it puts the tenant into the
keys of the two public result tables that lacked it, keeping their rows.
"""

from __future__ import annotations

from pathlib import Path

from agentmortem.platform.migrations import Migration, apply, load
from agentmortem.platform.reorder import reorder_table
from agentmortem.platform.store import Store

HERE = Path(__file__).parent
PACKAGE = "analyzer"
_RESULTS_ENGINE = "ReplacingMergeTree(Version, Deleted) ORDER BY ({key}) SETTINGS index_granularity = 8192"


def rekey_by_tenant(store: Store) -> None:
    """`agent_signals` and `agent_explanations` keyed by (tenant, run): two tenants' runs may share a
    run id (a root span id under a shared trace id), and neither may replace the other's rows."""
    reorder_table(store, "agent_signals", _RESULTS_ENGINE.format(key="Tenant, RunId, Seq"))
    reorder_table(store, "agent_explanations", _RESULTS_ENGINE.format(key="Tenant, RunId"))


def analyzer_migrations() -> list[Migration]:
    """The analyzer's migrations, in order."""
    return load(HERE, PACKAGE, {})


def migrate_analyzer(store: Store) -> list[Migration]:
    """Create or upgrade the analyzer's tables (idempotent); `otel_traces` must exist."""
    return apply(store, analyzer_migrations(), steps={4: rekey_by_tenant})
