"""A `CollectorService` running inside the test process, on its own event loop thread.

Its receivers are real (gRPC and HTTP on ephemeral ports) and it writes to a store of the
test's choosing, so a test can query what was stored while the service keeps running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agentmortem.collector.config import IngestSettings
from agentmortem.collector.service import CollectorService
from agentmortem.platform.settings import AuthSettings, ServerSettings, StoreSettings
from agentmortem.platform.store import Store


@contextmanager
def running_collector(store: Store, *, auth: AuthSettings | None = None, **limits: Any) -> Iterator[CollectorService]:
    """Start the collector on `store` with `limits` (ingest settings) overrides and `auth` (default: no
    keys required); stop it (flushing) on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="collector-loop", daemon=True)
    thread.start()
    service = CollectorService(store, store_settings=StoreSettings(),
                               server=ServerSettings(host="127.0.0.1", otlp_grpc_port=0, otlp_http_port=0),
                               limits=IngestSettings(**{"batch_max_delay_ms": 1.0, **limits}), auth=auth or AuthSettings())
    try:
        asyncio.run_coroutine_threadsafe(service.start(), loop).result(60)
        yield service
    finally:
        asyncio.run_coroutine_threadsafe(service.stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
