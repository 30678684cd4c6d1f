"""ASGI middleware around the whole API: request id, body limit, access log.

Every response carries `X-Request-ID` — the client's own (when sane) or a new one — and
every log line the API writes for a request names it. Bodies over the limit are refused
with 413 before a handler reads them (by `Content-Length`, or while streaming).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("agentmortem.api")
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class BodyTooLarge(HTTPException):
    """Raised from `receive` while a handler reads an oversized body; FastAPI answers it as 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the {limit}-byte limit")


def current_request_id() -> str:
    return request_id_var.get()


class RequestContextMiddleware:
    """Request id in and out, body size bound, one access log line per request."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SANE_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        sent_start = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent_start
            if message["type"] == "http.response.start":
                sent_start = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        declared = headers.get(b"content-length", b"")
        try:
            if declared.isdigit() and int(declared) > self.max_body:
                await self._too_large(send_with_id, int(declared))
                return
            received = 0

            async def bounded_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise BodyTooLarge(self.max_body)
                return message

            try:
                await self.app(scope, bounded_receive, send_with_id)
            except BodyTooLarge:
                if not sent_start:
                    await self._too_large(send_with_id, received)
        finally:
            log.info("%s %s %d %.1fms request_id=%s", scope.get("method"), scope.get("path"), status,
                     (time.perf_counter() - started) * 1000, rid)
            request_id_var.reset(token)

    async def _too_large(self, send: Send, size: int) -> None:
        body = orjson.dumps({"detail": f"request body of {size} bytes exceeds the {self.max_body}-byte limit"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
