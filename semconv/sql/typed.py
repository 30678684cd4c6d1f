"""The typed fast path for JSON arrays of text-only objects (GenAI message arrays).

The raw walk (`shapes`) parses every level of a document again (array, element, parts array,
part) and carries raw JSON between them. One typed `JSONExtract` into nested tuples reads
everything in a single pass (far cheaper for GenAI message arrays) but cannot see
what the raw walk sees: a key present with "" or null (the raw walk takes the first *present*
path), a string vs another JSON type, a string vs an object element. So it is used only for
documents where none of that can occur, as told by textual tests on the document that are
conservative (they may send a document the raw way without need, never the other way): no
`null`, no `""`, no key of a nested path, every value of a key read as text a string, every
`parts` value an array, no string or array element in any array. Keys are found as `"key"` +
`:` — inside a JSON string the quotes are escaped, so only real keys match. Duplicate keys: a
tuple takes the first, as the raw walk does.
"""

from __future__ import annotations

import re

from agentmortem.semconv.spec import PART_SKIP_TYPES, PART_TEXT_PATHS, Out, Shape
from agentmortem.semconv.sql.shapes import assemble
from agentmortem.semconv.sql.text import js, lit

_PARTS_KEY = "parts"
_STRING_ELEMENT = r'[\[,]\s*"(?:[^"\\]|\\.)*"\s*[,\]]'
_ARRAY_ELEMENT = r"[\[,]\s*\["
_SKIP_TYPES = ", ".join(lit(t) for t in PART_SKIP_TYPES)  # part types that are not text, as strings
_PART_NESTED = [p[0] for p in PART_TEXT_PATHS if len(p) > 1]
_PART_KEYS = [p[0] for p in PART_TEXT_PATHS if len(p) == 1 and p[0] not in _PART_NESTED]


def fast_shape_keys(shape: Shape) -> tuple[list[str], list[str]] | None:
    """(keys read as text, heads of nested paths) when `shape` suits the typed path, else None.

    Suitable: text outputs only (`str`, `content`), and `parts` only as the last one-key path of a
    `content` output (a present parts array wins even when its text is empty, so nothing may follow).
    """
    text_keys: list[str] = []
    nested: list[str] = []
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


def _unsafe_patterns(text_keys: list[str], nested: list[str]) -> list[str]:
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


def typed_unsafe(doc: str, text_keys: list[str], nested: list[str]) -> str:
    """True for a document the typed path might read differently from the raw walk (see above)."""
    return f"match({doc}, {lit('|'.join(_unsafe_patterns(text_keys, nested)))})"


def typed_objects(shape: Shape, doc: str, text_keys: list[str]) -> tuple[str, str]:
    """(the typed array `doc`, `shapes.objects` of it built from that array) — see above.

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
        return js(first)
    return typed, f"arrayMap(m -> {assemble(shape, value)}, {typed})"
