"""Declaring a table once: its name, its columns (ClickHouse types, in table order), its keys.

A `Table` is what the code knows of a table it writes and reads: writers insert through it
(`insert` refuses a column it does not declare), queries name columns through `Table.c`
(a typo is an `AttributeError` when the module loads, not a failing query), and
`table_problems` compares it with the table a store holds (`system.columns` and
`system.tables`), so the numbered `.sql` migrations that create the table and the
declaration cannot drift apart unnoticed. Migrations stay the history of how a table came
to be; the declaration is what it is now.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from agentmortem.platform.schema import SchemaMismatch
from agentmortem.platform.store import Store, quote_identifier

_ENGINE = re.compile(r"\w+(\([^)]*\))?")  # the engine and its parameters, at the start of `engine_full`


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as ClickHouse reports it in `system.columns` (e.g. `LowCardinality(String)`)


def columns(**types: str) -> tuple[Column, ...]:
    """Columns in the order given: `columns(RunId="String", Tenant="LowCardinality(String)")`."""
    return tuple(Column(name, type_) for name, type_ in types.items())


@dataclass(frozen=True)
class Table:
    """One table's shape. `engine` is the engine's name (`ReplacingMergeTree`, …); `version` and
    `deleted` are the ReplacingMergeTree columns (the engine's parameters), `order_by` the sorting
    key, `partition_by` the partition expression ("" for none)."""

    name: str
    columns: tuple[Column, ...]
    order_by: tuple[str, ...]
    engine: str = "ReplacingMergeTree"
    version: str = ""
    deleted: str = ""
    partition_by: str = ""
    c: Any = field(init=False, repr=False, compare=False)  # column names as attributes: `AGENT_RUNS.c.RunId`

    def __post_init__(self) -> None:
        quote_identifier(self.name)
        names = [col.name for col in self.columns]
        for name in names:
            quote_identifier(name)
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column is declared twice")
        unknown = [n for n in (*self.order_by, self.version, self.deleted) if n and n not in names]
        if unknown:
            raise ValueError(f"{self.name}: keys name undeclared columns {unknown}")
        object.__setattr__(self, "c", SimpleNamespace(**{n: n for n in names}))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(col.name for col in self.columns)

    @property
    def written(self) -> tuple[str, ...]:
        """The columns a fresh row carries: all but the deletion flag (a tombstone sets it; it defaults to 0)."""
        return tuple(n for n in self.names if n != self.deleted)

    @property
    def final(self) -> str:
        """The table read with FINAL: the latest version of each row (ReplacingMergeTree)."""
        return f"{self.name} FINAL"

    def type_of(self, name: str) -> str:
        return next(col.type for col in self.columns if col.name == name)

    def ordered(self, names: Sequence[str]) -> list[str]:
        """`names` in table order; `ValueError` naming any column the table does not declare."""
        unknown = sorted(set(names) - set(self.names))
        if unknown:
            raise ValueError(f"{self.name} has no column(s) {', '.join(unknown)}")
        wanted = set(names)
        return [n for n in self.names if n in wanted]

    def insert(self, store: Store, data: Mapping[str, Sequence[Any]]) -> None:
        """One column-oriented insert of `data` (column name -> values, one per row)."""
        names = self.ordered(list(data))
        store.insert_columns(self.name, [list(data[n]) for n in names], names)

    def engine_clause(self) -> str:
        """The engine with its parameters, as `system.tables.engine_full` starts."""
        params = ", ".join(p for p in (self.version, self.deleted) if p)
        return f"{self.engine}({params})" if params else self.engine


def select_list(fields: Mapping[str, str]) -> str:
    """`expr AS alias, …` from alias -> SQL expression (expressions written over `Table.c` names)."""
    return ", ".join(expr if expr == alias else f"{expr} AS {alias}" for alias, expr in fields.items())


def table_problems(store: Store, table: Table) -> list[str]:
    """How the stored `table.name` differs from the declaration (empty when it matches): missing or
    extra columns, column order, types, sorting key, partition key, engine and its parameters."""
    stored = store.query(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String}"
        " ORDER BY position",
        {"t": table.name},
    )
    if not stored:
        return [f"table {table.name} does not exist"]
    problems = []
    types = dict(stored)
    missing = [n for n in table.names if n not in types]
    extra = [n for n, _ in stored if n not in set(table.names)]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        problems.append(f"undeclared column(s) {', '.join(extra)}")
    if not missing and not extra and [n for n, _ in stored] != list(table.names):
        problems.append(f"columns are in the order {', '.join(n for n, _ in stored)}")
    problems += [f"{col.name} is {types[col.name]}, declared {col.type}"
                 for col in table.columns if col.name in types and types[col.name] != col.type]
    [(engine_full, sorting_key, partition_key)] = store.query(
        "SELECT engine_full, sorting_key, partition_key FROM system.tables"
        " WHERE database = currentDatabase() AND name = {t:String}",
        {"t": table.name},
    )
    if sorting_key != ", ".join(table.order_by):
        problems.append(f"sorted by ({sorting_key}), declared ({', '.join(table.order_by)})")
    if partition_key != table.partition_by:
        problems.append(f"partitioned by {partition_key or 'nothing'}, declared {table.partition_by or 'nothing'}")
    engine = _ENGINE.match(engine_full)
    stored_engine = engine.group(0) if engine else engine_full
    if stored_engine != table.engine_clause():
        problems.append(f"engine is {stored_engine}, declared {table.engine_clause()}")
    return problems


def verify_tables(store: Store, tables: Sequence[Table]) -> None:
    """Raise `SchemaMismatch` naming every way the stored tables differ from their declarations."""
    problems = [f"{t.name}: {p}" for t in tables for p in table_problems(store, t)]
    if problems:
        raise SchemaMismatch("the stored tables differ from the declared ones: " + "; ".join(problems))
