"""The API app over a store, as an in-process `TestClient`, and the header that carries a key."""

from __future__ import annotations

from fastapi.testclient import TestClient

from agentmortem.analyzer.api.app import build_app
from agentmortem.analyzer.api.service import make_context
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.collector.ingest import Ingest
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.writer import GroupCommitWriter
from agentmortem.platform.settings import Settings
from agentmortem.platform.store import Store


def make_client(store: Store, settings: Settings | None = None, api: ApiSettings | None = None,
                writer: GroupCommitWriter | None = None) -> TestClient:
    settings = settings or Settings()
    ingest = None
    if writer is not None:
        ingest = Ingest(settings, writer, make_context(store, settings, ApiSettings(), None).keys, CollectorMetrics())
    app = build_app(make_context(store, settings, api or ApiSettings(rate_limit_per_hour=0), ingest))
    client = TestClient(app, raise_server_exceptions=False)
    client.fastapi = app  # type: ignore[attr-defined]
    return client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
