"""What metrics say about single spans of a run: exemplars of the GenAI per-call histograms.

Instrumentations record `gen_ai.client.operation.time_to_first_chunk` (and its semconv-genai name
`gen_ai.client.inference.time_to_first_chunk`) inside the model call's span, so the SDK keeps the
measurement as an exemplar carrying that span's trace and span id. Spans do not carry this figure
(before semconv-genai's `gen_ai.response.time_to_first_chunk`), so the run pages take it from
the stored exemplars: `otel_metrics_histogram` and `otel_metrics_exponential_histogram`, read
within the run's time window (the tables are partitioned and ordered by time) and the tenant's scope.
"""

from __future__ import annotations

from collections import defaultdict

from agentmortem.analyzer.api.queries.scope import Scope, Where
from agentmortem.platform.signal_tables import EXP_HISTOGRAM_TABLE, HISTOGRAM_TABLE
from agentmortem.platform.store import Store
from agentmortem.semconv.metrics import metrics_measuring
from agentmortem.semconv.sql import RAW_TENANT

# Per-call figures spans lack, by the canonical meaning `semconv.metrics` gives the metric names.
SPAN_FIGURES = ("time_to_first_chunk", "time_per_output_chunk")
_TABLES = (HISTOGRAM_TABLE, EXP_HISTOGRAM_TABLE)
_MARGIN_S = 300  # metrics are exported after the span ends: read a little past the run


def _names() -> dict[str, str]:
    return {m.name: m.measures for figure in SPAN_FIGURES for m in metrics_measuring(figure)}


def span_measurements(store: Store, scope: Scope, trace_id: str, start_ns: int, end_ns: int) -> dict[str, dict[str, float]]:
    """Span id → {figure: seconds} from the exemplars of trace `trace_id` (the mean where a span has several)."""
    names = _names()
    where = Where(scope, tenant_column=RAW_TENANT)  # the metrics' resource attributes, as the spans' 
    where.add("MetricName IN {names:Array(String)}", names=sorted(names))
    where.add("TimeUnix >= toDateTime({since:Int64}) AND TimeUnix <= toDateTime({until:Int64})",
              since=start_ns // 1_000_000_000 - 1, until=end_ns // 1_000_000_000 + _MARGIN_S)
    where.add("has(Exemplars.TraceId, {trace_id:String})", trace_id=trace_id)
    present = {row[0] for row in store.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN {t:Array(String)}",
        {"t": list(_TABLES)})}
    selects = [
        f"SELECT MetricName, ex.1 AS SpanId, ex.2 AS Value FROM {table} "
        f"ARRAY JOIN arrayZip(Exemplars.SpanId, Exemplars.Value, Exemplars.TraceId) AS ex {where.sql()} "
        "AND ex.3 = {trace_id:String}"
        for table in _TABLES if table in present
    ]
    if not selects:
        return {}
    rows = store.query(
        "SELECT MetricName, SpanId, avg(Value) FROM (" + " UNION ALL ".join(selects) + ") GROUP BY MetricName, SpanId",
        where.params,
    )
    found: dict[str, dict[str, float]] = defaultdict(dict)
    for metric, span_id, value in rows:
        found[span_id][names[metric]] = float(value)
    return dict(found)
