"""The typed fast path for JSON items, checked against the raw walk: the shapes that take it, generated
documents for each, and the two paths compared on a store (the in-process engine in the semconv
tests, a ClickHouse server in the collector's)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from agentmortem.platform.store import Store
from agentmortem.semconv.spec import Concat, JsonItems
from agentmortem.semconv.sql.shapes import objects
from agentmortem.semconv.sql.typed import fast_shape_keys, typed_objects, typed_unsafe
from agentmortem.semconv.table import FIELDS


def _json_items(sources) -> list[JsonItems]:
    return [item for src in sources for item in (_json_items(src.parts) if isinstance(src, Concat) else [src])
            if isinstance(item, JsonItems)]


FAST_SHAPES = list({src.shape: None for f in FIELDS for src in _json_items(f.sources)
                    if fast_shape_keys(src.shape) is not None
                    and not (src.path or src.parse_strings or src.flatten or src.only_types)})
PART_WORDS = ["type", "content", "text", "response", "result", "output", "value", "parts", "id", "x"]
TRICKY = ['"', "\\", "/", "é", "\n", "null", '""', ':', ",", "[", "]", "{", "}", '"role": 5', "[1]", "a"]


def _keys(shape) -> list[str]:
    return sorted({key for out in shape.outs for path in out.paths for key in path} | set(PART_WORDS))


def _docs(shape):
    """JSON arrays for `shape`: mostly well-formed items with awkward text (what the typed path takes),
    some with anything in them (what it must leave to the raw walk)."""
    awkward = st.lists(st.sampled_from(['a', ' ', '"', "\\", "/", "é", "\n", ":", ",", "[", "]", "{", "}", "😀",
                                        "\t", "\u2028", "x"]), min_size=1, max_size=6).map("".join)
    text = st.lists(st.sampled_from(TRICKY), max_size=4).map("".join)
    text_keys = sorted({path[0] for out in shape.outs for path in out.paths if len(path) == 1} - {"parts"})
    clean_part = st.fixed_dictionaries({"type": st.sampled_from(["text", "tool_call", "reasoning", "tool_call_response"])},
                                       optional={k: awkward for k in ("content", "text", "response", "result", "id")})
    clean_item = st.fixed_dictionaries({}, optional={key: awkward for key in text_keys}
                                       | {"parts": st.lists(clean_part, max_size=3), "x": awkward})
    keys = st.sampled_from(_keys(shape))
    scalar = st.one_of(awkward, text, st.none(), st.integers(-3, 3), st.floats(-2, 2, allow_nan=False), st.booleans())
    value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(keys, inner, max_size=3)), max_leaves=8)
    part = st.one_of(clean_part, st.dictionaries(keys, value, max_size=3), value)
    item = st.one_of(st.fixed_dictionaries({}, optional={key: value for key in _keys(shape)}
                                           | {"parts": st.lists(part, max_size=3)}),
                     st.dictionaries(keys, value, max_size=4), value)
    items = st.one_of(st.lists(clean_item, max_size=4), st.lists(clean_item, max_size=4),
                      st.lists(st.one_of(clean_item, item), max_size=4))
    return st.tuples(items, st.sampled_from([(",", ":"), (", ", ": ")]), st.booleans()).map(
        lambda t: json.dumps(t[0], separators=t[1], ensure_ascii=t[2]))


def compare(engine: Store, shape, docs: list[str]) -> list[tuple]:
    """(document, left to the raw walk?, typed objects, raw objects) for each of `docs`."""
    text_keys, nested = fast_shape_keys(shape)
    typed, fast = typed_objects(shape, "d", text_keys)
    rows = engine.query(
        f"SELECT d, {typed_unsafe('d', text_keys, nested)} OR empty({typed}), {fast}, "
        f"{objects(shape, 'JSONExtractArrayRaw(d)')} FROM (SELECT arrayJoin({{docs:Array(String)}}) AS d)",
        {"docs": docs})
    return [(doc, bool(unsafe), fast, slow) for doc, unsafe, fast, slow in rows]


def shape_id(shape) -> str:
    return "+".join(o.name + ("=const" if o.const else "") for o in shape.outs)


def assert_typed_path_exact(engine: Store, shape, data) -> None:
    """Generated documents the typed path takes give exactly the raw walk's objects (on `engine`)."""
    docs = data.draw(st.lists(_docs(shape), min_size=1, max_size=25))
    for doc, unsafe, fast, slow in compare(engine, shape, docs):
        assert unsafe or fast == slow, doc
