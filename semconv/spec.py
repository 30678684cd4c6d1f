"""The vocabulary of the mapping table: where a value comes from and what shape it takes.

These classes are plain data. `semconv.table` uses them to say, per canonical field,
which keys to read in which order; `semconv.sql` turns the same objects into
ClickHouse SQL and the tests' reference interpreter evaluates them in Python. A source "is present"
when its value is non-empty (and not one of the field's placeholder values); the first
present source of a field wins. `when` limits a source to spans of given categories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["str", "int", "float", "strlist", "json"]

# -- scalar sources: each yields one string ---------------------------------------------


@dataclass(frozen=True)
class Attr:
    """A span attribute."""

    key: str
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class Res:
    """A resource attribute."""

    key: str
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class Col:
    """A raw `otel_traces` column, as text."""

    name: str
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventAttr:
    """An attribute of the span's first event with this name."""

    event: str
    key: str
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class JsonPath:
    """The value at `path` inside a JSON text attribute: strings as is, other JSON compact."""

    source: Attr | EventAttr
    path: tuple[str, ...]
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class NameAfter:
    """The rest of the span name after `prefix`, when the name starts with it."""

    prefix: str
    when: tuple[str, ...] = ()


Scalar = Attr | Res | Col | EventAttr | JsonPath | NameAfter

# -- JSON object shapes: how one item becomes one canonical object ------------------------

OutKind = Literal["str", "json", "num", "content"]


@dataclass(frozen=True)
class Out:
    """One output key of a canonical object, read from the first present path of the item.

    kinds: `str` (strings as is, other JSON as compact text), `json` (embedded JSON; a
    string holding JSON is parsed), `num` (a JSON number or null), `content` (a string, or
    the text of a list of parts joined by newlines). `const` fixes the value instead.
    """

    name: str
    kind: OutKind
    paths: tuple[tuple[str, ...], ...] = ()
    const: str | None = None


@dataclass(frozen=True)
class Shape:
    """The canonical object built from each item."""

    outs: tuple[Out, ...]


# Paths inside a message part that hold its text, in order (Vercel tool results nest theirs
# under output.value), and part types that are not message text.
PART_TEXT_PATHS: tuple[tuple[str, ...], ...] = (
    ("content",), ("text",), ("response",), ("result",), ("output", "value"), ("output",),
)
PART_SKIP_TYPES: tuple[str, ...] = ("reasoning", "thinking", "tool_call", "tool-call")

# -- item sources: each yields a list of JSON items -----------------------------------------


@dataclass(frozen=True)
class JsonItems:
    """Elements of a JSON array held by a scalar source (at `path`).

    `flatten`: take each element's array under this key instead (message parts), keeping
    only elements whose `type` is in `only_types`. `parse_strings`: elements that are
    strings holding JSON (Vercel's `ai.prompt.tools`) are parsed first.
    """

    source: Scalar
    shape: Shape
    path: tuple[str, ...] = ()
    flatten: str | None = None
    only_types: tuple[str, ...] = ()
    parse_strings: bool = False
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexedItems:
    """Objects spread over indexed attributes: `stem` (a regex whose group 1 is the common
    prefix, e.g. `llm.input_messages.3.message.`) + suffix per item key, ordered by index."""

    stem: str
    fields: tuple[tuple[str, str], ...]  # (item key, attribute suffix after the stem)
    shape: Shape
    when: tuple[str, ...] = ()
    # (item key, regex of suffixes after the stem): where the key's own attribute is empty,
    # the non-empty values of the matching attributes, in index order, joined by newlines
    # (OpenInference content parts: `…message.contents.M.message_content.text`)
    joined: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class IndexedValues:
    """Attributes whose whole key matches `pattern`, each holding one JSON item, by index."""

    pattern: str
    shape: Shape
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventItems:
    """One item per span event whose name is a key of `names`: that value becomes the item
    key `name_as`, and event attributes become item keys per `fields`."""

    names: tuple[tuple[str, str], ...]  # (event name, value for name_as)
    fields: tuple[tuple[str, str], ...]  # (item key, event attribute)
    shape: Shape
    name_as: str = ""
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventJson:
    """Items held as JSON by span events whose name is a key of `names` (GenAI log events fold
    into their span's events with the record's body under `keys.LOG_BODY`): per event, the JSON
    object at `path` in its attribute `key`, or with `elements` each object of the array there.
    With `name_as`, an item without that key gets the name's value under it (the body of a
    `gen_ai.user.message` event names no role: the event name does). Present when some item is."""

    names: tuple[tuple[str, str], ...]  # (event name, value for name_as)
    key: str
    shape: Shape
    path: tuple[str, ...] = ()
    elements: bool = False
    name_as: str = ""
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextItem:
    """A single message `{role, content}` from a plain text source."""

    role: str
    source: Scalar
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class Concat:
    """Items of several item sources, in order (system instructions before messages)."""

    parts: tuple[ItemSource, ...]
    when: tuple[str, ...] = ()


ItemSource = JsonItems | IndexedItems | IndexedValues | EventItems | EventJson | TextItem | Concat
Source = Scalar | ItemSource

# -- fields, categories, conventions ---------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One canonical column: its kind and its sources in precedence order."""

    name: str
    kind: Kind
    sources: tuple[Source, ...]
    placeholders: tuple[str, ...] = ()  # values that count as absent (e.g. "unknown")


@dataclass(frozen=True)
class CategoryRule:
    """Lower-cased value of `source` → category."""

    source: Scalar
    values: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class NameRule:
    """Span name matching `pattern` (RE2 and Python `re` compatible) → category. Last resort."""

    pattern: str
    category: str


@dataclass(frozen=True)
class ConventionRule:
    """A convention is recognised by attribute key prefixes or instrumentation scope names."""

    name: str
    key_prefixes: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
