"""Message and JSON shaping: one item (a JSON object, or plain texts) into one canonical object.

A `Shape` names the canonical object's keys; each takes the first present path of the item
and converts it by kind (`str`, `num`, `json`, `content`). Items are walked as raw JSON
(`shape_of`, `objects`), or, when their values are already plain texts (indexed attributes,
events), built from those texts directly (`objects_from_arrays`). Results are JSON text, one
string per canonical object.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agentmortem.semconv.jsonvalues import NUMBER_RE
from agentmortem.semconv.spec import PART_SKIP_TYPES, PART_TEXT_PATHS, Out, Shape
from agentmortem.semconv.sql.text import js, let, lit, path_args, unquote

# Part types that are not text, as compact JSON strings: ClickHouse writes these plain names
# without escapes, so comparing the raw `type` value equals comparing its string value.
_SKIP_TYPES_RAW = ", ".join(lit(f'"{t}"') for t in PART_SKIP_TYPES)
assert all(re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in PART_SKIP_TYPES)

OUT_DEFAULTS = {"str": "'\"\"'", "content": "'\"\"'", "num": "'null'", "json": "'null'"}


def entries(doc: str) -> str:
    """The top-level (key, compact JSON value) pairs of JSON text `doc` ([] unless an object)."""
    return f"JSONExtractKeysAndValuesRaw({doc})"


def _raw_at(kv: str, path: tuple[str, ...]) -> str:
    """`JSONExtractRaw(doc, *path)` ('' when absent) read from `kv`, the doc's `entries`.

    One parse lists every top-level value of an item; a `JSONExtractRaw` per path parsed the
    whole item again for each (the presence test and the value, path after path). The first
    equal key wins, as in `JSONExtractRaw`; deeper steps parse only the small value found.
    """
    first = f"tupleElement({kv}, 2)[indexOf(tupleElement({kv}, 1), {lit(path[0])})]"
    return f"JSONExtractRaw({first}{path_args(path[1:])})" if len(path) > 1 else first


def _first_raw(kv: str, paths: tuple[tuple[str, ...], ...]) -> str:
    """The compact JSON at the first of `paths` present in the item ('' when none is).

    All paths are read (cheap lookups in `kv`) and the first non-empty one kept: a
    `multiIf` over presence tests costs more here, as each lazily evaluated branch first
    copies out the rows it applies to.
    """
    raws = [_raw_at(kv, path) for path in paths]
    return raws[0] if len(raws) == 1 else f"arrayFirst(r -> r != '', [{', '.join(raws)}])"


def _part_text(q: str, kv: str) -> str:
    """Text of message part `q` (a raw array element, so a string starts with a quote), whose
    `entries` are `kv`."""
    return (f"if(startsWith({q}, '\"'), JSONExtractString({q}), "
            f"if({_raw_at(kv, ('type',))} IN ({_SKIP_TYPES_RAW}), '', "
            f"{let('r', _first_raw(kv, PART_TEXT_PATHS), unquote('r'))}))")


def _with_entries(var: str, arr: str) -> tuple[str, str]:
    """Lambda parameters and arrays for a map over JSON elements `arr`: `var` is the element and
    `var_kv` its `entries`, computed once per element."""
    return f"({var}, {var}_kv)", f"{arr}, arrayMap({var} -> {entries(var)}, {arr})"


def _convert(kind: str, v: str) -> str:
    """JSON text of one output value from `v`, the raw JSON text found at the chosen path."""
    if kind == "str":
        return js(unquote(v))
    if kind == "num":
        return let("n", unquote(v), f"if(match(n, {lit(NUMBER_RE)}), n, 'null')")
    if kind == "json":
        return (f"if(startsWith({v}, '\"'), _let_json, {v})"
                .replace("_let_json", let("s", f"JSONExtractString({v})",
                                          f"if(isValidJSON(s), JSONExtractRaw(s), {js('s')})")))
    params, arrays = _with_entries("q", f"JSONExtractArrayRaw({v})")
    text = (f"multiIf(startsWith({v}, '\"'), JSONExtractString({v}), "
            f"startsWith({v}, '['), arrayStringConcat(arrayFilter(t -> t != '', "
            f"arrayMap({params} -> {_part_text('q', 'q_kv')}, {arrays})), '\\n'), "
            f"{v} = 'null', '', JSONExtractRaw({v}))")
    return js(text)


def assemble(shape: Shape, value: Callable[[Out], str]) -> str:
    """SQL concatenating the canonical object's JSON, `value(out)` giving each non-constant value."""
    pieces = []
    for i, out in enumerate(shape.outs):
        text = js(lit(out.const)) if out.const is not None else value(out)
        pieces.append(lit(("," if i else "{") + f'"{out.name}":') + ", " + text)
    return "concat(" + ", ".join(pieces) + ", '}')"


def shape_of(shape: Shape, kv: str) -> str:
    """SQL building one canonical object's JSON from an item's `entries` `kv`."""
    def value(out: Out) -> str:
        return let("v", _first_raw(kv, out.paths),
                   f"if(v = '', {OUT_DEFAULTS[out.kind]}, {_convert(out.kind, 'v')})")
    return assemble(shape, value)


def objects(shape: Shape, arr: str) -> str:
    """`shape_of` every JSON element of `arr`."""
    return f"arrayMap(e -> {shape_of(shape, 'e')}, arrayMap(e -> {entries('e')}, {arr}))"


def text_object(pairs: list[tuple[str, str]]) -> str:
    """JSON object text from (key, SQL text expression) pairs, every value a JSON string."""
    pieces = [lit(("," if i else "{") + f'"{key}":') + ", " + js(v) for i, (key, v) in enumerate(pairs)]
    return "concat(" + ", ".join(pieces) + ", '}')"


def _text_value(kind: str, text: str) -> str:
    """`_convert` of a JSON string holding `text`, without the JSON round trip."""
    if kind == "num":
        return let("n", text, f"if(match(n, {lit(NUMBER_RE)}), n, 'null')")
    if kind == "json":
        return let("s", text, f"if(isValidJSON(s), JSONExtractRaw(s), {js('s')})")
    return js(text)


def _shape_texts(shape: Shape, texts: dict[str, str]) -> str:
    """`shape_of(shape, …)` of `text_object(pairs)` for item keys bound to plain text expressions,
    computed from the texts directly.

    In such an object every key is top-level and holds a string, so each output's first
    matching path is known here. One difference is kept: text that is not valid UTF-8 makes
    the object's JSON unreadable, and then every output takes its default.
    """
    def value(out: Out) -> str:
        text = next((texts[p[0]] for p in out.paths if len(p) == 1 and p[0] in texts), None)
        return OUT_DEFAULTS[out.kind] if text is None else _text_value(out.kind, text)
    readable = " AND ".join(f"isValidUTF8({text})" for text in texts.values())
    return f"if({readable}, {assemble(shape, value)}, {assemble(shape, lambda out: OUT_DEFAULTS[out.kind])})"


def objects_from_arrays(shape: Shape, arrays: list[tuple[str, str]]) -> str:
    """Objects built by `_shape_texts` from parallel arrays: (item key, Array(String) of its text
    per item); the first array of a key wins.

    One lambda takes the arrays as arguments: binding each text inside a per-item lambda
    instead nests a lambda per text, and every lambda copies what it reads once per element.
    """
    columns: dict[str, str] = {}
    for key, array in arrays:
        columns.setdefault(key, array)
    args = {key: f"_text{i}" for i, key in enumerate(columns)}
    return f"arrayMap(({', '.join(args.values())}) -> {_shape_texts(shape, args)}, {', '.join(columns.values())})"
