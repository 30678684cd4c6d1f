"""Tenant scope and the WHERE builder every API query starts from.

`Where(scope)` puts the tenant filter in first, so a query function cannot build a
WHERE clause without it: isolation lives here, in the query layer, not per endpoint.
Clauses are SQL written in this package with `{name:Type}` server-side parameters;
request values only ever travel as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentmortem.analyzer.api.timefmt import to_ns


@dataclass(frozen=True)
class Scope:
    """Whose data a request may read or write.

    `tenant` is the tenant of the presented API key; `None` means every tenant, which
    happens only when auth is not required and no key was presented. Spans written
    without a key carry no tenant (`""`).
    """

    tenant: str | None
    key_id: str = ""  # what the rate limit counts: the key's hash prefix, or the client address

    @property
    def write_tenant(self) -> str | None:
        """The tenant stamped on ingested spans (None: none, like the collector without a key)."""
        return self.tenant or None

    @property
    def own_tenant(self) -> str:
        """The one tenant this caller writes as and owns ("" without a key)."""
        return self.tenant or ""

    def of(self, tenant: str) -> Scope:
        """This scope narrowed to one tenant's data: the tenant of a run found in this scope, whose
        details (spans, signals, post-mortem) must come from that tenant alone even when the scope
        sees every tenant (two tenants may hold runs under one trace or run id)."""
        if self.tenant is not None and tenant != self.tenant:
            raise ValueError("a scope cannot be narrowed to another tenant")
        return Scope(tenant=tenant, key_id=self.key_id)


# Tenant column of each kind of source: analysis tables carry `Tenant`; raw spans the resource attribute
# (`semconv.keys.RAW_TENANT`).
TENANT_COLUMN = "Tenant"


@dataclass
class Where:
    """An AND of clauses with their parameters, starting with the scope's tenant filter."""

    scope: Scope
    tenant_column: str = TENANT_COLUMN
    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scope.tenant is not None:
            self.add(f"{self.tenant_column} = {{scope_tenant:String}}", scope_tenant=self.scope.tenant)

    def add(self, clause: str, **params: Any) -> Where:
        """AND one clause (our own SQL) with the parameters it names."""
        self.clauses.append(clause)
        self.params.update(params)
        return self

    def when(self, value: Any, clause: str, **params: Any) -> Where:
        """`add` only when `value` is given (not None and not "")."""
        if value is not None and value != "":
            self.add(clause, **params)
        return self

    def between(self, since: datetime | None, until: datetime | None, column: str = "Start") -> Where:
        """`since <= column < until`, each bound only when given."""
        if since is not None:
            self.add(f"{column} >= fromUnixTimestamp64Nano({{since_ns:Int64}})", since_ns=to_ns(since))
        if until is not None:
            self.add(f"{column} < fromUnixTimestamp64Nano({{until_ns:Int64}})", until_ns=to_ns(until))
        return self

    def sql(self) -> str:
        """`WHERE a AND b …`, or "" when there is nothing to filter."""
        return ("WHERE " + " AND ".join(f"({c})" for c in self.clauses)) if self.clauses else ""
