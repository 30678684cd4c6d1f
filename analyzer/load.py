"""Reading what the analysis needs: canonical spans of given traces, and agent baselines.

The canonical mapping runs inside ClickHouse (`semconv.compile.canonical_select`), so
Python receives typed columns ready to become `CanonicalSpan`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from analyzer.model import Baseline
from collector.schema import TRACES_TABLE
from collector.store import Store
from semconv.compile import canonical_select
from semconv.model import CANONICAL_COLUMNS, CanonicalSpan

BaselineKey = tuple[str, str]  # (tenant, agent name)
# Canonical fields the analysis never reads. Its SELECT gives them as constants (their defaults),
# and ClickHouse then skips their mapping: the engine prunes unused columns of the inner SELECT.
_UNREAD_BY_ANALYSIS = {"convention": "''", "operation": "''", "agent_id": "''", "user_id": "''",
                       "reasoning_tokens": "CAST(NULL, 'Nullable(Int64)')"}
_new_span = object.__new__


@lru_cache(maxsize=8)
def _spans_sql(source: str, for_analysis: bool) -> str:
    sql = canonical_select(source, where="TraceId IN {ids:Array(String)}")
    if not for_analysis:
        return sql
    cols = ", ".join(f"{_UNREAD_BY_ANALYSIS[c]} AS {c}" if c in _UNREAD_BY_ANALYSIS else c for c in CANONICAL_COLUMNS)
    return f"SELECT {cols} FROM ({sql})"


def to_span(row: Sequence) -> CanonicalSpan:
    """A `CanonicalSpan` from one row of the canonical SELECT (columns in contract order).

    Filled straight into the instance dict: the frozen dataclass' `__init__` pays one
    `object.__setattr__` per field, ~60 % of the cost for a million spans. Same result.
    """
    span = _new_span(CanonicalSpan)
    values = span.__dict__
    values.update(zip(CANONICAL_COLUMNS, row))
    values["finish_reasons"] = tuple(values["finish_reasons"] or ())
    values["extra"] = {}
    return span


def load_spans(store: Store, trace_ids: Sequence[str], source: str = TRACES_TABLE,
               for_analysis: bool = False) -> list[CanonicalSpan]:
    """Every stored span of these traces (duplicates included; run building drops them).
    `for_analysis` leaves the fields the analysis never reads at their defaults, for speed."""
    if not trace_ids:
        return []
    return [to_span(row) for row in store.query(_spans_sql(source, for_analysis), {"ids": list(trace_ids)})]


def all_trace_ids(store: Store, source: str = TRACES_TABLE) -> list[str]:
    """Every trace id in the raw table (small stores: tests and tools)."""
    return [r[0] for r in store.query(f"SELECT DISTINCT TraceId FROM {source} WHERE TraceId != '' ORDER BY TraceId")]


def load_baselines(store: Store) -> dict[BaselineKey, Baseline]:
    """The latest baseline of every agent."""
    rows = store.query(
        "SELECT Tenant, AgentName, Runs, DurationMsP50, DurationMsP95, DurationMsMad, TokensP50, TokensP95,"
        " CostUsdP50, CostUsdP95, CostUsdMad FROM agent_baselines FINAL"
    )
    return {
        (tenant, agent): Baseline(agent, int(runs), d50, d95, dmad, t50, t95, c50, c95, cmad)
        for tenant, agent, runs, d50, d95, dmad, t50, t95, c50, c95, cmad in rows
    }
