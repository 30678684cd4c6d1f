"""API fixtures: the read-only corpus of runs in three tenants (`tests.support.api_corpus`), built once
per session; apps and clients over it. Tests that write use their own `store`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from agentmortem.collector.config import IngestSettings
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.service import writer_limits
from agentmortem.collector.writer import GroupCommitWriter
from agentmortem.platform.settings import AuthSettings
from agentmortem.platform.store import Store
from tests.support.api_client import make_client
from tests.support.api_corpus import Corpus, build_corpus
from tests.support.engine import fresh_store


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    store = fresh_store(tmp_path_factory)
    yield build_corpus(store)
    store.command(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


@pytest.fixture(scope="session")
def client(corpus: Corpus) -> TestClient:
    """Auth off: sees every tenant."""
    return make_client(corpus.store)


@pytest.fixture(scope="session")
def auth_client(corpus: Corpus) -> TestClient:
    """`require_auth` on."""
    return make_client(corpus.store, AuthSettings(require_auth=True, key_cache_seconds=60))


@pytest.fixture
def writer(store: Store) -> Iterator[GroupCommitWriter]:
    w = GroupCommitWriter(store, writer_limits(IngestSettings()), CollectorMetrics())
    w.start()
    yield w
    w.stop()
