"""OTLP/HTTP receiver (`POST /v1/traces`, `/v1/logs`, `/v1/metrics`) plus `/metrics` and `/health`,
as an ASGI app.

A thin adapter: bound the body, reserve its share of the in-flight budget before
reading it (the declared `Content-Length`; a body without one reserves as it arrives),
so a refused request is answered without being read into memory; pick the decoder from
`Content-Type`, hand the request to the shared `Ingest`, and answer in the request's encoding — the
signal's export response on success (with `partial_success` when items were dropped), `google.rpc.Status` on
error, with 429/503 + `Retry-After` when the client should try again.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentmortem.collector.admission import Reservation
from agentmortem.collector.config import IngestSettings
from agentmortem.collector.ingest import Admission, BadRequest, Ingest, Overloaded, Unauthenticated, Unavailable
from agentmortem.collector.metrics import CONTENT_TYPE_LATEST
from agentmortem.collector.payload import JSON, PayloadError, decode_body, encode_response, encode_status, media_type
from agentmortem.collector.signals import SIGNALS, Signal
from agentmortem.platform.auth import presented_key
from agentmortem.platform.store import Store

log = logging.getLogger(__name__)

# google.rpc.Code values for the Status body
_INVALID_ARGUMENT, _DEADLINE_EXCEEDED, _RESOURCE_EXHAUSTED, _UNAUTHENTICATED, _UNAVAILABLE = 3, 4, 8, 16, 14


def build_http_app(limits: IngestSettings, ingest: Ingest, store: Store) -> Starlette:
    """The OTLP/HTTP ASGI application."""
    started = time.time()
    metrics = ingest.metrics

    def error(kind: str, http_status: int, rpc_code: int, message: str, retry_after: int | None = None) -> Response:
        metrics.requests.labels("http", str(http_status)).inc()
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        body_kind = kind if kind else JSON
        return Response(
            encode_status(body_kind, rpc_code, message), status_code=http_status,
            media_type=body_kind, headers=headers,
        )

    def declared_length(request: Request) -> int:
        declared = request.headers.get("content-length")
        limit = limits.max_request_bytes
        size = int(declared) if declared is not None and declared.isdigit() else 0
        if size > limit:
            raise PayloadError(413, f"body of {declared} bytes exceeds the {limit}-byte limit")
        return size

    async def read_body(request: Request, reservation: Reservation) -> bytes:
        chunks, size, limit = [], 0, limits.max_request_bytes
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadError(413, f"body exceeds the {limit}-byte limit")
            if size > reservation.nbytes:  # no (or a short) Content-Length: reserve as the body comes
                reservation.grow(size - reservation.nbytes)
            chunks.append(chunk)
        return b"".join(chunks)

    async def receive(
        request: Request, kind: str, tenant: str | None, reservation: Reservation, signal: Signal
    ) -> Admission:
        body = await read_body(request, reservation)
        encoding = request.headers.get("content-encoding")
        decoded = decode_body(body, encoding, kind, limits.max_decompressed_bytes, signal)
        # The decoded request goes straight into `admit`, which keeps only its bytes.
        return ingest.admit(decoded.request, decoded.raw, tenant, "http", reservation, decoded.salvage, signal)

    async def export(request: Request, signal: Signal) -> Response:
        kind = ""
        try:
            kind = media_type(request.headers.get("content-type"))
            tenant = ingest.authenticate(
                presented_key(request.headers.get("authorization"), request.headers.get("x-api-key"))
            )
            with ingest.reserve(declared_length(request)) as reservation:
                admission = await receive(request, kind, tenant, reservation, signal)
            result = await ingest.finish(admission)
        except PayloadError as exc:
            return error(kind, exc.status, _INVALID_ARGUMENT, str(exc))
        except ClientDisconnect:
            # The client left, or its body stalled and the connection guard answered 408 and
            # closed it: nothing was admitted and nobody reads this answer.
            return error(kind, 408, _DEADLINE_EXCEEDED, "request body not received")
        except BadRequest as exc:
            return error(kind, 400, _INVALID_ARGUMENT, str(exc))
        except Unauthenticated as exc:
            return error(kind, 401, _UNAUTHENTICATED, str(exc))
        except Overloaded as exc:
            return error(kind, 429, _RESOURCE_EXHAUSTED, str(exc), exc.retry_after)
        except Unavailable as exc:
            return error(kind, 503, _UNAVAILABLE, str(exc), limits.retry_after_seconds)
        except Exception:
            log.exception("unexpected error while exporting over HTTP")
            return error(kind, 503, _UNAVAILABLE, "internal error; retry", limits.retry_after_seconds)
        metrics.requests.labels("http", "200").inc()
        return Response(encode_response(kind, result.rejected, result.message, signal), media_type=kind)

    def exporter(signal: Signal) -> Route:
        async def endpoint(request: Request) -> Response:
            return await export(request, signal)

        return Route(signal.http_path, endpoint, methods=["POST"])

    async def metrics_endpoint(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    async def health(_: Request) -> JSONResponse:
        db_ok = await asyncio.to_thread(store.ping)
        return JSONResponse(
            {
                "status": "ok" if db_ok else "degraded",
                "database": "ok" if db_ok else "unreachable",
                "uptime_seconds": round(time.time() - started, 1),
            },
            status_code=200 if db_ok else 503,
        )

    return Starlette(
        routes=[
            *(exporter(signal) for signal in SIGNALS if ingest.accepts(signal)),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
