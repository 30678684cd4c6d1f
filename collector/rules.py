"""What makes a span storable in `otel_traces`: one table of rules, checked in Python and compiled to SQL.

The converted insert (`collector.convert`) asks `span_problem` about each span; the native
insert (`collector.native`) keeps the rows `sql_filter` accepts, compiled from the same
table, so both paths drop exactly the same spans (the differential test holds them equal).
A dropped span is reported through OTLP `partial_success` with the rule's message, never
as a retryable error: sending it again cannot make it storable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

MAX_TIMESTAMP_NS = 2**63 - 1
"""The last instant `DateTime64(9)` holds, 2262-04-11T23:47:16.854775807Z: ClickHouse keeps it
as signed 64-bit nanoseconds, and larger OTLP times (unsigned) would wrap to before 1970.
OTLP times cannot be negative, so the type's lower end (1900) is never reached."""
MAX_TIMESTAMP_TEXT = "2262-04-11T23:47:16.854775807Z"


@dataclass(frozen=True)
class Id:
    """A bytes field of exactly `size` bytes; `nonzero`: not all zero bytes; `optional`: or empty."""

    size: int
    nonzero: bool = False
    optional: bool = False


@dataclass(frozen=True)
class Time:
    """Unix nanoseconds no later than `limit_ns` (by default the end of `DateTime64(9)`);
    `stored_in` names what cannot store a later time, for the message."""

    limit_ns: int = MAX_TIMESTAMP_NS
    limit_text: str = MAX_TIMESTAMP_TEXT
    stored_in: str = "otel_traces"


MAX_DATETIME_NS = (2**32 - 1) * 1_000_000_000 + 999_999_999
"""The last instant `DateTime` (whole seconds, unsigned 32-bit) holds: the newest contrib metrics
tables keep their times in it."""
MAX_DATETIME_TEXT = "2106-02-07T06:28:15Z"


@dataclass(frozen=True)
class Each:
    """Rules that every element of a repeated message field must pass."""

    rules: tuple[tuple[str, Id | Time], ...]


Check = Id | Time | Each

SPAN_RULES: tuple[tuple[str, Check], ...] = (
    ("trace_id", Id(16, nonzero=True)),
    ("span_id", Id(8, nonzero=True)),
    ("parent_span_id", Id(8, optional=True)),
    ("start_time_unix_nano", Time()),
    ("end_time_unix_nano", Time()),
    ("events", Each((("time_unix_nano", Time()),))),
    ("links", Each((("trace_id", Id(16)), ("span_id", Id(8))))),
)
"""Field of `Span` → the rule it must pass, in the order problems are reported."""


# -- Python ------------------------------------------------------------------------

Problem = Callable[[Any, str], str | None]


def _id_problem(rule: Id) -> Problem:
    zero = b"\x00" * rule.size

    def problem(value: bytes, path: str) -> str | None:
        size = len(value)
        if size == rule.size:
            if rule.nonzero and value == zero:
                return f"{path} must be {rule.size} non-zero bytes (got all zeros)"
            return None
        if rule.optional and size == 0:
            return None
        if rule.optional:
            return f"{path} must be empty or {rule.size} bytes (got {size})"
        kind = "non-zero bytes" if rule.nonzero else "bytes"
        return f"{path} must be {rule.size} {kind} (got {size})"

    return problem


def _time_problem(rule: Time) -> Problem:
    limit, text, where = rule.limit_ns, rule.limit_text, rule.stored_in

    def problem(value: int, path: str) -> str | None:
        if value <= limit:
            return None
        return f"{path} {value} is after {text}, the last time {where} can store"

    return problem


def _each_problem(rule: Each) -> Problem:
    inner = [(name, _python(check)) for name, check in rule.rules]

    def problem(values: Any, path: str) -> str | None:
        if not values:
            return None
        for i, element in enumerate(values):
            for name, check in inner:
                found = check(getattr(element, name), f"{path}[{i}].{name}")
                if found:
                    return found
        return None

    return problem


def _python(check: Check) -> Problem:
    if isinstance(check, Id):
        return _id_problem(check)
    if isinstance(check, Time):
        return _time_problem(check)
    return _each_problem(check)


_SPAN_CHECKS = tuple((_python(check), name) for name, check in SPAN_RULES)
_SPAN_FIELDS = attrgetter(*(name for name, _ in SPAN_RULES))  # one call for every field


def span_problem(span: Any) -> str | None:
    """Why `span` (an OTLP `Span`) cannot be stored, or None when it can."""
    for (check, name), value in zip(_SPAN_CHECKS, _SPAN_FIELDS(span)):
        found = check(value, name)
        if found:
            return found
    return None


def problem_finder(rules: tuple[tuple[str, Check], ...]) -> Callable[[Any], str | None]:
    """`span_problem` for another message type: why a message breaks `rules` (field → rule), or None."""
    checks = tuple((_python(check), name) for name, check in rules)
    fields = attrgetter(*(name for name, _ in rules))
    if len(rules) == 1:
        (check, name), = checks

        def one(message: Any) -> str | None:
            return check(fields(message), name)

        return one

    def problem(message: Any) -> str | None:
        for (check, name), value in zip(checks, fields(message)):
            found = check(value, name)
            if found:
                return found
        return None

    return problem


# -- SQL -----------------------------------------------------------------------------


def tuple_element(tuple_expr: str, name: str) -> str:
    """SQL for one named element of a ClickHouse tuple (a decoded protobuf message)."""
    return f"tupleElement({tuple_expr}, '{name}')"


def _sql(check: Check, expr: str) -> str:
    if isinstance(check, Id):
        if check.optional:
            return f"length({expr}) IN (0, {check.size})"
        nonzero = f" AND {expr} != repeat('\\0', {check.size})" if check.nonzero else ""
        return f"length({expr}) = {check.size}{nonzero}"
    if isinstance(check, Time):
        return f"{expr} <= {check.limit_ns}"
    inner = " AND ".join(_sql(sub, tuple_element("x", name)) for name, sub in check.rules)
    return f"arrayAll(x -> {inner}, {expr})"


def sql_filter(span_expr: str) -> str:
    """A ClickHouse condition, true for the spans `span_problem` accepts; `span_expr` is the span tuple."""
    return " AND ".join(f"({_sql(check, tuple_element(span_expr, name))})" for name, check in SPAN_RULES)
