"""The FastAPI application factory: context, middleware, error handlers, routers.

`build_app(ctx)` wires one `ApiContext` (store, settings sections, key ring, rate limiter, the
collector's ingest path) into a FastAPI app. Errors are JSON `{"detail": ...}`
everywhere; database failures become 503 with `Retry-After`; anything unexpected is a
500 whose log line carries the request id.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentmortem.analyzer.api.deps import ApiContext
from agentmortem.analyzer.api.middleware import RequestContextMiddleware, current_request_id
from agentmortem.analyzer.api.routes import aggregates, health, ingest, pages, runs, signals
from agentmortem.analyzer.api.version import VERSION
from agentmortem.platform.store import StoreError

log = logging.getLogger("agentmortem.api")


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": _jsonable(exc.errors())}, status_code=422)


async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
    log.warning("database error on %s request_id=%s: %s", request.url.path, current_request_id(), exc)
    return JSONResponse({"detail": "database unavailable; retry"}, status_code=503, headers={"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s request_id=%s", request.url.path, current_request_id())
    return JSONResponse({"detail": "internal error", "request_id": current_request_id()}, status_code=500)


def _jsonable(errors: list) -> list:
    out = []
    for e in errors:
        e = dict(e)
        e.pop("ctx", None)  # may hold exception objects
        e.pop("input", None)  # may hold bytes or the whole (large) body
        out.append(e)
    return out


ROUTERS = (health.router, ingest.router, runs.router, aggregates.agents_router, aggregates.stats_router,
           aggregates.tools_router, signals.router, pages.router)


def build_app(ctx: ApiContext) -> FastAPI:
    """The API and pages over one context."""
    app = FastAPI(
        title="agentmortem API", version=VERSION,
        description="Why AI agent runs fail: runs, trees, post-mortems, agents, tools and stats. "
                    "A superset of the AgentMetrics receiver API.",
        docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.ctx = ctx
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StoreError, _store_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    for router in ROUTERS:
        app.include_router(router)
    if ctx.api.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=ctx.api.cors_origins, allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"], allow_credentials="*" not in ctx.api.cors_origins,
        )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=ctx.api.api_max_body_bytes)
    return app
