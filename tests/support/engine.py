"""The one chDB engine of a test process, and fresh databases on it.

chDB allows a single data path per process, so every in-process store lives in that one
directory and tests are isolated by database.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.collector.migrations import migrate_collector
from agentmortem.platform.store import Store

_ENGINE_DIR: Path | None = None


def engine_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The chdb:// URL of this process's one engine directory."""
    global _ENGINE_DIR
    if _ENGINE_DIR is None:
        _ENGINE_DIR = tmp_path_factory.mktemp("chdb-engine")
    return f"chdb://{_ENGINE_DIR}"


def fresh_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A new database on this process's engine with the collector's and the analyzer's tables."""
    s = Store(engine_url(tmp_path_factory), database="t_" + uuid.uuid4().hex[:12])
    migrate_collector(s)
    migrate_analyzer(s)
    return s
