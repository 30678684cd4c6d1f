"""Finding runs by the id a person or a client gives: a run id, a trace id, an AgentMetrics run id.

The one look-up behind the API (`/v1/runs/{id}…`, the run pages: the best run for one caller,
within its tenant scope) and `agentmortem explain` (an operator's tool: every run the id names,
of every tenant, in time order). An id names the runs whose run id or trace id is one of its
candidates (`id_candidates`): the id as given, lower-cased, without dashes (a UUID), and the trace
id an AgentMetrics run id maps to (`trace_id_for`: the ingest writes the run's spans under it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from agentmortem.analyzer.engine.tables import AGENT_ACTIVITY, AGENT_RUNS
from agentmortem.platform.schema import TRACES_TABLE
from agentmortem.platform.store import Store


def trace_id_for(run_id: str, tenant: str = "") -> str:
    """The trace id of tenant `tenant`'s AgentMetrics run: the run id itself when it is a UUID (or 32
    hex digits), else a hash of the tenant and the run id (of the run id alone without a tenant, as
    before tenants were part of it)."""
    plain = run_id.replace("-", "").lower()
    if len(plain) == 32 and all(c in "0123456789abcdef" for c in plain) and plain != "0" * 32:
        return plain
    named = f"{tenant}\x00{run_id}" if tenant else run_id
    return hashlib.sha256(named.encode()).hexdigest()[:32]


def id_candidates(ident: str, tenants: Iterable[str] = ("",)) -> list[str]:
    """The run or trace ids `ident` may stand for: itself, lower-cased, without dashes, and the trace
    id of an AgentMetrics run of that id sent by each of `tenants` (also as trace ids were derived
    before they depended on the tenant)."""
    text = ident.strip()
    plain = text.replace("-", "").lower()
    return sorted({text, text.lower(), plain, trace_id_for(text), *(trace_id_for(text, t) for t in tenants)})


_NAMED = "RunId IN {ids:Array(String)} OR TraceId IN {ids:Array(String)}"
# For one caller: its own tenant's runs, then a run named by its run id before the runs of a trace
# named by its trace id, then top-level runs, the earliest first.
_BEST_FIRST = "Tenant = {own:String} DESC, has({ids:Array(String)}, RunId) DESC, ParentRunId = '' DESC, Start ASC, Tenant"
_IN_TIME = "Start, Tenant, RunId"


def find_runs(store: Store, ident: str, select: str, *, tenant: str | None = None,
              id_tenants: Sequence[str] = ("",), best_for: str | None = None, limit: int = 0) -> list[dict]:
    """The analyzed runs `ident` names, as `select` (a SELECT list over `agent_runs`) gives them.

    `tenant`: only that tenant's runs (None: every tenant's). `id_tenants`: the tenants whose
    AgentMetrics run ids `ident` may be. `best_for`: order the runs best first for a caller of that
    tenant (else in time order). `limit`: at most that many (0: all)."""
    params: dict[str, object] = {"ids": id_candidates(ident, id_tenants)}
    where = f"({_NAMED})"
    if tenant is not None:
        where, params["tenant"] = f"(Tenant = {{tenant:String}}) AND {where}", tenant
    order = _IN_TIME
    if best_for is not None:
        order, params["own"] = _BEST_FIRST, best_for
    sql = f"SELECT {select} FROM {AGENT_RUNS.final} WHERE {where} ORDER BY {order}"
    if limit:
        sql, params["limit"] = sql + " LIMIT {limit:UInt32}", limit
    return store.query_dicts(sql, params)


def sender_tenants(store: Store) -> list[str]:
    """Every tenant that stored spans ("" for spans sent without a key): whose AgentMetrics run ids
    an operator's look-up tries."""
    return [row[0] for row in store.query(f"SELECT DISTINCT Tenant FROM {AGENT_ACTIVITY.name} ORDER BY 1")]


def find_stored_traces(store: Store, ident: str, id_tenants: Sequence[str] = ("",)) -> list[str]:
    """The stored traces (analyzed or not) an id names: its trace id, any of its span ids, or an
    AgentMetrics run id of one of `id_tenants` (several tenants may have sent runs of one id)."""
    rows = store.query(
        f"SELECT DISTINCT TraceId FROM {TRACES_TABLE}"
        " WHERE TraceId IN {ids:Array(String)} OR SpanId IN {ids:Array(String)} ORDER BY TraceId",
        {"ids": id_candidates(ident, id_tenants)},
    )
    return [trace_id for (trace_id,) in rows]
