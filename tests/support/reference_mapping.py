"""The reference interpreter: the mapping table evaluated in Python, the tests' oracle for the SQL.

`canonical_from_row(row)` takes one `otel_traces` row (column names as keys) and gives
the `CanonicalSpan` that `agentmortem.semconv.sql.canonical_select` computes for it in
ClickHouse. Each function here is the twin of the SQL builder of the same name in
`agentmortem.semconv.sql`: `scalar` and `scalar_field` (`scalars`), `shape_of` (`shapes`), `items`
and `json_field` (`items`); `category_of`, `convention_of` and `column_value` are the twins of
`scalars.category_expr`, `scalars.convention_expr` and `select.column_expr`.
The same table drives both; only tests use this one, so it lives with them, not in the package.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from agentmortem.semconv import keys as k
from agentmortem.semconv.jsonvalues import ARRAY_START_RE, DIGITS_RE, INT_RE, NUMBER_RE
from agentmortem.semconv.model import CANONICAL_COLUMNS, CanonicalSpan
from agentmortem.semconv.spec import (
    PART_SKIP_TYPES,
    PART_TEXT_PATHS,
    Attr,
    Col,
    Concat,
    EventAttr,
    EventItems,
    EventJson,
    Field,
    IndexedItems,
    IndexedValues,
    JsonItems,
    JsonPath,
    NameAfter,
    Out,
    Res,
    Scalar,
    Shape,
    Source,
    TextItem,
)
from agentmortem.semconv.table import CATEGORY_RULES, CONVENTIONS, FIELD_BY_NAME, NAME_RULES

_MISSING = object()


def _reject_constant(name: str) -> None:
    raise ValueError(f"not JSON: {name}")


def strict_json_or_missing(text: str) -> Any:
    """Parsed JSON, or `_MISSING` when `text` is not strict JSON (as ClickHouse's isValidJSON)."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, TypeError):
        return _MISSING


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    return value


def compact(value: Any) -> str:
    """Compact JSON text as ClickHouse's JSONExtractRaw/toJSONString write it (it escapes U+2028/9)."""
    text = json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _at(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return _MISSING
        doc = doc[key]
    return doc


def _str_or_raw(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    return value if isinstance(value, str) else compact(value)


# -- scalars ---------------------------------------------------------------------------------


def _timestamp_ns(value: Any) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    return int(value)


def _column(row: dict, name: str, as_text: bool = True) -> Any:
    value = row.get(name, "")
    if name == k.TIMESTAMP:
        value = _timestamp_ns(value)
    return "" if value is None else str(value) if as_text else value


def _event_attr(row: dict, event: str, key: str) -> str:
    names = list(row.get(k.EVENT_NAMES) or [])
    if event not in names:
        return ""
    return (row.get(k.EVENT_ATTRIBUTES) or [])[names.index(event)].get(key, "")


def scalar(src: Scalar, row: dict) -> str:
    """Text value of a scalar source ('' when absent)."""
    if isinstance(src, Attr):
        return row.get(k.SPAN_ATTRIBUTES, {}).get(src.key, "")
    if isinstance(src, Res):
        return row.get(k.RESOURCE_ATTRIBUTES, {}).get(src.key, "")
    if isinstance(src, Col):
        return _column(row, src.name)
    if isinstance(src, EventAttr):
        return _event_attr(row, src.event, src.key)
    if isinstance(src, JsonPath):
        doc = scalar(src.source, row)
        parsed = strict_json_or_missing(doc)
        if not src.path:
            return doc if parsed is _MISSING else _str_or_raw(parsed)
        return "" if parsed is _MISSING else _str_or_raw(_at(parsed, src.path))
    if isinstance(src, NameAfter):
        name = row.get(k.SPAN_NAME, "")
        return name[len(src.prefix):] if name.startswith(src.prefix) else ""
    raise TypeError(f"not a scalar source: {src!r}")


def _applies(src: Source, category: str) -> bool:
    return not src.when or category in src.when


def scalar_field(f: Field, row: dict, category: str) -> str:
    absent = ("",) + f.placeholders
    for src in f.sources:
        value = scalar(src, row)
        if _applies(src, category) and value not in absent:
            return value
    return ""


# -- shapes -------------------------------------------------------------------------------------


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict) or part.get("type") in PART_SKIP_TYPES:
        return ""
    for path in PART_TEXT_PATHS:
        value = _at(part, path)
        if value is not _MISSING:
            return _str_or_raw(value)
    return ""


def _out_value(out: Out, value: Any) -> Any:
    if out.kind == "str":
        return _str_or_raw(value)
    if out.kind == "num":
        raw = _str_or_raw(value)
        return _Raw(raw) if re.match(NUMBER_RE, raw) else None
    if out.kind == "json":
        if isinstance(value, str):
            parsed = strict_json_or_missing(value)
            return value if parsed is _MISSING else parsed
        return value
    if isinstance(value, list):  # content
        return "\n".join(t for t in (_part_text(p) for p in value) if t)
    return _str_or_raw(value)


class _Raw(str):
    """A number kept as its original text, so SQL and Python render it identically."""


_OUT_DEFAULTS: dict[str, Any] = {"str": "", "content": "", "num": None, "json": None}


def shape_of(shape: Shape, item: Any) -> dict:
    obj: dict[str, Any] = {}
    for out in shape.outs:
        if out.const is not None:
            obj[out.name] = out.const
            continue
        obj[out.name] = _OUT_DEFAULTS[out.kind]
        for path in out.paths:
            value = _at(item, path)
            if value is not _MISSING:
                obj[out.name] = _out_value(out, value)
                break
    return obj


# -- item sources ----------------------------------------------------------------------------------


def _index_order(text: str) -> tuple[int, ...]:
    return tuple(int(d) for d in re.findall(DIGITS_RE, text))


def _indexed_value(attrs: dict[str, str], stem: str, suffix: str, parts: str | None) -> str:
    """One item key of an `IndexedItems` object: its attribute, else its joined parts."""
    own = attrs.get(stem + suffix, "")
    if own or parts is None:
        return own
    keys = sorted((key for key in attrs if key.startswith(stem) and re.fullmatch(parts, key[len(stem):])),
                  key=_index_order)
    return "\n".join(attrs[key] for key in keys if attrs[key])


def items(src: Source, row: dict, category: str) -> list[dict] | None:
    """Canonical objects of an item source, or None when the source is absent."""
    if not _applies(src, category):
        return None
    attrs: dict[str, str] = row.get(k.SPAN_ATTRIBUTES, {})
    if isinstance(src, JsonItems):
        doc = scalar(src.source, row)
        if doc == "":
            return None
        arr = _at(strict_json_or_missing(doc), src.path) if strict_json_or_missing(doc) is not _MISSING else _MISSING
        elements = arr if isinstance(arr, list) else []
        if src.parse_strings:
            elements = [strict_json_or_missing(e) if isinstance(e, str) else e for e in elements]
        if src.flatten:
            elements = [p for e in elements if isinstance(e, dict) and isinstance(e.get(src.flatten), list)
                        for p in e[src.flatten]]
        if src.only_types:
            elements = [e for e in elements if isinstance(e, dict) and e.get("type") in src.only_types]
        return [shape_of(src.shape, e) for e in elements]
    if isinstance(src, IndexedItems):
        stems = sorted({m.group(1) for key in attrs if (m := re.search(src.stem, key))}, key=_index_order)
        if not stems:
            return None
        joined = dict(src.joined)
        return [shape_of(src.shape, {key: _indexed_value(attrs, stem, suffix, joined.get(key))
                                   for key, suffix in src.fields}) for stem in stems]
    if isinstance(src, IndexedValues):
        matched = sorted((key for key in attrs if re.search(src.pattern, key)), key=_index_order)
        if not matched:
            return None
        return [shape_of(src.shape, strict_json_or_missing(attrs[key])) for key in matched]
    if isinstance(src, EventItems):
        names = dict(src.names)
        events = zip(row.get(k.EVENT_NAMES) or [], row.get(k.EVENT_ATTRIBUTES) or [])
        picked = [(n, a) for n, a in events if n in names]
        if not picked:
            return None
        built = []
        for name, attributes in picked:
            item = {src.name_as: names[name]} if src.name_as else {}
            item.update({key: attributes.get(attr, "") for key, attr in src.fields})
            built.append(shape_of(src.shape, item))
        return built
    if isinstance(src, EventJson):
        found = []
        for name, attributes in zip(row.get(k.EVENT_NAMES) or [], row.get(k.EVENT_ATTRIBUTES) or []):
            if name not in dict(src.names):
                continue
            parsed = strict_json_or_missing(attributes.get(src.key, ""))
            doc = _MISSING if parsed is _MISSING else _at(parsed, src.path)
            docs = (doc if isinstance(doc, list) else []) if src.elements else [doc]
            for d in docs:
                if isinstance(d, dict):
                    found.append({**d, src.name_as: d.get(src.name_as, dict(src.names)[name])} if src.name_as else d)
        return [shape_of(src.shape, d) for d in found] or None
    if isinstance(src, TextItem):
        text = scalar(src.source, row)
        if text == "" or not _applies(src.source, category):
            return None
        return [{"role": src.role, "content": text}]
    if isinstance(src, Concat):
        parts = [items(p, row, category) for p in src.parts]
        if all(p is None for p in parts):
            return None
        return [obj for p in parts for obj in (p or [])]
    raise TypeError(f"not an item source: {src!r}")


def _dump(objects: list[dict]) -> str:
    def render(v: Any) -> str:
        if isinstance(v, _Raw):
            return str(v)
        return compact(v)
    return "[" + ",".join("{" + ",".join(f"{compact(key)}:{render(v)}" for key, v in o.items()) + "}"
                          for o in objects) + "]"


def json_field(f: Field, row: dict, category: str) -> str:
    for src in f.sources:
        found = items(src, row, category)
        if found is not None:
            return _dump(found) if found else ""
    return ""


# -- classification -----------------------------------------------------------------------------------


def category_of(row: dict) -> str:
    """The span category: attribute rules first, span-name patterns last, else 'other'."""
    for rule in CATEGORY_RULES:
        mapped = rule.values.get(scalar(rule.source, row).lower(), "")
        if mapped:
            return mapped
    name = row.get(k.SPAN_NAME, "")
    for name_rule in NAME_RULES:
        if re.search(name_rule.pattern, name):
            return name_rule.category
    return "other"


def convention_of(row: dict) -> str:
    """The first convention whose keys or scope the span carries."""
    keys = list(row.get(k.SPAN_ATTRIBUTES, {}))
    for rule in CONVENTIONS:
        if any(key.startswith(rule.key_prefixes) for key in keys) or row.get(k.SCOPE_NAME, "") in rule.scopes:
            return rule.name
    return ""


def column_value(name: str, row: dict, category: str) -> Any:
    """One canonical column's value for `row`."""
    if name == "category":
        return category
    if name == "convention":
        return convention_of(row)
    f = FIELD_BY_NAME[name]
    if f.kind == "json":
        return json_field(f, row, category)
    if f.kind == "int" and isinstance(f.sources[0], Col):
        return int(_column(row, f.sources[0].name, as_text=False))
    text = scalar_field(f, row, category)
    if f.kind == "int":
        return int(text) if re.match(INT_RE, text) else None
    if f.kind == "float":
        return float(text) if re.match(NUMBER_RE, text) else None
    if f.kind == "strlist":
        if re.match(ARRAY_START_RE, text) and (parsed := strict_json_or_missing(text)) is not _MISSING and isinstance(parsed, list):
            return tuple(v if isinstance(v, str) else "" for v in parsed)
        return (text,) if text else ()
    return text


def log_event_name(log: dict) -> str:
    """A log record's event name: its `EventName` column, else its `event.name` attribute."""
    return log.get(k.LOG_EVENT_NAME) or (log.get(k.LOG_ATTRIBUTES) or {}).get(k.LOG_EVENT_NAME_ATTRIBUTE, "")


def fold_log_events(rows: list[dict], logs: list[dict]) -> list[dict]:
    """Twin of `semconv.sql.logs.rows_with_log_events`: `otel_traces` rows with their spans' log records
    (`otel_logs` rows) after their own events; records once each, in time order; others left out."""
    per_span: dict[tuple, set] = {}
    for log in logs:
        name = log_event_name(log)
        if not (log["TraceId"] and log["SpanId"] and name):
            continue
        attrs = {**log.get(k.LOG_ATTRIBUTES, {}), k.LOG_BODY: log.get(k.LOG_BODY_COLUMN, "")}
        span = (log.get(k.RESOURCE_ATTRIBUTES, {}).get(k.TENANT, ""), log["TraceId"], log["SpanId"])
        per_span.setdefault(span, set()).add((_timestamp_ns(log[k.TIMESTAMP]), name, tuple(attrs.items())))
    folded = []
    for row in rows:
        span = (row.get(k.RESOURCE_ATTRIBUTES, {}).get(k.TENANT, ""), row[k.TRACE_ID], row[k.SPAN_ID])
        events = sorted(per_span.get(span, ()), key=lambda e: (e[0], e[1], [a for a, _ in e[2]], [v for _, v in e[2]]))
        folded.append({**row, k.EVENT_NAMES: list(row.get(k.EVENT_NAMES) or []) + [e[1] for e in events],
                       k.EVENT_ATTRIBUTES: list(row.get(k.EVENT_ATTRIBUTES) or []) + [dict(e[2]) for e in events]})
    return folded


def canonical_from_row(row: dict) -> CanonicalSpan:
    """The canonical span for one `otel_traces` row (keys are the table's column names)."""
    category = category_of(row)
    return CanonicalSpan(**{name: column_value(name, row, category) for name in CANONICAL_COLUMNS})
