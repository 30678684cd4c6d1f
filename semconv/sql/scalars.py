"""Scalar sources and the text-valued fields built from them, and the span's classification.

A scalar source (an attribute, a resource attribute, a column, an event attribute, a JSON path
into one of those, a span-name suffix) becomes one SQL text expression, '' when absent; a field
takes the first of its sources that is present (`multiIf`). The category and the convention
are computed from the same rules the Python reference (`tests/semconv/reference.py`) applies.
"""

from __future__ import annotations

from agentmortem.semconv import keys as k
from agentmortem.semconv.spec import Attr, Col, EventAttr, Field, JsonPath, NameAfter, Res, Source
from agentmortem.semconv.sql.row import ATTRS, EV_ATTRS, EV_NAMES, RES, column, keys_may_contain
from agentmortem.semconv.sql.text import lit, lits, str_or_raw
from agentmortem.semconv.table import CATEGORY_RULES, CONVENTIONS, NAME_RULES


def scalar(src: Source) -> str:
    """SQL text expression of a scalar source ('' when absent); TypeError for an item source."""
    if isinstance(src, Attr):
        return f"{ATTRS}[{lit(src.key)}]"
    if isinstance(src, Res):
        return f"{RES}[{lit(src.key)}]"
    if isinstance(src, Col):
        return column(src.name)
    if isinstance(src, EventAttr):
        return f"{EV_ATTRS}[indexOf({EV_NAMES}, {lit(src.event)})][{lit(src.key)}]"
    if isinstance(src, JsonPath):
        doc = scalar(src.source)
        if not src.path:
            return f"if(isValidJSON({doc}), {str_or_raw(doc, ())}, {doc})"
        return str_or_raw(doc, src.path)
    if isinstance(src, NameAfter):
        name = f"`{k.SPAN_NAME}`"
        return f"if(startsWith({name}, {lit(src.prefix)}), substring({name}, {len(src.prefix) + 1}), '')"
    raise TypeError(f"not a scalar source: {src!r}")


def when(src: Source, condition: str) -> str:
    """`condition`, and, for a source that applies to some categories only, the span's being one."""
    if not src.when:
        return condition
    return f"(category IN ({', '.join(lit(c) for c in src.when)}) AND {condition})"


def first_present(pairs: list[tuple[str, str]], default: str) -> str:
    """The value of the first (condition, value) pair whose condition holds, else `default`."""
    if not pairs:
        return default
    return "multiIf(" + ", ".join(f"{c}, {v}" for c, v in pairs) + f", {default})"


def scalar_field(f: Field) -> str:
    """SQL text of a scalar field: its first source present (neither '' nor a placeholder)."""
    pairs = []
    for src in f.sources:
        expr = scalar(src)
        absent = ("",) + f.placeholders
        pairs.append((when(src, f"{expr} NOT IN ({', '.join(lit(a) for a in absent)})"), expr))
    return first_present(pairs, "''")


def category_expr() -> str:
    """SQL for the span category: attribute rules first, span-name patterns last, else 'other'."""
    pairs = []
    for rule in CATEGORY_RULES:
        mapped = f"transform(lower({scalar(rule.source)}), {lits(list(rule.values))}, {lits(list(rule.values.values()))}, '')"
        pairs.append((f"{mapped} != ''", mapped))
    pairs += [(f"match(`{k.SPAN_NAME}`, {lit(r.pattern)})", lit(r.category)) for r in NAME_RULES]
    return first_present(pairs, "'other'")


def convention_expr() -> str:
    """SQL naming the first convention whose keys or scope the span carries."""
    pairs = []
    for rule in CONVENTIONS:
        starts = " OR ".join(f"startsWith(y, {lit(p)})" for p in rule.key_prefixes)
        tests = [f"({keys_may_contain(rule.key_prefixes)} AND arrayExists(y -> {starts}, mapKeys({ATTRS})))"]
        if rule.scopes:
            tests.append(f"`{k.SCOPE_NAME}` IN ({', '.join(map(lit, rule.scopes))})")
        pairs.append((" OR ".join(tests), lit(rule.name)))
    return first_present(pairs, "''")
