"""The API app over a store, as an in-process `TestClient`, and the header that carries a key."""

from __future__ import annotations

from fastapi.testclient import TestClient

from agentmortem.analyzer.api.app import build_app
from agentmortem.analyzer.api.service import make_context
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.collector.config import IngestSettings
from agentmortem.collector.ingest import Ingest
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.writer import GroupCommitWriter
from agentmortem.platform.settings import AuthSettings
from agentmortem.platform.store import Store


def make_client(store: Store, auth: AuthSettings | None = None, api: ApiSettings | None = None,
                writer: GroupCommitWriter | None = None) -> TestClient:
    auth = auth or AuthSettings()
    ingest = None
    if writer is not None:
        ingest = Ingest(IngestSettings(), auth, writer, make_context(store, ApiSettings(), auth, None).keys,
                        CollectorMetrics())
    app = build_app(make_context(store, api or ApiSettings(rate_limit_per_hour=0), auth, ingest))
    client = TestClient(app, raise_server_exceptions=False)
    client.fastapi = app  # type: ignore[attr-defined]
    return client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
