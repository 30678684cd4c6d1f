"""Item sources: the JSON-valued fields (messages, tool calls and definitions, documents,
evaluations) as arrays of canonical objects, one per item.

Each item source gives a presence condition and an `Array(String)` of canonical objects' JSON:
JSON arrays held by an attribute, objects spread over indexed attributes
(`llm.input_messages.3.message.role`), one JSON value per indexed attribute, span events, a
plain text as one message, or several of those concatenated. A field takes its first present
source and renders the array as one JSON text.
"""

from __future__ import annotations

from agentmortem.semconv.jsonvalues import DIGITS_RE
from agentmortem.semconv.spec import (
    Concat,
    EventItems,
    EventJson,
    Field,
    IndexedItems,
    IndexedValues,
    JsonItems,
    Source,
    TextItem,
)
from agentmortem.semconv.sql.row import (
    EV_ATTRS,
    EV_NAMES,
    attrs_under,
    attrs_where,
    keys_may_contain,
    literal_head,
    required_literal,
)
from agentmortem.semconv.sql.scalars import first_present, scalar, when
from agentmortem.semconv.sql.shapes import objects, objects_from_arrays, text_object
from agentmortem.semconv.sql.text import js, lit, lits, path_args
from agentmortem.semconv.sql.typed import fast_shape_keys, typed_objects, typed_unsafe


def _index_order(x: str) -> str:
    return f"arrayMap(d -> toUInt64(d), extractAll({x}, {lit(DIGITS_RE)}))"


def _lookup(keys: str, values: str, key: str) -> str:
    """The value of `key` among parallel `keys`/`values` ('' when absent; the first equal key
    wins, as in a map lookup)."""
    return f"{values}[indexOf({keys}, {key})]"


def _suffixed_value(suffix: str, attrs: str) -> str:
    """`_span_attrs[concat(x, suffix)]` for stem `x`, looked up among the keys ending with `suffix`.

    A lambda that reads the attribute map gets its own copy of the whole map (keys and values,
    tool schemas included) for every array element, and a lookup compares every key: a real
    cost per stem and field. The keys ending with `suffix` (cut back to their
    stems) and their values do not depend on `x`, so ClickHouse computes them once per span outside
    the per-stem lambda, which only copies and searches that short list.
    """
    keys, values = attrs_where(f"endsWith(k, {lit(suffix)})", attrs)
    stems = f"arrayMap(k -> substring(k, 1, length(k) - {len(suffix.encode())}), {keys})"
    return _lookup(stems, values, "x")


def _indexed_values(suffix: str, parts: str | None, stems: str, attrs: str) -> str:
    """One item key of an `IndexedItems` source, per stem `x` of `stems`: its attribute, else
    (with `parts`, a regex of suffixes) the non-empty values of its part attributes joined.
    `attrs`: the attribute map holding every key that starts with a stem (`row.attrs_under`).

    The part attributes are filtered once per span (outside the per-stem lambda) and only in
    spans that may have one: the per-stem search is skipped whole when there is none.
    """
    own = _suffixed_value(suffix, attrs)
    owns = f"arrayMap(x -> {own}, {stems})"
    if parts is None:
        return owns
    part_keys, part_values = attrs_where(f"match(k, {lit('(?:' + parts + ')$')})", attrs)
    ordered = (f"arraySort(p -> {_index_order('p')}, arrayFilter(p -> startsWith(p, x) AND "
               f"match(substring(p, length(x) + 1), {lit('^(?:' + parts + ')$')}), {part_keys}))")
    texts = f"arrayMap(p -> {_lookup(part_keys, part_values, 'p')}, {ordered})"
    joined = f"arrayMap(x -> if({own} != '', {own}, arrayStringConcat(arrayFilter(t -> t != '', {texts}), '\\n')), {stems})"
    literal = required_literal(parts)
    none = f"(NOT {keys_may_contain((literal,))} OR empty({part_keys}))" if literal else f"empty({part_keys})"
    return f"if({none}, {owns}, {joined})"


def _indexed_present(pattern: str, keys: str) -> str:
    """`notEmpty(keys)`, first ruled out cheaply for spans with no key starting like `pattern`."""
    head = literal_head(pattern)
    return f"({keys_may_contain((head,))} AND notEmpty({keys}))" if head else f"notEmpty({keys})"


def _event_json(src: EventJson) -> str:
    """`shapes.objects` of an `EventJson` source's items: per picked event, (its JSON at the path, the
    value for `name_as`), each array element with `elements`; objects only; the name's value appended
    as a last key (the item's own key, first, wins: a JSON object's first equal key is the one read)."""
    names, values = lits([n for n, _ in src.names]), lits([v for _, v in src.names])
    picked = f"arrayFilter(i -> has({names}, {EV_NAMES}[i]), arrayEnumerate({EV_NAMES}))"
    docs = (f"arrayMap(i -> (JSONExtractRaw({EV_ATTRS}[i][{lit(src.key)}]{path_args(src.path)}), "
            f"transform({EV_NAMES}[i], {names}, {values}, '')), {picked})")
    if src.elements:
        docs = f"arrayFlatten(arrayMap(d -> arrayMap(e -> (e, d.2), JSONExtractArrayRaw(d.1)), {docs}))"
    docs = f"arrayFilter(d -> startsWith(d.1, '{{'), {docs})"
    if src.name_as:
        added = lit(f'"{src.name_as}":')
        arr = (f"arrayMap(d -> if(d.1 = '{{}}', concat('{{', {added}, {js('d.2')}, '}}'), "
               f"concat(substring(d.1, 1, length(d.1) - 1), ',', {added}, {js('d.2')}, '}}')), {docs})")
    else:
        arr = f"arrayMap(d -> d.1, {docs})"
    return objects(src.shape, arr)


def items(src: Source) -> tuple[str, str]:
    """(presence condition, Array(String) of canonical JSON objects) for an item source."""
    if isinstance(src, JsonItems):
        doc = scalar(src.source)
        arr = f"JSONExtractArrayRaw({doc}{path_args(src.path)})"
        if src.parse_strings:
            arr = f"arrayMap(x -> if(JSONType(x) = 'String', JSONExtractString(x), x), {arr})"
        if src.flatten:
            arr = f"arrayFlatten(arrayMap(x -> JSONExtractArrayRaw(x, {lit(src.flatten)}), {arr}))"
        if src.only_types:
            arr = f"arrayFilter(x -> JSONExtractString(x, 'type') IN ({', '.join(map(lit, src.only_types))}), {arr})"
        built = objects(src.shape, arr)
        keys = fast_shape_keys(src.shape)
        if keys is not None and not (src.path or src.parse_strings or src.flatten or src.only_types):
            typed, fast = typed_objects(src.shape, doc, keys[0])
            built = f"if({typed_unsafe(doc, *keys)} OR empty({typed}), {built}, {fast})"
        return when(src, f"{doc} != ''"), built
    if isinstance(src, IndexedItems):
        attrs = attrs_under(literal_head(src.stem))
        stems = (f"arraySort(x -> {_index_order('x')}, arrayDistinct(arrayFilter(x -> x != '', "
                 f"arrayMap(y -> extract(y, {lit(src.stem)}), mapKeys({attrs})))))")
        joined = dict(src.joined)
        arrays = [(key, _indexed_values(suffix, joined.get(key), stems, attrs)) for key, suffix in src.fields]
        return when(src, _indexed_present(src.stem, stems)), objects_from_arrays(src.shape, arrays)
    if isinstance(src, IndexedValues):
        keys_, values = attrs_where(f"match(k, {lit(src.pattern)})")  # the map itself is not copied per key
        matched = f"arraySort(x -> {_index_order('x')}, {keys_})"
        return (when(src, _indexed_present(src.pattern, matched)),
                objects(src.shape, f"arrayMap(x -> {_lookup(keys_, values, 'x')}, {matched})"))
    if isinstance(src, EventItems):
        names = lits([n for n, _ in src.names])
        values = lits([v for _, v in src.names])
        picked = f"arrayFilter(i -> has({names}, {EV_NAMES}[i]), arrayEnumerate({EV_NAMES}))"
        arrays = ([(src.name_as, f"arrayMap(i -> transform({EV_NAMES}[i], {names}, {values}, ''), {picked})")]
                  if src.name_as else [])
        arrays += [(key, f"arrayMap(i -> {EV_ATTRS}[i][{lit(attr)}], {picked})") for key, attr in src.fields]
        return (when(src, f"hasAny({EV_NAMES}, {names})"),
                objects_from_arrays(src.shape, arrays))
    if isinstance(src, EventJson):
        arr = _event_json(src)  # written twice, computed once (equal expressions are one node)
        return when(src, f"notEmpty({arr})"), arr
    if isinstance(src, TextItem):
        text = scalar(src.source)
        return (when(src, when(src.source, f"{text} != ''")),
                f"[{text_object([('role', lit(src.role)), ('content', text)])}]")
    if isinstance(src, Concat):
        parts = [items(p) for p in src.parts]
        present = " OR ".join(f"({c})" for c, _ in parts)
        return when(src, present), "arrayConcat(" + ", ".join(f"if({c}, {a}, [])" for c, a in parts) + ")"
    raise TypeError(f"not an item source: {src!r}")


def json_field(f: Field) -> tuple[str, str]:
    """(helper expression: the Array(String) of objects, column expression using helper `_a_<name>`)."""
    arr = first_present([items(src) for src in f.sources], "CAST([], 'Array(String)')")
    ref = f"_a_{f.name}"
    return arr, f"if(empty({ref}), '', concat('[', arrayStringConcat({ref}, ','), ']'))"
