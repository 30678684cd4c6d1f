"""What handlers receive: the app context, the caller's tenant scope (auth + rate limit), paging.

`ScopeDep` is the one gate every data route takes: it reads the key (`Authorization:
Bearer`, `X-API-Key`, or `?api_key=`), resolves it to a tenant with the collector's
`KeyRing`, enforces `require_auth`, and charges the per-key rate limit (429 +
`Retry-After`). The scope then travels into the query layer, which filters by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request

from agentmortem.analyzer.api.queries.scope import Scope
from agentmortem.analyzer.api.ratelimit import RateLimiter
from agentmortem.analyzer.api.settings import ApiSettings
from agentmortem.collector.ingest import Ingest
from agentmortem.platform.auth import KeyRing, hash_key, presented_key
from agentmortem.platform.settings import AuthSettings
from agentmortem.platform.store import Store, StoreError


@dataclass
class ApiContext:
    """Everything the routes share, built once by `build_app`."""

    store: Store
    api: ApiSettings
    auth: AuthSettings
    keys: KeyRing
    limiter: RateLimiter
    ingest: Ingest | None = None  # the collector's durable write path (None: ingest answers 503)
    started_at: float = 0.0
    retention_days: int = 0  # the store's TTL (AGENTMORTEM_TTL_DAYS), told to clients; 0 = kept
    extra: dict = field(default_factory=dict)


def get_context(request: Request) -> ApiContext:
    return request.app.state.ctx


ContextDep = Annotated[ApiContext, Depends(get_context)]


def tenant_scope(
    request: Request,
    ctx: ContextDep,
    authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    api_key: Annotated[str | None, Query(description="API key (when headers cannot be set)")] = None,
) -> Scope:
    """The caller's scope, or 401 / 429 / 503."""
    secret = presented_key(authorization, x_api_key) or (api_key.strip() if api_key else None)
    if secret is None:
        if ctx.auth.require_auth:
            raise HTTPException(401, "an API key is required (Authorization: Bearer <key>, X-API-Key or ?api_key=)",
                                headers={"WWW-Authenticate": "Bearer"})
        client = request.client.host if request.client else "anonymous"
        scope = Scope(tenant=None, key_id=f"ip:{client}")
    else:
        try:
            tenant = ctx.keys.tenant_for(secret)
        except StoreError as exc:
            raise HTTPException(503, f"cannot check the API key: {exc}", headers={"Retry-After": "1"}) from exc
        if tenant is None:
            raise HTTPException(401, "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
        scope = Scope(tenant=tenant, key_id="key:" + hash_key(secret)[:16])
    wait = ctx.limiter.take(scope.key_id)
    if wait:
        raise HTTPException(429, f"rate limit of {ctx.limiter.per_hour} requests per hour exceeded",
                            headers={"Retry-After": str(wait)})
    request.state.tenant = scope.tenant
    return scope


ScopeDep = Annotated[Scope, Depends(tenant_scope)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page(
    ctx: ContextDep,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="Max results (default 50)")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page:
    return Page(min(limit or ctx.api.api_default_limit, ctx.api.api_max_limit), offset)


PageDep = Annotated[Page, Depends(page)]
