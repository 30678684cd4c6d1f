"""The coverage report: what the mapping recognises in the stored spans, and what it does not.

`coverage_report(store)` counts spans per category and convention (through the same
compiled SQL the analyzer reads), lists GenAI-looking attribute keys that no rule of
the table maps, models whose tokens cannot be priced, and per service the signals it sends
and the convention versions they speak (`semconv.services`). `render_report` prints it.
The store is anything with `query(sql, params) -> rows` (collector's `Store`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

from agentmortem.semconv import keys as k
from agentmortem.semconv.cost import ModelPrice, is_priced
from agentmortem.semconv.services import service_signals, signals_of
from agentmortem.semconv.spec import (
    Attr,
    Concat,
    IndexedItems,
    IndexedValues,
    JsonItems,
    JsonPath,
    Source,
    TextItem,
)
from agentmortem.semconv.sql import canonical_select
from agentmortem.semconv.table import CATEGORY_RULES, FIELDS

PRICED_CATEGORIES = ("llm", "embedding")


class Queryable(Protocol):
    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...


def _walk(src: Source) -> Iterator[Source]:
    yield src
    if isinstance(src, (JsonPath, JsonItems, TextItem)):
        yield from _walk(src.source)
    if isinstance(src, Concat):
        for part in src.parts:
            yield from _walk(part)


def mapped_keys() -> tuple[frozenset[str], tuple[str, ...]]:
    """(exact attribute keys the table reads, regexes of indexed keys it reads)."""
    exact: set[str] = {rule.source.key for rule in CATEGORY_RULES if isinstance(rule.source, Attr)}
    patterns: list[str] = []
    for f in FIELDS:
        for top in f.sources:
            for src in _walk(top):
                if isinstance(src, Attr):
                    exact.add(src.key)
                elif isinstance(src, IndexedItems):
                    patterns.append(src.stem)
                elif isinstance(src, IndexedValues):
                    patterns.append(src.pattern)
    return frozenset(exact), tuple(patterns)


def is_mapped(key: str) -> bool:
    """Whether some rule of the table reads attribute `key`."""
    exact, patterns = mapped_keys()
    return key in exact or any(re.search(p, key) for p in patterns)


def _unmapped_keys(store: Queryable, source: str) -> list[dict[str, Any]]:
    prefixes = list(k.GENAI_PREFIXES)
    rows = store.query(
        f"SELECT key, count() AS spans FROM {source} ARRAY JOIN mapKeys({k.SPAN_ATTRIBUTES}) AS key "
        "WHERE arrayExists(p -> startsWith(key, p), {prefixes:Array(String)}) GROUP BY key ORDER BY key",
        {"prefixes": prefixes},
    )
    return [{"key": key, "spans": n} for key, n in rows if not is_mapped(key)]


def _unpriced_models(store: Queryable, source: str, overrides: Mapping[str, ModelPrice] | None) -> tuple[list[dict[str, Any]], int]:
    rows = store.query(
        f"SELECT provider, if(response_model != '', response_model, request_model) AS model, count() AS spans "
        f"FROM ({canonical_select(source)}) "
        "WHERE category IN {cats:Array(String)} AND cost_usd IS NULL "
        "AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL) GROUP BY provider, model ORDER BY model",
        {"cats": list(PRICED_CATEGORIES)},
    )
    unpriced = [{"provider": p, "model": m, "spans": n} for p, m, n in rows if not is_priced(p, m, overrides)]
    return unpriced, sum(r["spans"] for r in unpriced)


def coverage_report(
    store: Queryable, source: str = "otel_traces", overrides: Mapping[str, ModelPrice] | None = None
) -> dict[str, Any]:
    """Spans per category and convention, unmapped GenAI-looking keys, models without prices."""
    counts = store.query(
        f"SELECT category, convention, count() FROM ({canonical_select(source)}) "
        "GROUP BY category, convention ORDER BY category, convention"
    )
    by_category: dict[str, int] = {}
    by_convention: dict[str, int] = {}
    for category, convention, n in counts:
        by_category[category] = by_category.get(category, 0) + n
        by_convention[convention or "none"] = by_convention.get(convention or "none", 0) + n
    unpriced, unpriced_spans = _unpriced_models(store, source, overrides)
    return {
        "spans": sum(n for _, _, n in counts),
        "by_category": by_category,
        "by_convention": by_convention,
        "by_category_convention": [
            {"category": c, "convention": v or "none", "spans": n} for c, v, n in counts
        ],
        "unmapped_keys": _unmapped_keys(store, source),
        "unpriced_models": unpriced,
        "unpriced_spans": unpriced_spans,
        "services": service_signals(store, source),
    }


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="right" if i == len(columns) - 1 else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table


def render_report(report: dict[str, Any], width: int = 100) -> str:
    """The report as plain text tables."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    console.print(f"semconv coverage: {report['spans']} spans")
    console.print(_table("Spans per category and convention", ("category", "convention", "spans"),
                         [(r["category"], r["convention"], r["spans"]) for r in report["by_category_convention"]]))
    keys = report["unmapped_keys"]
    console.print(_table("GenAI-looking keys no rule maps", ("key", "spans"),
                         [(r["key"], r["spans"]) for r in keys]) if keys else "No unmapped GenAI-looking keys.")
    _render_services(console, report["services"])
    models = report["unpriced_models"]
    if models:
        console.print(_table(f"Models without prices ({report['unpriced_spans']} spans unpriced)",
                             ("provider", "model", "spans"), [(r["provider"], r["model"], r["spans"]) for r in models]))
    else:
        console.print("Every model with token counts has a price.")
    return out.getvalue()


def _render_services(console: Console, services: list[dict[str, Any]]) -> None:
    if not services:
        console.print("No service has sent traces, logs or metrics.")
        return
    rows = []
    for entry in services:
        versions = [f"{signal}: {', '.join(entry['versions'][signal]) or '-'}" for signal in signals_of(entry)]
        conventions = ", ".join(c["convention"] for c in entry["conventions"]) or "-"
        sent = ", ".join(f"{signal} {entry['signals'][signal]}" for signal in signals_of(entry))
        rows.append((entry["service"], sent, conventions, "; ".join(versions)))
    console.print(_table("Signals and convention versions per service",
                         ("service", "sends", "span conventions", "GenAI versions per signal"), rows))
    metrics = [(e["service"], m["name"], m["version"], m["measures"] or "-", m["points"])
               for e in services for m in e["metrics"]]
    if metrics:
        console.print(_table("GenAI metrics per service", ("service", "metric", "version", "measures", "points"),
                             metrics))
    events = [(e["service"], ", ".join(e["events"])) for e in services if e["events"]]
    if events:
        console.print(_table("GenAI log events per service", ("service", "events"), events))
