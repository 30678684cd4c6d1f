"""SQL text primitives the mapping's builders share: literals, JSON-string output, JSON value
text, one-time bindings, and the check that a table or column name is a plain identifier.

Everything here returns ClickHouse SQL text; nothing reads the mapping table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.]+$")


def lit(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def lits(values: Sequence[str]) -> str:
    """A ClickHouse array literal of strings."""
    return "[" + ", ".join(lit(v) for v in values) + "]"


def js(expr: str) -> str:
    """A JSON string literal of a text expression (no `\\/` escapes, like Python's json)."""
    return f"replaceAll(toJSONString({expr}), '\\\\/', '/')"


def path_args(path: Sequence[str]) -> str:
    """The extra arguments of a `JSONExtract…(doc, …)` call that walk down `path`."""
    return "".join(", " + lit(p) for p in path)


def unquote(raw: str) -> str:
    """Text of `raw`, the compact JSON of one value (as `JSONExtractRaw` gives it, '' when absent):
    a string unquoted, null as empty, anything else as is. Reading the small raw value again is
    cheaper than asking the whole document for its type first."""
    return f"multiIf(startsWith({raw}, '\"'), JSONExtractString({raw}), {raw} = 'null', '', {raw})"


def str_or_raw(doc: str, path: Sequence[str]) -> str:
    """Value at `path` as text: a JSON string unquoted, null as empty, anything else compact JSON."""
    return unquote(f"JSONExtractRaw({doc}{path_args(path)})")


def let(var: str, value: str, body: str) -> str:
    """Bind `value` to lambda variable `var` once, so `body` can use it many times."""
    return f"arrayElement(arrayMap({var} -> {body}, [{value}]), 1)"


def check_name(name: str, what: str = "table name") -> None:
    """Raise ValueError unless `name` is a plain (optionally database-qualified) identifier."""
    if not _SAFE_NAME.match(name):
        raise ValueError(f"not a safe {what}: {name!r}")
