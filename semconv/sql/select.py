"""The canonical SELECT: every canonical column, in contract order, over a raw `otel_traces` table.

`canonical_select()` binds the row's attribute maps and each field's helper once (WITH), then
gives `CANONICAL_COLUMNS` in order, evaluated column-wise inside ClickHouse. A caller that reads
only some columns names them (`columns=`): the others come out as their defaults, typed
constants, and are not mapped at all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from agentmortem.semconv.jsonvalues import ARRAY_START_RE, INT_RE, NUMBER_RE
from agentmortem.semconv.model import CANONICAL_COLUMNS, CanonicalSpan
from agentmortem.semconv.spec import Col
from agentmortem.semconv.sql.items import json_field
from agentmortem.semconv.sql.logs import rows_with_log_events
from agentmortem.semconv.sql.row import MAP_CASTS, READ, column
from agentmortem.semconv.sql.scalars import category_expr, convention_expr, scalar_field
from agentmortem.semconv.sql.text import check_name, lit
from agentmortem.semconv.table import FIELD_BY_NAME

_GATHERED_BLOCK_ROWS = 8192  # see canonical_select(gather_by=…)
# Always mapped: every other field's category-bound sources read the `category` column.
_ALWAYS_MAPPED = frozenset({"category"})
_NULLABLE_TYPES = {"int": "Nullable(Int64)", "float": "Nullable(Float64)"}


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
        return json_field(f)
    if f.kind == "int" and isinstance(f.sources[0], Col):  # start_ns, duration_ns: straight from the row
        return "", f"toInt64({column(f.sources[0].name, as_text=False)})"
    if f.kind == "str":
        return "", scalar_field(f)
    ref = f"_t_{name}"
    if f.kind == "int":
        return scalar_field(f), f"if(match({ref}, {lit(INT_RE)}), toInt64OrNull({ref}), NULL)"
    if f.kind == "float":
        return scalar_field(f), f"if(match({ref}, {lit(NUMBER_RE)}), toFloat64OrNull({ref}), NULL)"
    return scalar_field(f), (f"if(match({ref}, {lit(ARRAY_START_RE)}) AND isValidJSON({ref}), "
                             f"JSONExtract({ref}, 'Array(String)'), if({ref} = '', CAST([], 'Array(String)'), [{ref}]))")


def helper_alias(name: str) -> str:
    """The WITH alias of canonical column `name`'s helper (`column_expr`)."""
    return f"_{'a' if FIELD_BY_NAME[name].kind == 'json' else 't'}_{name}"


def default_expr(name: str) -> str:
    """Canonical column `name`'s default (`CanonicalSpan`'s), as a constant of the column's type.
    ValueError for a column without a default (identity and timing: every caller reads them)."""
    if name not in CanonicalSpan._field_defaults or name in _ALWAYS_MAPPED:
        raise ValueError(f"canonical column {name!r} cannot be left unread")
    default = CanonicalSpan._field_defaults[name]
    kind = FIELD_BY_NAME[name].kind if name in FIELD_BY_NAME else "str"
    if kind in _NULLABLE_TYPES:
        assert default is None, name
        return f"CAST(NULL, '{_NULLABLE_TYPES[kind]}')"
    if kind == "strlist":
        assert default == (), name
        return "CAST([], 'Array(String)')"
    assert isinstance(default, str), name
    return lit(default)


def raw_rows(source: str, where: str, logs: str = "", logs_where: str = "") -> str:
    """The rows of raw table `source` passing `where`, as a FROM item; with a logs table `logs`, a
    subquery of the columns the mapping reads, with the log events of each span (those of `logs`
    rows passing `logs_where`) folded into its events (`semconv.sql.logs`)."""
    check_name(source)
    if logs:
        return f"({rows_with_log_events(source, where, logs, logs_where)})"
    return f"{source}\nWHERE {where}" if where.strip() else source


def canonical_select(source: str = "otel_traces", where: str = "", gather_by: str = "",
                     extra: Mapping[str, str] | None = None, columns: Collection[str] | None = None,
                     logs: str = "", logs_where: str = "") -> str:
    """A SELECT over raw table `source` giving `CANONICAL_COLUMNS` in order.

    `where` is a trusted SQL fragment over the raw columns, written by our own code with
    server-side `{name:Type}` parameters; it is never built from user input.

    `gather_by` (a raw column) sorts the rows that pass `where` by it before they are mapped.
    Rows passing a selective filter (a batch of trace ids) come out as one small block per
    granule read, and the mapping costs per block, not only per row: it is thousands of
    expression nodes, each with its own per-block work. Sorted first (a few MB for a batch),
    they reach it as a few full blocks, which takes much less CPU for a batch spread over a big
    table. Only the columns the mapping reads are sorted (`SELECT *` carries every column
    through the sort), and the sorted rows come in blocks of `_GATHERED_BLOCK_ROWS`: with the
    default 65,536-row blocks a big load peaked much higher in memory (the mapping's intermediate
    columns grow with the block), for no less CPU.

    `extra` (name → trusted SQL over the raw columns read) adds columns after the canonical ones.

    `columns`: the canonical columns the caller reads (default: all). Every other one comes out
    as its default (`default_expr`), a typed constant, so its mapping is never planned or run;
    a column without a default cannot be left out (ValueError), and `category` is always mapped.

    `logs` (a logs table, e.g. `otel_logs`) and `logs_where` (trusted SQL over its columns, which
    should select the records of the traces `where` selects): GenAI log events read as events of
    their spans (`raw_rows`).
    """
    check_name(source)
    if gather_by:
        check_name(gather_by, "column name")
    wanted = set(CANONICAL_COLUMNS) if columns is None else set(columns) | _ALWAYS_MAPPED
    unknown = wanted - set(CANONICAL_COLUMNS)
    if unknown:
        raise ValueError(f"not canonical columns: {sorted(unknown)}")
    helpers, exprs = list(MAP_CASTS), []
    for name in CANONICAL_COLUMNS:
        if name not in wanted:
            exprs.append(f"{default_expr(name)} AS {name}")
            continue
        helper, expr = column_expr(name)
        if helper:
            helpers.append(f"{helper} AS {helper_alias(name)}")
        exprs.append(f"{expr} AS {name}")
    exprs += [f"{expr} AS {name}" for name, expr in (extra or {}).items()]
    rows = raw_rows(source, where, logs, logs_where)
    if gather_by:
        rows = f"(SELECT {READ} FROM {rows} ORDER BY {gather_by} SETTINGS max_block_size = {_GATHERED_BLOCK_ROWS})"
    return "WITH\n  " + ",\n  ".join(helpers) + "\nSELECT\n  " + ",\n  ".join(exprs) + f"\nFROM {rows}"
