"""API keys: create, list, revoke, and resolve a presented key to its tenant.

A key looks like `am_<id>_<secret>`; only its SHA-256 is stored (keys are 256-bit
random, so a fast hash is enough). Look-ups are cached for `key_cache_seconds`, so a
revocation takes effect within that time on every process sharing the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from agentmortem.platform.store import Store

KEYS_TABLE = "agentmortem_api_keys"
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    tenant: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_tenant(tenant: str) -> str:
    if not _TENANT.match(tenant):
        raise ValueError("tenant must be 1-64 characters: letters, digits, '_', '.', '-'")
    return tenant


def create_key(store: Store, tenant: str, name: str = "") -> tuple[ApiKey, str]:
    """Create a key for `tenant`; returns it and the secret (shown once, never stored)."""
    validate_tenant(tenant)
    key_id = secrets.token_hex(6)
    secret = f"am_{key_id}_{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    store.command(
        f"INSERT INTO {KEYS_TABLE} (KeyId, KeyHash, Tenant, Name, CreatedAt, RevokedAt, Version) VALUES "
        "({id:String}, {h:String}, {t:String}, {n:String}, {c:DateTime64(3)}, NULL, {v:UInt64})",
        {"id": key_id, "h": hash_key(secret), "t": tenant, "n": name, "c": now, "v": time.time_ns()},
    )
    return ApiKey(key_id, tenant, name, now, None), secret


def list_keys(store: Store) -> list[ApiKey]:
    rows = store.query(
        f"SELECT KeyId, Tenant, Name, CreatedAt, RevokedAt FROM {KEYS_TABLE} FINAL ORDER BY CreatedAt"
    )
    return [ApiKey(*row) for row in rows]


def revoke_key(store: Store, key_id: str) -> bool:
    """Mark a key revoked; False when no such key exists."""
    rows = store.query(
        f"SELECT KeyHash, Tenant, Name, CreatedAt FROM {KEYS_TABLE} FINAL WHERE KeyId = {{id:String}}",
        {"id": key_id},
    )
    if not rows:
        return False
    key_hash, tenant, name, created = rows[0]
    store.command(
        f"INSERT INTO {KEYS_TABLE} (KeyId, KeyHash, Tenant, Name, CreatedAt, RevokedAt, Version) VALUES "
        "({id:String}, {h:String}, {t:String}, {n:String}, {c:DateTime64(3)}, {r:DateTime64(3)}, {v:UInt64})",
        {
            "id": key_id, "h": key_hash, "t": tenant, "n": name, "c": created,
            "r": datetime.now(UTC), "v": time.time_ns(),
        },
    )
    return True


class KeyRing:
    """Resolves presented keys to tenants, with a short cache in front of the database."""

    def __init__(self, store: Store, cache_seconds: float) -> None:
        self._store = store
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    def tenant_for(self, secret: str) -> str | None:
        """The tenant of an active key, or None for an unknown or revoked key."""
        digest = hash_key(secret)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        rows = self._store.query(
            f"SELECT Tenant, RevokedAt FROM {KEYS_TABLE} FINAL WHERE KeyHash = {{h:String}} LIMIT 1",
            {"h": digest},
        )
        tenant = rows[0][0] if rows and rows[0][1] is None else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (tenant, now + self._ttl)
        return tenant


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key from `Authorization: Bearer …` or `x-api-key`, if any."""
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None
