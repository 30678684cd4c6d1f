"""Shared fixtures: one real chDB engine per test process, one database per test.

chDB allows a single data path per process, so isolation is by database: every test
that asks for `store` gets a fresh database with the collector's tables in it.
Servers under test run as subprocesses with their own data directory (`server`, `server_factory`).
Helpers the tests share live in `tests/support/`; conftest files hold fixtures only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from agentmortem.collector.migrations import migrate_collector
from agentmortem.platform.store import Store
from tests.support.engine import engine_url
from tests.support.servers import ServerProcess, start_server


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A fresh database on the in-process engine, migrated with the collector's tables."""
    database = "t_" + uuid.uuid4().hex[:12]
    s = Store(engine_url(tmp_path_factory), database=database)
    migrate_collector(s)
    yield s
    try:
        s.command(f"DROP DATABASE IF EXISTS {database}")
    finally:
        s.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A running `agentmortem serve` with default settings on its own data directory."""
    srv = start_server(tmp_path / "srv")
    yield srv
    srv.stop()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    """Start servers with custom environment; all are stopped at the end."""
    started: list[ServerProcess] = []

    def factory(env: dict[str, str] | None = None, data_dir: Path | None = None, command: str = "serve",
                args: Sequence[str] = ()):
        srv = start_server(data_dir or tmp_path / f"srv{len(started)}", env, command, args=args)
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.stop()
