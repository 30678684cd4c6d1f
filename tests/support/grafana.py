"""A test-only model of how Grafana and grafana-clickhouse-datasource turn a panel's `rawSql`
into the SQL ClickHouse runs, for the subset of features our dashboards use.

It happens in two steps, in this order:

1. Template variables, interpolated by Grafana in the browser (the plugin's
   `applyTemplateVariables` → Grafana's template service, Scenes in Grafana 11):
   - `${name:singlequote}`: every selected value wrapped in `'…'`, each `'` inside
     escaped as `\\'`, values joined by `,` (Grafana's `singlequote` formatter);
   - "All" on a variable with a custom `allValue`: that value verbatim, unformatted
     (Scenes' `CustomAllValue`), whatever the format asked for;
   - `${name}` / `$name` / `${name:raw}` on a text box: its value as is.
   Any other form or format raises, so a dashboard cannot come to depend on behaviour
   this model does not reproduce.
2. The plugin's backend macros (`pkg/macros/macros.go`, applied by `sqlds`), with the
   query's time range and interval:
   - `$__timeFilter(c)` → `c >= toDateTime(FROM_S) AND c <= toDateTime(TO_S)`
   - `$__fromTime`, `$__toTime` → `toDateTime(FROM_S)`, `toDateTime(TO_S)`
   - `$__timeInterval(c)` → `toStartOfInterval(toDateTime(c), INTERVAL N second)`
   - `$__interval_s` → `N`, where N = max(interval in whole seconds, 1)
   Other `$__` names raise (Grafana's own `$__interval`, `$__from` … are not modelled).

Data-link URLs are interpolated the way Grafana does for one table row: variables as
above plus `${__data.fields.NAME}` (the row's value of field NAME).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
ALL = "$__all"  # Grafana's value for "All" (ALL_VARIABLE_VALUE)

# Every macro the plugin defines (so none can shadow another by prefix) and the ones we model.
PLUGIN_MACROS = frozenset({"fromTime", "toTime", "fromTime_ms", "toTime_ms", "timeFilter", "timeFilter_ms",
                           "dateFilter", "dateTimeFilter", "dt", "timeInterval", "timeInterval_ms", "interval_s",
                           "conditionalAll"})
MODELLED_MACROS = frozenset({"timeFilter", "fromTime", "toTime", "timeInterval", "interval_s"})

# Grafana's variable syntax (public/app/features/variables/utils.ts `variableRegex`).
VARIABLE_RE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}")
MACRO_RE = re.compile(r"\$__(\w+)(?:\(([^()]*)\))?")

Selection = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class VariableRef:
    name: str
    fmt: str | None
    path: str | None  # `fields.RunId` in `${__data.fields.RunId}`
    text: str  # as written


@dataclass(frozen=True)
class QueryWindow:
    """What Grafana sends with a query: the time range and the panel's interval."""

    start: datetime  # tz-aware
    end: datetime
    interval_s: int

    @property
    def bucket_s(self) -> int:
        return max(self.interval_s, 1)


def load_dashboards() -> dict[str, dict]:
    """Every dashboard JSON in `dashboards/`, by file name."""
    return {p.name: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict) -> list[dict]:
    """All panels, including those inside rows."""
    out = []
    for p in dashboard.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def variables(dashboard: dict) -> dict[str, dict]:
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def references(text: str) -> list[VariableRef]:
    """Every variable reference in `text`, plugin macros excluded."""
    refs = []
    for m in VARIABLE_RE.finditer(text):
        name = m.group(1) or m.group(2) or m.group(4)
        if m.group(1) and name.startswith("__") and name[2:] in PLUGIN_MACROS:
            continue  # a plugin macro, expanded by the backend
        refs.append(VariableRef(name, m.group(3) or m.group(6), m.group(5), m.group(0)))
    return refs


def macros(sql: str) -> list[str]:
    return [m.group(1) for m in MACRO_RE.finditer(sql)]


def _singlequote(values: Sequence[str]) -> str:
    return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)


def _variable_value(ref: VariableRef, defs: Mapping[str, dict], selection: Selection) -> str:
    if ref.name not in defs:
        raise KeyError(f"{ref.text}: no such dashboard variable")
    var = defs[ref.name]
    value = selection.get(ref.name, var.get("current", {}).get("value"))
    if var["type"] in ("textbox", "constant"):
        if ref.fmt not in (None, "raw") or not isinstance(value, str):
            raise NotImplementedError(f"{ref.text}: only plain or :raw text box values are modelled")
        return value
    if ref.fmt != "singlequote":
        raise NotImplementedError(f"{ref.text}: query variables must be written ${{{ref.name}:singlequote}}")
    values = [value] if isinstance(value, str) else list(value)
    if ALL in values:
        if not (var.get("includeAll") and var.get("allValue")):
            raise NotImplementedError(f"{ref.text}: 'All' is only modelled with a custom allValue")
        return var["allValue"]
    if len(values) > 1 and not var.get("multi"):
        raise ValueError(f"{ref.text}: several values for a single-value variable")
    return _singlequote(values)


def interpolate_variables(text: str, defs: Mapping[str, dict], selection: Selection,
                          row: Mapping[str, Any] | None = None) -> str:
    """Step 1: Grafana's template variables (and, in data links, `${__data.fields.X}` of `row`)."""

    def sub(m: re.Match) -> str:
        [ref] = references(m.group(0)) or [None]
        if ref is None:  # a plugin macro: left for the backend
            return m.group(0)
        if ref.name == "__data" and row is not None and ref.path and ref.path.startswith("fields."):
            return str(row[ref.path.removeprefix("fields.")])
        return _variable_value(ref, defs, selection)

    return VARIABLE_RE.sub(sub, text)


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def expand_macros(sql: str, window: QueryWindow) -> str:
    """Step 2: the plugin's backend macros."""

    def sub(m: re.Match) -> str:
        name, args = m.group(1), m.group(2)
        if name not in MODELLED_MACROS:
            raise NotImplementedError(f"macro $__{name} is not modelled")
        frm, to = f"toDateTime({_epoch(window.start)})", f"toDateTime({_epoch(window.end)})"
        if name in ("timeFilter", "timeInterval"):
            if args is None or "," in args or not args.strip():
                raise ValueError(f"$__{name} takes one column: {m.group(0)}")
            col = args.strip()
            if name == "timeFilter":
                return f"{col} >= {frm} AND {col} <= {to}"
            return f"toStartOfInterval(toDateTime({col}), INTERVAL {window.bucket_s} second)"
        if args is not None:
            raise ValueError(f"$__{name} takes no arguments: {m.group(0)}")
        return {"fromTime": frm, "toTime": to, "interval_s": str(window.bucket_s)}[name]

    return MACRO_RE.sub(sub, sql)


def render(sql: str, defs: Mapping[str, dict], selection: Selection, window: QueryWindow) -> str:
    """A target's rawSql as ClickHouse receives it."""
    return expand_macros(interpolate_variables(sql, defs, selection), window)
