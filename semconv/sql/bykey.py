"""One field mapped once per distinct input instead of once per span.

Some fields repeat verbatim over many spans: an agent offers the same tools (often kilobytes of
JSON schemas) on every model call. A big round maps such a field once per distinct input: the
spans carry a key of the attributes the field is read from (`span_attributes_key`), and
`field_by_key_select` maps one span per key.
"""

from __future__ import annotations

from agentmortem.semconv import keys as k
from agentmortem.semconv.spec import Attr, EventAttr, IndexedItems, IndexedValues, JsonItems, JsonPath, Source
from agentmortem.semconv.sql.row import ATTRS, MAP_CASTS, READ, RES, keys_may_contain, literal_head
from agentmortem.semconv.sql.scalars import scalar
from agentmortem.semconv.sql.select import column_expr, helper_alias, raw_rows
from agentmortem.semconv.sql.text import check_name, lit
from agentmortem.semconv.table import FIELD_BY_NAME


def _attribute_inputs(src: Source) -> tuple[list[str], list[str]]:
    """(SQL of the exact span or event attributes, key prefixes of span attributes) covering every
    attribute `src` reads."""
    if src.when:
        raise ValueError(f"{src!r} depends on the span's category, not only on its attributes")
    if isinstance(src, (Attr, EventAttr)):
        return [scalar(src)], []
    if isinstance(src, (JsonPath, JsonItems)) and isinstance(src.source, (Attr, EventAttr, JsonPath)):
        return _attribute_inputs(src.source)
    if isinstance(src, (IndexedItems, IndexedValues)):
        head = literal_head(src.stem if isinstance(src, IndexedItems) else src.pattern)
        if head:
            return [], [head]
    raise ValueError(f"{src!r} reads more than a bounded set of span attributes")


def span_attributes_key(name: str) -> str:
    """SQL over a raw row (with `canonical_select`'s helpers): a 64-bit hash (UInt64) of the span's
    tenant and of the span attributes canonical field `name` is read from (the values of the keys its
    sources name, and every key and value starting like its indexed ones). Spans with equal keys get
    equal values of the field, but for hash collisions (~n²/2⁶⁵ for n distinct inputs in one round);
    the tenant in the hash keeps one tenant's input from ever standing for another's. Raises
    ValueError for a field that reads anything else (other columns, span events other than named attributes, the category)."""
    exact: list[str] = []
    prefixes: list[str] = []
    for src in FIELD_BY_NAME[name].sources:
        keys, heads = _attribute_inputs(src)
        exact += keys
        prefixes += heads
    values = [f"{RES}[{lit(k.TENANT)}]"] + list(dict.fromkeys(exact))
    if prefixes:  # filtered only in spans whose keys may start so (cheap test first)
        starts = " OR ".join(f"startsWith(k, {lit(p)})" for p in prefixes)
        values.append(f"if({keys_may_contain(tuple(prefixes))}, toString(mapFilter((k, v) -> {starts}, {ATTRS})), '')")
    return f"cityHash64({', '.join(values)})"


def field_by_key_select(name: str, source: str, where: str, logs: str = "", logs_where: str = "") -> str:
    """A SELECT of (`key`, `value`) over raw table `source`: canonical field `name` mapped once per
    distinct `span_attributes_key(name)` among the rows passing `where` (trusted SQL, as for
    `canonical_select`; `logs`, `logs_where`: log events read as span events, as there). A small
    query: only this field's mapping is planned and run."""
    check_name(source)
    rows_from = raw_rows(source, where, logs, logs_where)
    helper, expr = column_expr(name)
    helpers = list(MAP_CASTS) + ([f"{helper} AS {helper_alias(name)}"] if helper else [])
    rows = (f"(WITH {', '.join(MAP_CASTS)} SELECT {READ}, {span_attributes_key(name)} AS _key FROM {rows_from} "
            "LIMIT 1 BY _key)")
    return "WITH\n  " + ",\n  ".join(helpers) + f"\nSELECT _key AS key, {expr} AS value\nFROM {rows}"
