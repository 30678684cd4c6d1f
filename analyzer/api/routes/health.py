"""Health endpoints (the shapes the seed receivers document) and AgentMetrics capability discovery."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from agentmortem.analyzer.api import schemas
from agentmortem.analyzer.api.deps import ContextDep
from agentmortem.analyzer.api.version import VERSION

router = APIRouter(tags=["system"])


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _db(ctx: ContextDep) -> tuple[bool, float]:
    started = time.perf_counter()
    ok = ctx.store.ping()
    return ok, round((time.perf_counter() - started) * 1000, 2)


@router.get("/health")
def health(ctx: ContextDep) -> dict:
    """Status, version, uptime and database status (200 even when degraded; see /health/ready)."""
    ok, _ = _db(ctx)
    state = "healthy" if ok else "unhealthy"
    return {
        "status": "healthy" if ok else "degraded", "timestamp": _now(), "version": VERSION,
        "uptime_seconds": round(time.time() - ctx.started_at, 1), "database_status": state,
        "dependencies": {"database": state},
    }


@router.get("/health/db")
def health_db(ctx: ContextDep) -> JSONResponse:
    """Database connectivity: 200 when it answers, 503 when not."""
    ok, ms = _db(ctx)
    body = {"status": "healthy" if ok else "unhealthy", "database": ctx.store.location.describe(),
            "latency_ms": ms, "timestamp": _now()}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/health/ready")
def health_ready(ctx: ContextDep) -> JSONResponse:
    """Readiness: application, database and configuration checks (503 unless all pass)."""
    ok, _ = _db(ctx)
    checks = {"application": True, "database": ok, "configuration": True}
    return JSONResponse({"ready": all(checks.values()), "checks": checks, "timestamp": _now()},
                        status_code=200 if all(checks.values()) else 503)


@router.get("/health/live")
def health_live() -> dict:
    """Liveness: the process answers."""
    return {"status": "alive", "timestamp": _now()}


@router.get("/v1/capabilities", response_model=schemas.Capabilities)
def capabilities(ctx: ContextDep) -> schemas.Capabilities:
    """AgentMetrics capability discovery."""
    return schemas.Capabilities(
        version=VERSION, api_version="v1",
        features={"streaming_events": True, "batch_ingest": False, "compression": [],
                  "authentication": ctx.auth.require_auth, "trace_queries": True, "explanations": True},
        limits={"max_events_per_run": 10_000, "max_payload_bytes": ctx.api.api_max_body_bytes,
                "retention_days": ctx.retention_days or None},
    )
