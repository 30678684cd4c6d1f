"""The mapping table compiled to one ClickHouse SELECT over a raw `otel_traces` table.

`canonical_select()` returns a query producing `CANONICAL_COLUMNS` in order, evaluated
column-wise inside ClickHouse: first-present-source-wins becomes `multiIf`, JSON shapes
become JSON functions and lambdas. The Python twin of every rule is `semconv.extract`;
tests hold both to the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agentmortem.semconv import keys as k
from agentmortem.semconv.jsonvalues import ARRAY_START_RE, DIGITS_RE, INT_RE, NUMBER_RE
from agentmortem.semconv.model import CANONICAL_COLUMNS
from agentmortem.semconv.spec import (
    PART_SKIP_TYPES,
    PART_TEXT_PATHS,
    Attr,
    Col,
    Concat,
    EventAttr,
    EventItems,
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

_SAFE_SOURCE = re.compile(r"^[A-Za-z0-9_.]+$")
_READ = ", ".join(f"`{c}`" for c in k.COLUMNS_READ)  # the raw columns the mapping reads
_EV_NAMES = f"`{k.EVENT_NAMES}`"
# The attribute maps, cast once per query from Map(LowCardinality(String), String): every
# `m['key']` on the LowCardinality map materialises its keys again, many times slower per lookup.
# `_span_keys` (every span attribute key, one per line) lets one substring search rule out
# spans that carry no key with a given prefix before the per-key lambdas run.
_ATTRS, _RES, _EV_ATTRS, _KEYS = "_span_attrs", "_resource_attrs", "_event_attrs", "_span_keys"
_MAP_CASTS = (
    f"CAST(`{k.SPAN_ATTRIBUTES}`, 'Map(String, String)') AS {_ATTRS}",
    f"CAST(`{k.RESOURCE_ATTRIBUTES}`, 'Map(String, String)') AS {_RES}",
    f"CAST(`{k.EVENT_ATTRIBUTES}`, 'Array(Map(String, String))') AS {_EV_ATTRS}",
    f"arrayStringConcat(mapKeys({_ATTRS}), '\\n') AS {_KEYS}",
)
_GATHERED_BLOCK_ROWS = 8192  # see canonical_select(gather_by=…)
_LITERAL_HEAD = re.compile(r"^\^?\(?((?:[A-Za-z0-9_]|\\\.)+)")


def lit(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _lits(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]"


def _js(expr: str) -> str:
    """A JSON string literal of a text expression (no `\\/` escapes, like Python's json)."""
    return f"replaceAll(toJSONString({expr}), '\\\\/', '/')"


def _path(path: tuple[str, ...]) -> str:
    return "".join(", " + lit(p) for p in path)


def _unquote(raw: str) -> str:
    """Text of `raw`, the compact JSON of one value (as `JSONExtractRaw` gives it, '' when absent):
    a string unquoted, null as empty, anything else as is. Reading the small raw value again is
    cheaper than asking the whole document for its type first."""
    return f"multiIf(startsWith({raw}, '\"'), JSONExtractString({raw}), {raw} = 'null', '', {raw})"


def _str_or_raw(doc: str, path: tuple[str, ...]) -> str:
    """Value at `path` as text: a JSON string unquoted, null as empty, anything else compact JSON."""
    return _unquote(f"JSONExtractRaw({doc}{_path(path)})")


def _keys_may_contain(literals: tuple[str, ...]) -> str:
    """A cheap necessary condition for "some span attribute key contains (or starts with) one of
    `literals`": one substring search over all keys (`_span_keys`) rules out the other spans."""
    return f"multiSearchAny({_KEYS}, {_lits(list(literals))})"


def _required_literal(pattern: str) -> str:
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


def _literal_head(pattern: str) -> str:
    """The literal text every key matching `pattern` (an anchored `^…` regex) starts with."""
    return _required_literal(pattern) if pattern.startswith("^") else ""


def _indexed_heads(sources: tuple) -> list[str]:
    """The literal heads of the `IndexedItems` stems among `sources` (inside `Concat`s too)."""
    heads = []
    for src in sources:
        if isinstance(src, Concat):
            heads += _indexed_heads(src.parts)
        elif isinstance(src, IndexedItems) and _literal_head(src.stem):
            heads.append(_literal_head(src.stem))
    return heads


# Per literal head of an indexed source (`llm.input_messages.`, `gen_ai.prompt.`…), the span attributes
# whose keys start with it, filtered once per span: an indexed source scans the keys it may read
# several times (stems, one lookup list per item key, content parts), and an OpenInference model
# call carries dozens of attributes, mostly its input messages: filtering once makes the whole mapping
# markedly cheaper (docs/benchmarks.md). WITH aliases no column uses are not computed.
_SUB_MAPS = {head: f"{_ATTRS}_{i}" for i, head in enumerate(dict.fromkeys(
    h for f in FIELD_BY_NAME.values() for h in _indexed_heads(f.sources)))}
_MAP_CASTS += tuple(f"mapFilter((k, v) -> startsWith(k, {lit(head)}), {_ATTRS}) AS {alias}"
                    for head, alias in _SUB_MAPS.items())


def _attrs_under(head: str) -> str:
    """The attribute map holding every span attribute whose key starts with `head`."""
    return _SUB_MAPS.get(head, _ATTRS)


# -- scalars ------------------------------------------------------------------------------


def _column(name: str, as_text: bool = True) -> str:
    raw = f"toUnixTimestamp64Nano(`{name}`)" if name == k.TIMESTAMP else f"`{name}`"
    return f"toString({raw})" if as_text else raw


def scalar(src: Scalar) -> str:
    """SQL text expression of a scalar source ('' when absent)."""
    if isinstance(src, Attr):
        return f"{_ATTRS}[{lit(src.key)}]"
    if isinstance(src, Res):
        return f"{_RES}[{lit(src.key)}]"
    if isinstance(src, Col):
        return _column(src.name)
    if isinstance(src, EventAttr):
        return f"{_EV_ATTRS}[indexOf({_EV_NAMES}, {lit(src.event)})][{lit(src.key)}]"
    if isinstance(src, JsonPath):
        doc = scalar(src.source)
        if not src.path:
            return f"if(isValidJSON({doc}), {_str_or_raw(doc, ())}, {doc})"
        return _str_or_raw(doc, src.path)
    if isinstance(src, NameAfter):
        name = f"`{k.SPAN_NAME}`"
        return f"if(startsWith({name}, {lit(src.prefix)}), substring({name}, {len(src.prefix) + 1}), '')"
    raise TypeError(f"not a scalar source: {src!r}")


def _when(src: Source, condition: str) -> str:
    if not src.when:
        return condition
    return f"(category IN ({', '.join(lit(c) for c in src.when)}) AND {condition})"


def _first_present(pairs: list[tuple[str, str]], default: str) -> str:
    if not pairs:
        return default
    return "multiIf(" + ", ".join(f"{c}, {v}" for c, v in pairs) + f", {default})"


def _scalar_field(f: Field) -> str:
    pairs = []
    for src in f.sources:
        expr = scalar(src)
        absent = ("",) + f.placeholders
        pairs.append((_when(src, f"{expr} NOT IN ({', '.join(lit(a) for a in absent)})"), expr))
    return _first_present(pairs, "''")


# -- shapes -----------------------------------------------------------------------------------


def _entries(doc: str) -> str:
    """The top-level (key, compact JSON value) pairs of JSON text `doc` ([] unless an object)."""
    return f"JSONExtractKeysAndValuesRaw({doc})"


def _raw_at(entries: str, path: tuple[str, ...]) -> str:
    """`JSONExtractRaw(doc, *path)` ('' when absent) read from `entries`, the doc's `_entries`.

    One parse lists every top-level value of an item; a `JSONExtractRaw` per path parsed the
    whole item again for each (the presence test and the value, path after path). The first
    equal key wins, as in `JSONExtractRaw`; deeper steps parse only the small value found.
    """
    first = f"tupleElement({entries}, 2)[indexOf(tupleElement({entries}, 1), {lit(path[0])})]"
    return f"JSONExtractRaw({first}{_path(path[1:])})" if len(path) > 1 else first


# Part types that are not text, as compact JSON strings: ClickHouse writes these plain names
# without escapes, so comparing the raw `type` value equals comparing its string value.
_SKIP_TYPES_RAW = ", ".join(lit(f'"{t}"') for t in PART_SKIP_TYPES)
_SKIP_TYPES = ", ".join(lit(t) for t in PART_SKIP_TYPES)  # the same names as strings, for the typed path
assert all(re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in PART_SKIP_TYPES)


def _first_raw(entries: str, paths: tuple[tuple[str, ...], ...]) -> str:
    """The compact JSON at the first of `paths` present in the item ('' when none is).

    All paths are read (cheap lookups in `entries`) and the first non-empty one kept: a
    `multiIf` over presence tests costs more here, as each lazily evaluated branch first
    copies out the rows it applies to.
    """
    raws = [_raw_at(entries, path) for path in paths]
    return raws[0] if len(raws) == 1 else f"arrayFirst(r -> r != '', [{', '.join(raws)}])"


def _part_text(q: str, entries: str) -> str:
    """Text of message part `q` (a raw array element, so a string starts with a quote), whose
    `_entries` are `entries`."""
    return (f"if(startsWith({q}, '\"'), JSONExtractString({q}), "
            f"if({_raw_at(entries, ('type',))} IN ({_SKIP_TYPES_RAW}), '', "
            f"{_let('r', _first_raw(entries, PART_TEXT_PATHS), _unquote('r'))}))")


def _with_entries(var: str, arr: str) -> tuple[str, str]:
    """Lambda parameters and arrays for a map over JSON elements `arr`: `var` is the element and
    `var_kv` its `_entries`, computed once per element."""
    return f"({var}, {var}_kv)", f"{arr}, arrayMap({var} -> {_entries(var)}, {arr})"


def _let(var: str, value: str, body: str) -> str:
    """Bind `value` to lambda variable `var` once, so `body` can use it many times."""
    return f"arrayElement(arrayMap({var} -> {body}, [{value}]), 1)"


def _convert(kind: str, v: str) -> str:
    """JSON text of one output value from `v`, the raw JSON text found at the chosen path."""
    if kind == "str":
        return _js(_unquote(v))
    if kind == "num":
        return _let("n", _unquote(v), f"if(match(n, {lit(NUMBER_RE)}), n, 'null')")
    if kind == "json":
        return (f"if(startsWith({v}, '\"'), _let_json, {v})"
                .replace("_let_json", _let("s", f"JSONExtractString({v})",
                                           f"if(isValidJSON(s), JSONExtractRaw(s), {_js('s')})")))
    params, arrays = _with_entries("q", f"JSONExtractArrayRaw({v})")
    text = (f"multiIf(startsWith({v}, '\"'), JSONExtractString({v}), "
            f"startsWith({v}, '['), arrayStringConcat(arrayFilter(t -> t != '', "
            f"arrayMap({params} -> {_part_text('q', 'q_kv')}, {arrays})), '\\n'), "
            f"{v} = 'null', '', JSONExtractRaw({v}))")
    return _js(text)


_OUT_DEFAULTS = {"str": "'\"\"'", "content": "'\"\"'", "num": "'null'", "json": "'null'"}


def _assemble(shape: Shape, value: Callable[[Out], str]) -> str:
    """SQL concatenating the canonical object's JSON, `value(out)` giving each non-constant value."""
    pieces = []
    for i, out in enumerate(shape.outs):
        text = _js(lit(out.const)) if out.const is not None else value(out)
        pieces.append(lit(("," if i else "{") + f'"{out.name}":') + ", " + text)
    return "concat(" + ", ".join(pieces) + ", '}')"


def _shape(shape: Shape, entries: str) -> str:
    """SQL building one canonical object's JSON from an item's `_entries`."""
    def value(out: Out) -> str:
        return _let("v", _first_raw(entries, out.paths),
                    f"if(v = '', {_OUT_DEFAULTS[out.kind]}, {_convert(out.kind, 'v')})")
    return _assemble(shape, value)


def _objects(shape: Shape, arr: str) -> str:
    """`_shape` of every JSON element of `arr`."""
    return f"arrayMap(e -> {_shape(shape, 'e')}, arrayMap(e -> {_entries('e')}, {arr}))"


# -- typed fast path for text-only objects ---------------------------------------------------------
# The raw walk above parses every level of a document again (array, element, parts array, part) and
# carries raw JSON between them. One typed `JSONExtract` into nested tuples reads everything in a
# single pass (≈ 10x cheaper for GenAI message arrays) but cannot see what the raw walk sees: a key
# present with "" or null (the raw walk takes the first *present* path), a string vs another JSON
# type, a string vs an object element. So it is used only for documents where none of that can occur,
# as told by textual tests on the document that are conservative (they may send a document the raw
# way without need, never the other way): no `null`, no `""`, no key of a nested path, every value
# of a key read as text a string, every `parts` value an array, no string or array element in any
# array. Keys are found as `"key"` + `:` — inside a JSON string the quotes are escaped, so only real
# keys match. Duplicate keys: a tuple takes the first, as the raw walk does.
_PARTS_KEY = "parts"
_STRING_ELEMENT = r'[\[,]\s*"(?:[^"\\]|\\.)*"\s*[,\]]'
_ARRAY_ELEMENT = r"[\[,]\s*\["


def _fast_shape_keys(shape: Shape) -> tuple[list[str], list[str]] | None:
    """(keys read as text, heads of nested paths) when `shape` suits the typed path, else None.

    Suitable: text outputs only (`str`, `content`), and `parts` only as the last one-key path of a
    `content` output (a present parts array wins even when its text is empty, so nothing may follow).
    """
    text_keys, nested = [], []
    for out in shape.outs:
        if out.const is not None:
            continue
        if out.kind not in ("str", "content"):
            return None
        single = [path[0] for path in out.paths if len(path) == 1]
        if _PARTS_KEY in single[:-1] or (_PARTS_KEY in single and out.kind != "content"):
            return None
        text_keys += [key for key in single if key != _PARTS_KEY]
        nested += [path[0] for path in out.paths if len(path) > 1]
    return list(dict.fromkeys(text_keys)), list(dict.fromkeys(nested))


_PART_NESTED = [p[0] for p in PART_TEXT_PATHS if len(p) > 1]
_PART_KEYS = [p[0] for p in PART_TEXT_PATHS if len(p) == 1 and p[0] not in _PART_NESTED]


def _typed_unsafe_patterns(text_keys: list[str], nested: list[str]) -> list[str]:
    """Regexes, any of which in a document may make the typed path read it differently (see above)."""
    nested = list(dict.fromkeys(nested + _PART_NESTED))
    alt = "|".join(re.escape(key) for key in dict.fromkeys(text_keys + _PART_KEYS + ["type"]))
    return [
        f'"(?:{"|".join(re.escape(key) for key in nested)})"\\s*:',  # a key of a nested path
        "null", '""',  # null, or a present "" (the raw walk takes it, the typed path cannot see it)
        f'"{_PARTS_KEY}"\\s*:\\s*[^\\[\\s]',  # parts that are not an array
        f'"(?:{alt})"\\s*:\\s*[^"\\s]',  # a value read as text that is not a string
        _STRING_ELEMENT, _ARRAY_ELEMENT,  # a string or array element (a tuple reads neither as the raw walk)
    ]


def _typed_unsafe(doc: str, text_keys: list[str], nested: list[str]) -> str:
    """True for a document the typed path might read differently from the raw walk (see above)."""
    return f"match({doc}, {lit('|'.join(_typed_unsafe_patterns(text_keys, nested)))})"


def _typed_objects(shape: Shape, doc: str, text_keys: list[str]) -> tuple[str, str]:
    """(the typed array `doc`, `_objects` of it built from that array) — see above.

    An array none of whose elements converts (only `{}`s, numbers…) comes out empty where the raw
    walk gives one default object per element, so an empty typed array is left to the raw walk;
    when some element converts, the others become default tuples, as the raw walk's defaults.
    """
    part_type = "Array(Tuple(" + ", ".join(f"`{key}` String" for key in ["type", *_PART_KEYS]) + "))"
    fields = [f"`{key}` String" for key in text_keys] + [f"`{_PARTS_KEY}` {part_type}"]
    typed = f"JSONExtract({doc}, {lit('Array(Tuple(' + ', '.join(fields) + '))')})"
    part_text = (f"if(tupleElement(p, 'type') IN ({_SKIP_TYPES}), '', "
                 + "".join(f"if(tupleElement(p, {lit(key)}) != '', tupleElement(p, {lit(key)}), " for key in _PART_KEYS)
                 + "''" + ")" * (len(_PART_KEYS) + 1))
    joined = f"arrayStringConcat(arrayFilter(t -> t != '', arrayMap(p -> {part_text}, tupleElement(m, {lit(_PARTS_KEY)}))), '\\n')"

    def value(out: Out) -> str:
        texts = [f"tupleElement(m, {lit(p[0])})" if p != (_PARTS_KEY,) else joined for p in out.paths if len(p) == 1]
        first = texts[-1]
        for text in reversed(texts[:-1]):
            first = f"if({text} != '', {text}, {first})"
        return _js(first)
    return typed, f"arrayMap(m -> {_assemble(shape, value)}, {typed})"


def _text_value(kind: str, text: str) -> str:
    """`_convert` of a JSON string holding `text`, without the JSON round trip."""
    if kind == "num":
        return _let("n", text, f"if(match(n, {lit(NUMBER_RE)}), n, 'null')")
    if kind == "json":
        return _let("s", text, f"if(isValidJSON(s), JSONExtractRaw(s), {_js('s')})")
    return _js(text)


def _shape_texts(shape: Shape, texts: dict[str, str]) -> str:
    """`_shape(shape, _object(pairs))` for item keys bound to plain text expressions, computed
    from the texts directly.

    In such an object every key is top-level and holds a string, so each output's first
    matching path is known here. One difference is kept: text that is not valid UTF-8 makes
    the object's JSON unreadable, and then every output takes its default.
    """
    def value(out: Out) -> str:
        text = next((texts[p[0]] for p in out.paths if len(p) == 1 and p[0] in texts), None)
        return _OUT_DEFAULTS[out.kind] if text is None else _text_value(out.kind, text)
    readable = " AND ".join(f"isValidUTF8({text})" for text in texts.values())
    return f"if({readable}, {_assemble(shape, value)}, {_assemble(shape, lambda out: _OUT_DEFAULTS[out.kind])})"


def _objects_from_arrays(shape: Shape, arrays: list[tuple[str, str]]) -> str:
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


# -- item sources: Array(String) of canonical objects, plus a presence condition ----------------


def _index_order(x: str) -> str:
    return f"arrayMap(d -> toUInt64(d), extractAll({x}, {lit(DIGITS_RE)}))"


def _object(pairs: list[tuple[str, str]]) -> str:
    """JSON object text from (key, SQL text expression) pairs, every value a JSON string."""
    pieces = [lit(("," if i else "{") + f'"{key}":') + ", " + _js(v) for i, (key, v) in enumerate(pairs)]
    return "concat(" + ", ".join(pieces) + ", '}')"


def _attrs_where(cond: str, attrs: str = _ATTRS) -> tuple[str, str]:
    """(keys, values) of the span attributes (of map `attrs`) whose key `k` satisfies `cond`, in map order."""
    return (f"arrayFilter(k -> {cond}, mapKeys({attrs}))",
            f"arrayFilter((v, k) -> {cond}, mapValues({attrs}), mapKeys({attrs}))")


def _lookup(keys: str, values: str, key: str) -> str:
    """The value of `key` among parallel `keys`/`values` ('' when absent; the first equal key
    wins, as in a map lookup)."""
    return f"{values}[indexOf({keys}, {key})]"


def _suffixed_value(suffix: str, attrs: str) -> str:
    """`_span_attrs[concat(x, suffix)]` for stem `x`, looked up among the keys ending with `suffix`.

    A lambda that reads the attribute map gets its own copy of the whole map (keys and values,
    tool schemas included) for every array element, and a lookup compares every key: a cost
    paid for every stem and field. The keys ending with `suffix` (cut back to their stems) and
    their values do not depend on `x`, so ClickHouse computes them once per span outside the
    per-stem lambda, which only copies and searches that short list.
    """
    keys, values = _attrs_where(f"endsWith(k, {lit(suffix)})", attrs)
    stems = f"arrayMap(k -> substring(k, 1, length(k) - {len(suffix.encode())}), {keys})"
    return _lookup(stems, values, "x")


def _indexed_values(suffix: str, parts: str | None, stems: str, attrs: str) -> str:
    """One item key of an `IndexedItems` source, per stem `x` of `stems`: its attribute, else
    (with `parts`, a regex of suffixes) the non-empty values of its part attributes joined.
    `attrs`: the attribute map holding every key that starts with a stem (`_attrs_under`).

    The part attributes are filtered once per span (outside the per-stem lambda) and only in
    spans that may have one: the per-stem search is skipped whole when there is none.
    """
    own = _suffixed_value(suffix, attrs)
    owns = f"arrayMap(x -> {own}, {stems})"
    if parts is None:
        return owns
    part_keys, part_values = _attrs_where(f"match(k, {lit('(?:' + parts + ')$')})", attrs)
    ordered = (f"arraySort(p -> {_index_order('p')}, arrayFilter(p -> startsWith(p, x) AND "
               f"match(substring(p, length(x) + 1), {lit('^(?:' + parts + ')$')}), {part_keys}))")
    texts = f"arrayMap(p -> {_lookup(part_keys, part_values, 'p')}, {ordered})"
    joined = f"arrayMap(x -> if({own} != '', {own}, arrayStringConcat(arrayFilter(t -> t != '', {texts}), '\\n')), {stems})"
    literal = _required_literal(parts)
    none = f"(NOT {_keys_may_contain((literal,))} OR empty({part_keys}))" if literal else f"empty({part_keys})"
    return f"if({none}, {owns}, {joined})"


def _indexed_present(pattern: str, keys: str) -> str:
    """`notEmpty(keys)`, first ruled out cheaply for spans with no key starting like `pattern`."""
    head = _literal_head(pattern)
    return f"({_keys_may_contain((head,))} AND notEmpty({keys}))" if head else f"notEmpty({keys})"


def items(src: Source) -> tuple[str, str]:
    """(presence condition, Array(String) of canonical JSON objects) for an item source."""
    if isinstance(src, JsonItems):
        doc = scalar(src.source)
        arr = f"JSONExtractArrayRaw({doc}{_path(src.path)})"
        if src.parse_strings:
            arr = f"arrayMap(x -> if(JSONType(x) = 'String', JSONExtractString(x), x), {arr})"
        if src.flatten:
            arr = f"arrayFlatten(arrayMap(x -> JSONExtractArrayRaw(x, {lit(src.flatten)}), {arr}))"
        if src.only_types:
            arr = f"arrayFilter(x -> JSONExtractString(x, 'type') IN ({', '.join(map(lit, src.only_types))}), {arr})"
        objects = _objects(src.shape, arr)
        keys = _fast_shape_keys(src.shape)
        if keys is not None and not (src.path or src.parse_strings or src.flatten or src.only_types):
            typed, fast = _typed_objects(src.shape, doc, keys[0])
            objects = f"if({_typed_unsafe(doc, *keys)} OR empty({typed}), {objects}, {fast})"
        return _when(src, f"{doc} != ''"), objects
    if isinstance(src, IndexedItems):
        attrs = _attrs_under(_literal_head(src.stem))
        stems = (f"arraySort(x -> {_index_order('x')}, arrayDistinct(arrayFilter(x -> x != '', "
                 f"arrayMap(y -> extract(y, {lit(src.stem)}), mapKeys({attrs})))))")
        joined = dict(src.joined)
        arrays = [(key, _indexed_values(suffix, joined.get(key), stems, attrs)) for key, suffix in src.fields]
        return _when(src, _indexed_present(src.stem, stems)), _objects_from_arrays(src.shape, arrays)
    if isinstance(src, IndexedValues):
        keys, values = _attrs_where(f"match(k, {lit(src.pattern)})")  # the map itself is not copied per key
        matched = f"arraySort(x -> {_index_order('x')}, {keys})"
        return (_when(src, _indexed_present(src.pattern, matched)),
                _objects(src.shape, f"arrayMap(x -> {_lookup(keys, values, 'x')}, {matched})"))
    if isinstance(src, EventItems):
        names = _lits([n for n, _ in src.names])
        values = _lits([v for _, v in src.names])
        picked = f"arrayFilter(i -> has({names}, {_EV_NAMES}[i]), arrayEnumerate({_EV_NAMES}))"
        arrays = ([(src.name_as, f"arrayMap(i -> transform({_EV_NAMES}[i], {names}, {values}, ''), {picked})")]
                  if src.name_as else [])
        arrays += [(key, f"arrayMap(i -> {_EV_ATTRS}[i][{lit(attr)}], {picked})") for key, attr in src.fields]
        return (_when(src, f"hasAny({_EV_NAMES}, {names})"),
                _objects_from_arrays(src.shape, arrays))
    if isinstance(src, TextItem):
        text = scalar(src.source)
        return (_when(src, _when(src.source, f"{text} != ''")),
                f"[{_object([('role', lit(src.role)), ('content', text)])}]")
    if isinstance(src, Concat):
        parts = [items(p) for p in src.parts]
        present = " OR ".join(f"({c})" for c, _ in parts)
        return _when(src, present), "arrayConcat(" + ", ".join(f"if({c}, {a}, [])" for c, a in parts) + ")"
    raise TypeError(f"not an item source: {src!r}")


def _json_field(f: Field) -> tuple[str, str]:
    """(helper expression: the Array(String) of objects, column expression using helper `_a_<name>`)."""
    arr = _first_present([items(src) for src in f.sources], "CAST([], 'Array(String)')")
    ref = f"_a_{f.name}"
    return arr, f"if(empty({ref}), '', concat('[', arrayStringConcat({ref}, ','), ']'))"


# -- classification ------------------------------------------------------------------------------


def category_expr() -> str:
    """SQL for the span category: attribute rules first, span-name patterns last, else 'other'."""
    pairs = []
    for rule in CATEGORY_RULES:
        mapped = f"transform(lower({scalar(rule.source)}), {_lits(list(rule.values))}, {_lits(list(rule.values.values()))}, '')"
        pairs.append((f"{mapped} != ''", mapped))
    pairs += [(f"match(`{k.SPAN_NAME}`, {lit(r.pattern)})", lit(r.category)) for r in NAME_RULES]
    return _first_present(pairs, "'other'")


def convention_expr() -> str:
    """SQL naming the first convention whose keys or scope the span carries."""
    pairs = []
    for rule in CONVENTIONS:
        starts = " OR ".join(f"startsWith(y, {lit(p)})" for p in rule.key_prefixes)
        tests = [f"({_keys_may_contain(rule.key_prefixes)} AND arrayExists(y -> {starts}, mapKeys({_ATTRS})))"]
        if rule.scopes:
            tests.append(f"`{k.SCOPE_NAME}` IN ({', '.join(map(lit, rule.scopes))})")
        pairs.append((" OR ".join(tests), lit(rule.name)))
    return _first_present(pairs, "''")


# -- the query --------------------------------------------------------------------------------------


def column_expr(name: str) -> tuple[str, str]:
    """(helper expression or '', column expression) for one canonical column, of its declared type.

    A helper is bound once with `WITH … AS _a_<name>` / `_t_<name>` so the column can use it
    several times without repeating its text.
    """
    if name == "category":
        return "", category_expr()
    if name == "convention":
        return "", convention_expr()
    f = FIELD_BY_NAME[name]
    if f.kind == "json":
        return _json_field(f)
    if f.kind == "int" and isinstance(f.sources[0], Col):  # start_ns, duration_ns: straight from the row
        return "", f"toInt64({_column(f.sources[0].name, as_text=False)})"
    if f.kind == "str":
        return "", _scalar_field(f)
    ref = f"_t_{name}"
    if f.kind == "int":
        return _scalar_field(f), f"if(match({ref}, {lit(INT_RE)}), toInt64OrNull({ref}), NULL)"
    if f.kind == "float":
        return _scalar_field(f), f"if(match({ref}, {lit(NUMBER_RE)}), toFloat64OrNull({ref}), NULL)"
    return _scalar_field(f), (f"if(match({ref}, {lit(ARRAY_START_RE)}) AND isValidJSON({ref}), "
                              f"JSONExtract({ref}, 'Array(String)'), if({ref} = '', CAST([], 'Array(String)'), [{ref}]))")


# -- one field per distinct input ---------------------------------------------------------------
# Some fields repeat verbatim over many spans: an agent offers the same tools (often kilobytes of
# JSON schemas) on every model call. A big round maps such a field once per distinct input
# instead of once per span: the spans carry a key of the attributes the field is read from, and
# `field_by_key_select` maps one span per key.


def _attribute_inputs(src: Source) -> tuple[list[str], list[str]]:
    """(exact span attribute keys, key prefixes) covering every attribute `src` reads."""
    if src.when:
        raise ValueError(f"{src!r} depends on the span's category, not only on its attributes")
    if isinstance(src, Attr):
        return [src.key], []
    if isinstance(src, (JsonPath, JsonItems)) and isinstance(src.source, (Attr, JsonPath)):
        return _attribute_inputs(src.source)
    if isinstance(src, (IndexedItems, IndexedValues)):
        head = _literal_head(src.stem if isinstance(src, IndexedItems) else src.pattern)
        if head:
            return [], [head]
    raise ValueError(f"{src!r} reads more than a bounded set of span attributes")


def span_attributes_key(name: str) -> str:
    """SQL over a raw row (with `canonical_select`'s helpers): a 64-bit hash (UInt64) of the span's
    tenant and of the span attributes canonical field `name` is read from (the values of the keys its
    sources name, and every key and value starting like its indexed ones). Spans with equal keys get
    equal values of the field, but for hash collisions (~n²/2⁶⁵ for n distinct inputs in one round);
    the tenant in the hash keeps one tenant's input from ever standing for another's. Raises
    ValueError for a field that reads anything else (other columns, events, the category)."""
    exact: list[str] = []
    prefixes: list[str] = []
    for src in FIELD_BY_NAME[name].sources:
        keys, heads = _attribute_inputs(src)
        exact += keys
        prefixes += heads
    values = [f"{_RES}[{lit(k.TENANT)}]"] + [f"{_ATTRS}[{lit(key)}]" for key in dict.fromkeys(exact)]
    if prefixes:  # filtered only in spans whose keys may start so (cheap test first)
        starts = " OR ".join(f"startsWith(k, {lit(p)})" for p in prefixes)
        values.append(f"if({_keys_may_contain(tuple(prefixes))}, toString(mapFilter((k, v) -> {starts}, {_ATTRS})), '')")
    return f"cityHash64({', '.join(values)})"


def _helper_alias(name: str) -> str:
    return f"_{'a' if FIELD_BY_NAME[name].kind == 'json' else 't'}_{name}"


def _check_source(source: str) -> None:
    if not _SAFE_SOURCE.match(source):
        raise ValueError(f"not a safe table name: {source!r}")


def field_by_key_select(name: str, source: str, where: str) -> str:
    """A SELECT of (`key`, `value`) over raw table `source`: canonical field `name` mapped once per
    distinct `span_attributes_key(name)` among the rows passing `where` (trusted SQL, as for
    `canonical_select`). A small query: only this field's mapping is planned and run."""
    _check_source(source)
    helper, expr = column_expr(name)
    helpers = list(_MAP_CASTS) + ([f"{helper} AS {_helper_alias(name)}"] if helper else [])
    rows = (f"(WITH {', '.join(_MAP_CASTS)} SELECT {_READ}, {span_attributes_key(name)} AS _key FROM {source} "
            f"WHERE {where} LIMIT 1 BY _key)")
    return "WITH\n  " + ",\n  ".join(helpers) + f"\nSELECT _key AS key, {expr} AS value\nFROM {rows}"


def canonical_select(source: str = "otel_traces", where: str = "", gather_by: str = "",
                     extra: dict[str, str] | None = None) -> str:
    """A SELECT over raw table `source` giving `CANONICAL_COLUMNS` in order.

    `where` is a trusted SQL fragment over the raw columns, written by our own code with
    server-side `{name:Type}` parameters; it is never built from user input.

    `gather_by` (a raw column) sorts the rows that pass `where` by it before they are mapped.
    Rows passing a selective filter (a batch of trace ids) come out as one small block per
    granule read, and the mapping costs per block, not only per row: it is thousands of
    expression nodes, each with its own per-block work. Sorted first (a few MB for a batch),
    they reach it as a few full blocks: far less CPU for a small batch spread over a big table,
    still less for a large one (docs/benchmarks.md). Only the columns the mapping reads are sorted
    (`SELECT *` carries every column through the sort), and the sorted rows come in blocks of
    `_GATHERED_BLOCK_ROWS`: with the default 65,536-row blocks a large batch's load peaked much
    higher in memory (the mapping's intermediate columns grow with the block), for no less CPU.

    `extra` (name → trusted SQL over the raw columns read) adds columns after the canonical ones.
    """
    _check_source(source)
    if gather_by and not _SAFE_SOURCE.match(gather_by):
        raise ValueError(f"not a safe column name: {gather_by!r}")
    helpers, columns = list(_MAP_CASTS), []
    for name in CANONICAL_COLUMNS:
        helper, expr = column_expr(name)
        if helper:
            helpers.append(f"{helper} AS {_helper_alias(name)}")
        columns.append(f"{expr} AS {name}")
    columns += [f"{expr} AS {name}" for name, expr in (extra or {}).items()]
    filtered = f"\nWHERE {where}" if where.strip() else ""
    rows = (f"(SELECT {_READ} FROM {source}{filtered} ORDER BY {gather_by} SETTINGS max_block_size = {_GATHERED_BLOCK_ROWS})"
            if gather_by else f"{source}{filtered}")
    return "WITH\n  " + ",\n  ".join(helpers) + "\nSELECT\n  " + ",\n  ".join(columns) + f"\nFROM {rows}"
