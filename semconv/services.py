"""Per service: which signals it sends (traces, logs, metrics) and which convention versions they speak.

Traces come from `otel_traces` (conventions through the compiled mapping, GenAI versions through
`semconv.dialects` markers), logs from `otel_logs` (GenAI event names in `EventName`, or in the
`event.name` attribute for SDKs that predate that field), metrics from the contrib exporter's
`otel_metrics_*` tables (metric names, declared in `semconv.metrics`). Tables that do not exist
(a deployment without logs or metrics) count as sending nothing. Values are query parameters;
table names come from `semconv.keys` only.
"""

from __future__ import annotations

from typing import Any, Protocol

from agentmortem.semconv import keys as k
from agentmortem.semconv.dialects import MarkerKind, Signal, marker_names, versions_seen
from agentmortem.semconv.metrics import METRIC_BY_NAME
from agentmortem.semconv.sql import canonical_select

GENAI_PREFIX = "gen_ai."


class Queryable(Protocol):
    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...


def existing_tables(store: Queryable, names: list[str]) -> set[str]:
    """Which of `names` exist in the store's current database."""
    rows = store.query("SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)}",
                       {"names": names})
    return {name for (name,) in rows}


def _entry(services: dict[str, dict[str, Any]], service: str) -> dict[str, Any]:
    return services.setdefault(service, {
        "service": service, "signals": {"traces": 0, "logs": 0, "metrics": 0},
        "conventions": [], "versions": {"traces": [], "logs": [], "metrics": []},
        "events": [], "metrics": [],
    })


def _traces(store: Queryable, source: str, services: dict[str, dict[str, Any]]) -> None:
    rows = store.query(
        f"SELECT `{k.SERVICE_NAME}`, count(), "
        f"groupUniqArrayArray(arrayFilter(x -> has({{keys:Array(String)}}, x), mapKeys(`{k.SPAN_ATTRIBUTES}`))), "
        f"groupUniqArrayArray(arrayFilter(x -> has({{events:Array(String)}}, x), `{k.EVENT_NAMES}`)), "
        f"groupUniqArrayIf(`{k.SPAN_ATTRIBUTES}`[{{op:String}}], has({{ops:Array(String)}}, `{k.SPAN_ATTRIBUTES}`[{{op:String}}])) "
        f"FROM {source} GROUP BY `{k.SERVICE_NAME}`",
        {"keys": marker_names("traces", "key"), "events": marker_names("traces", "event"),
         "ops": marker_names("traces", "operation"), "op": k.GEN_AI_OPERATION_NAME},
    )
    for service, n, keys, events, ops in rows:
        entry = _entry(services, service)
        entry["signals"]["traces"] = n
        names: dict[MarkerKind, set[str]] = {"key": set(keys), "event": set(events), "operation": set(ops)}
        entry["versions"]["traces"] = versions_seen("traces", names)
    conventions = store.query(
        f"SELECT service_name, convention, count() FROM ({canonical_select(source)}) "
        "WHERE convention != '' GROUP BY service_name, convention ORDER BY service_name, convention")
    for service, convention, n in conventions:
        _entry(services, service)["conventions"].append({"convention": convention, "spans": n})


def _logs(store: Queryable, services: dict[str, dict[str, Any]]) -> None:
    name = f"if(`{k.LOG_EVENT_NAME}` != '', `{k.LOG_EVENT_NAME}`, `{k.LOG_ATTRIBUTES}`[{{event_key:String}}])"
    rows = store.query(
        f"SELECT `{k.SERVICE_NAME}`, count(), groupUniqArrayIf(event, startsWith(event, {{prefix:String}})) "
        f"FROM (SELECT `{k.SERVICE_NAME}`, {name} AS event FROM {k.LOGS_TABLE}) GROUP BY `{k.SERVICE_NAME}`",
        {"event_key": k.LOG_EVENT_NAME_ATTRIBUTE, "prefix": GENAI_PREFIX},
    )
    for service, n, events in rows:
        entry = _entry(services, service)
        entry["signals"]["logs"] = n
        entry["events"] = sorted(events)
        entry["versions"]["logs"] = versions_seen("logs", {"event": set(events)})


def _metrics(store: Queryable, tables: set[str], services: dict[str, dict[str, Any]]) -> None:
    points: dict[tuple[str, str], int] = {}
    for table in k.METRIC_TABLES:  # a closed set of identifiers
        if table not in tables:
            continue
        rows = store.query(f"SELECT `{k.SERVICE_NAME}`, `{k.METRIC_NAME}`, count() FROM {table} "
                           f"GROUP BY `{k.SERVICE_NAME}`, `{k.METRIC_NAME}`")
        for service, metric, n in rows:
            points[(service, metric)] = points.get((service, metric), 0) + n
    for (service, metric), n in sorted(points.items()):
        entry = _entry(services, service)
        entry["signals"]["metrics"] += n
        if metric.startswith(GENAI_PREFIX):
            declared = METRIC_BY_NAME.get(metric)
            entry["metrics"].append({
                "name": metric, "points": n, "version": declared.version if declared else "undeclared",
                "measures": declared.measures if declared else "",
            })
    for entry in services.values():
        entry["versions"]["metrics"] = versions_seen("metrics", {"metric": {m["name"] for m in entry["metrics"]}})


def service_signals(store: Queryable, source: str = "otel_traces") -> list[dict[str, Any]]:
    """One entry per service: span/log-record/metric-point counts, conventions, GenAI versions per signal,
    GenAI event names in its logs and GenAI metrics it sends (with version and canonical meaning)."""
    tables = existing_tables(store, [source, k.LOGS_TABLE, *k.METRIC_TABLES])
    services: dict[str, dict[str, Any]] = {}
    if source in tables:
        _traces(store, source, services)
    if k.LOGS_TABLE in tables:
        _logs(store, services)
    _metrics(store, tables, services)
    return [services[name] for name in sorted(services)]


def signals_of(entry: dict[str, Any]) -> list[Signal]:
    """The signals a service entry sends, in a fixed order."""
    return [s for s in ("traces", "logs", "metrics") if entry["signals"][s]]
