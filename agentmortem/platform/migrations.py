"""The tiny runner that applies numbered `.sql` migrations (`agentmortem migrate`, `serve`) and says what is pending.

Files are named `NNNN_name.sql`; statements end with `;` at the end of a line. Each
file runs once per database and is recorded in `agentmortem_migrations`; every
statement is idempotent (`IF NOT EXISTS`), so two processes starting together on one
server are harmless. Each package (the collector, the analyzer) passes its own folder in,
and may name a step in Python to run after a migration's statements (`apply(…, steps=…)`)
for what SQL cannot say idempotently (`reorder.reorder_table`). Template values come
from the package (the collector's TTL clauses, built from a validated integer). `pending`
lists what has not run, changing nothing: the commands that may not migrate verify with it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agentmortem.platform.store import Store, StoreError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS agentmortem_migrations (
    Package LowCardinality(String),
    Version UInt32,
    Name String,
    AppliedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(AppliedAt)
ORDER BY (Package, Version)
"""


class SchemaNotReady(StoreError):
    """The store lacks tables or migrations this release needs, or holds a table it may not change:
    the message says what is missing and what to run."""


@dataclass(frozen=True)
class Migration:
    package: str
    version: int
    name: str
    statements: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.package}/{self.version:04d}_{self.name}"


def load(folder: Path, package: str, template: dict[str, str]) -> list[Migration]:
    """Read a folder of migrations, in order; refuse duplicate numbers."""
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file name must be NNNN_name.sql: {path.name}")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"duplicate migration number {version:04d} in {folder}")
        text = path.read_text()
        for key, value in template.items():
            text = text.replace("{" + key + "}", value)
        statements = tuple(s.strip() for s in re.split(r";\s*$", text, flags=re.M) if _has_sql(s))
        found[version] = Migration(package, version, match.group(2), statements)
    return [found[v] for v in sorted(found)]


def _has_sql(chunk: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in chunk.splitlines())


Step = Callable[[Store], None]  # a migration's part in Python: must be safe to run again


def _applied(store: Store) -> set[tuple[str, int]]:
    return {(pkg, ver) for pkg, ver in store.query("SELECT Package, Version FROM agentmortem_migrations FINAL")}


def pending(store: Store, migrations: list[Migration]) -> list[Migration]:
    """The migrations not recorded as applied, without changing anything (no ledger: all of them)."""
    exists = store.query("SELECT count() FROM system.tables WHERE database = currentDatabase() "
                         "AND name = 'agentmortem_migrations'")
    done = _applied(store) if exists[0][0] else set()
    return [m for m in migrations if (m.package, m.version) not in done]


def apply(store: Store, migrations: list[Migration], steps: Mapping[int, Step] | None = None) -> list[Migration]:
    """Apply what has not run yet (each migration's statements, then its step in `steps`, if any);
    return the migrations applied now."""
    store.command(LEDGER_DDL)
    done = _applied(store)
    applied = []
    for migration in migrations:
        if (migration.package, migration.version) in done:
            continue
        step = (steps or {}).get(migration.version)
        try:
            for statement in migration.statements:
                store.command(statement)
            if step is not None:
                step(store)
        except StoreError as exc:
            raise StoreError(f"migration {migration.label} failed: {exc}") from exc
        store.command(
            "INSERT INTO agentmortem_migrations (Package, Version, Name) "
            "VALUES ({p:String}, {v:UInt32}, {n:String})",
            {"p": migration.package, "v": migration.version, "n": migration.name},
        )
        log.info("applied migration %s", migration.label)
        applied.append(migration)
    return applied
