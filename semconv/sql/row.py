"""What the mapping reads of one raw `otel_traces` row, as SQL: its columns, its attribute maps
(cast once per query), cheap tests on its attribute keys, and the tenant it was received for.

Every builder reads a span through the aliases here (`ATTRS`, `RES`, `EV_ATTRS`, `EV_NAMES`),
bound by `MAP_CASTS` in the WITH clause of the canonical SELECT.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agentmortem.semconv import keys as k
from agentmortem.semconv.spec import Concat, IndexedItems, Source
from agentmortem.semconv.sql.text import lit, lits
from agentmortem.semconv.table import FIELD_BY_NAME

# The tenant a raw span was received for (stamped by the collector on its resource; "" without a key),
# over the table's own column, for WHERE clauses on the raw table. With the trace id it identifies a
# trace: tenants never share one, whatever ids they send. The canonical `tenant` field reads the same key.
RAW_TENANT = f"{k.RESOURCE_ATTRIBUTES}[{lit(k.TENANT)}]"

READ = ", ".join(f"`{c}`" for c in k.COLUMNS_READ)  # the raw columns the mapping reads
EV_NAMES = f"`{k.EVENT_NAMES}`"
# The attribute maps, cast once per query from Map(LowCardinality(String), String): every
# `m['key']` on the LowCardinality map materialises its keys again, far slower per lookup.
# `KEYS` (every span attribute key, one per line) lets one substring search rule out
# spans that carry no key with a given prefix before the per-key lambdas run.
ATTRS, RES, EV_ATTRS, KEYS = "_span_attrs", "_resource_attrs", "_event_attrs", "_span_keys"
_CASTS = (
    f"CAST(`{k.SPAN_ATTRIBUTES}`, 'Map(String, String)') AS {ATTRS}",
    f"CAST(`{k.RESOURCE_ATTRIBUTES}`, 'Map(String, String)') AS {RES}",
    f"CAST(`{k.EVENT_ATTRIBUTES}`, 'Array(Map(String, String))') AS {EV_ATTRS}",
    f"arrayStringConcat(mapKeys({ATTRS}), '\\n') AS {KEYS}",
)
_LITERAL_HEAD = re.compile(r"^\^?\(?((?:[A-Za-z0-9_]|\\\.)+)")


def column(name: str, as_text: bool = True) -> str:
    """A raw column (the timestamp as Unix nanoseconds), as text unless `as_text` is false."""
    raw = f"toUnixTimestamp64Nano(`{name}`)" if name == k.TIMESTAMP else f"`{name}`"
    return f"toString({raw})" if as_text else raw


def keys_may_contain(literals: Sequence[str]) -> str:
    """A cheap necessary condition for "some span attribute key contains (or starts with) one of
    `literals`": one substring search over all keys (`KEYS`) rules out the other spans."""
    return f"multiSearchAny({KEYS}, {lits(list(literals))})"


def required_literal(pattern: str) -> str:
    """Literal text at the start of every match of `pattern` ('' when not simply known): its
    leading run of plain characters, without one a quantifier follows; none if it alternates
    or the run is in an optional group."""
    match = _LITERAL_HEAD.match(pattern)
    if not match or "|" in pattern:
        return ""
    head, rest = match.group(1), pattern[match.end():]
    if rest[:1] == ")" and rest[1:2] in ("?", "*", "{"):
        return ""
    if rest[:1] in ("?", "*", "{"):
        head = head[:-2] if head.endswith("\\.") else head[:-1]
    return head.replace("\\.", ".")


def literal_head(pattern: str) -> str:
    """The literal text every key matching `pattern` (an anchored `^…` regex) starts with."""
    return required_literal(pattern) if pattern.startswith("^") else ""


def _indexed_heads(sources: Sequence[Source]) -> list[str]:
    """The literal heads of the `IndexedItems` stems among `sources` (inside `Concat`s too)."""
    heads = []
    for src in sources:
        if isinstance(src, Concat):
            heads += _indexed_heads(src.parts)
        elif isinstance(src, IndexedItems) and literal_head(src.stem):
            heads.append(literal_head(src.stem))
    return heads


# Per literal head of an indexed source (`llm.input_messages.`, `gen_ai.prompt.`…), the span attributes
# whose keys start with it, filtered once per span: an indexed source scans the keys it may read
# several times (stems, one lookup list per item key, content parts), and an OpenInference model
# call carries dozens of attributes, mostly its input messages: a map per head makes the whole
# mapping markedly cheaper. WITH aliases no column uses are not computed.
_SUB_MAPS = {head: f"{ATTRS}_{i}" for i, head in enumerate(dict.fromkeys(
    h for f in FIELD_BY_NAME.values() for h in _indexed_heads(f.sources)))}
MAP_CASTS = _CASTS + tuple(f"mapFilter((k, v) -> startsWith(k, {lit(head)}), {ATTRS}) AS {alias}"
                           for head, alias in _SUB_MAPS.items())


def attrs_under(head: str) -> str:
    """The attribute map holding every span attribute whose key starts with `head`."""
    return _SUB_MAPS.get(head, ATTRS)


def attrs_where(cond: str, attrs: str = ATTRS) -> tuple[str, str]:
    """(keys, values) of the span attributes (of map `attrs`) whose key `k` satisfies `cond`, in map order."""
    return (f"arrayFilter(k -> {cond}, mapKeys({attrs}))",
            f"arrayFilter((v, k) -> {cond}, mapValues({attrs}), mapKeys({attrs}))")
