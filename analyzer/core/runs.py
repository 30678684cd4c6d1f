"""Run building: a trace's canonical spans → its runs, each a tree in step order.

A run is rooted at the trace root or at an agent span that acts as an agent of its own
(`_acting_agents`: frameworks also mark graph nodes as agents). Agents under another agent
or under a workflow root are sub-runs (`parent_run_id` = the run holding their parent span):
an orchestration is one run that answers for its agents. Agents under any other trace root
(e.g. an HTTP handler) are top-level runs, and the spans around them form the trace root's
own run. Every span lands in exactly one run.

Bad data is tolerated, deterministically:
- duplicate deliveries (same span id twice) count once (the longest copy wins);
- a span whose parent never arrived attaches to the trace root with `orphan=True`;
- parent cycles are cut at the earliest span of the cycle (it becomes an orphan);
- clock skew only changes step numbers (steps follow start time, the tree follows ids);
- with no root span at all: one top-level span is taken as the root (its parent lives
  in another service); several are hung under the missing parent they share, as a
  run that has not ended (`ended=False`; it becomes `abandoned` when it never does).

Cost (`RunSpan.cost_usd`) is set on leaf model calls only — `llm` spans with no `llm`
span below them in their run — because wrappers repeat their children's usage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter

from agentmortem.analyzer.core.model import Run, RunSpan, TraceKey
from agentmortem.semconv.cost import span_cost
from agentmortem.semconv.model import CANONICAL_COLUMNS, CanonicalSpan

Pricer = Callable[[CanonicalSpan], float | None]
_new_run_span = tuple.__new__  # a RunSpan from its seven values (`RunSpan.__new__` without the call)


@dataclass(frozen=True)
class _Tree:
    """One trace's spans as a tree: effective parent of every span and the root."""

    spans: dict[str, CanonicalSpan]  # by span id, deduplicated
    parent: dict[str, str]  # effective parent id of every span but the root ("" at the top)
    root_id: str  # a span id, or the missing parent's id when the root never arrived
    root_present: bool
    orphans: frozenset[str]


def _order(span: CanonicalSpan) -> tuple[int, str]:
    return (span.start_ns, span.span_id)


def dedupe(spans: Iterable[CanonicalSpan]) -> dict[str, CanonicalSpan]:
    """One copy per span id: the longest, then the latest-starting, then by content (order-free)."""
    spans = spans if isinstance(spans, list | tuple) else list(spans)
    best = {span.span_id: span for span in spans}
    if len(best) == len(spans) and "" not in best:
        return best  # no duplicates (nearly every trace): nothing to choose, no per-span ranking loop
    best = {}
    for span in spans:
        sid = span.span_id
        if not sid:
            continue
        kept = best.get(sid)
        if kept is None or _rank(span) > _rank(kept):
            best[sid] = span
    return best


def _rank(span: CanonicalSpan) -> tuple[int, int, tuple[str, ...]]:
    """Longest first, then any total order over the content (only ever computed for duplicates)."""
    return (span.duration_ns, span.start_ns, tuple(str(getattr(span, name)) for name in CANONICAL_COLUMNS))


def _cut_cycles(spans: dict[str, CanonicalSpan], parent: dict[str, str]) -> set[str]:
    """Remove one parent link per cycle (at the cycle's earliest span); returns the cut spans."""
    cut: set[str] = set()
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = known to reach the top
    # Walks start from the spans with a parent, in any order: each span has one parent, so a cycle
    # is found once whichever walk enters it first, and its victim is the cycle's earliest span.
    for start in list(parent):
        path: list[str] = []
        node = start
        while node and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parent.get(node, "")
        if node and state.get(node) == 1:  # the walk came back onto itself
            cycle = path[path.index(node):]
            victim = min(cycle, key=lambda i: _order(spans[i]))
            parent[victim] = ""
            cut.add(victim)
        for n in path:
            state[n] = 2
    return cut


def build_tree(spans: dict[str, CanonicalSpan]) -> _Tree:
    """Parent links inside the trace, cycles cut, the root chosen, strays attached to it."""
    parent = {sid: s.parent_span_id for sid, s in spans.items()
              if s.parent_span_id in spans and s.parent_span_id != sid}
    cut = _cut_cycles(spans, parent)
    parent = {sid: p for sid, p in parent.items() if p}
    tops = sorted((s for sid, s in spans.items() if sid not in parent), key=_order)
    true_roots = [s for s in tops if not s.parent_span_id]
    missing = [s.parent_span_id for s in tops if s.parent_span_id and s.span_id not in cut]
    if true_roots or len(tops) == 1 or not missing:
        root = (true_roots or tops)[0]
        root_id, present = root.span_id, True
    else:  # the root never arrived: hang the strays under the parent most of them name
        counts = Counter(missing)
        root_id = max(counts, key=lambda p: (counts[p], -missing.index(p)))
        present = False
    orphans = set()
    for s in tops:
        if s.span_id == root_id:
            continue
        parent[s.span_id] = root_id
        if s.parent_span_id != root_id or s.span_id in cut:
            orphans.add(s.span_id)
    return _Tree(spans, parent, root_id, present, frozenset(orphans))


def _children(tree: _Tree) -> dict[str, list[str]]:
    """Children of every span, in `_order`: all links sorted once by their child's `_order`
    (ids are unique, so parents are never compared), then listed in that order."""
    kids: dict[str, list[str]] = {}
    spans = tree.spans
    for (_, sid), p in sorted((_order(spans[sid]), p) for sid, p in tree.parent.items()):
        kids.setdefault(p, []).append(sid)
    return kids


def _acting_agents(tree: _Tree, kids: dict[str, list[str]]) -> set[str]:
    """The spans that are agents of their own, not steps of the agent around them.

    Frameworks mark their graph nodes as agent spans too (LangGraph's `agent` node under
    OpenInference is one model call): an agent span counts when it names an agent other than
    its span name (`invoke_agent researcher`, an explicit agent name) or when it acts as one —
    it executes tools or runs agents below it. A workflow span counts when it names an agent
    (OpenLLMetry's `execute_task billing_agent`, `traceloop.entity.name`) and runs that agent's
    loop below it: model calls and tool executions. A tool span with model calls inside it is an
    agent called as a tool (LlamaIndex, CrewAI delegation, smolagents' managed agents)."""
    spans = tree.spans
    inner = [sid for sid, span in spans.items()
             if sid in kids and sid != tree.root_id and span.category in ("agent", "workflow", "tool")]
    if not inner:  # no agent, workflow or tool span with spans below (most traces): names alone decide
        return {sid for sid, span in spans.items() if span.category == "agent" and span.agent_name
                and span.agent_name != span.span_name}
    below: dict[str, tuple[bool, bool]] = {}  # (a tool or agent below, a model call below)
    order: list[str] = []
    stack = [tree.root_id]
    while stack:  # parents before children; walked back, children before parents
        sid = stack.pop()
        order.append(sid)
        stack.extend(kids.get(sid, ()))
    own_llms: dict[str, bool] = {}  # a model call below, not inside a nested agent span
    for sid in reversed(order):
        if sid not in kids:  # a leaf (most spans)
            below[sid], own_llms[sid] = (False, False), False
            continue
        acts = llms = own = False
        for c in kids[sid]:
            cat = tree.spans[c].category
            acts = acts or cat in ("tool", "agent") or below[c][0]
            llms = llms or cat == "llm" or below[c][1]
            own = own or cat == "llm" or (cat != "agent" and own_llms[c])
        below[sid], own_llms[sid] = (acts, llms), own
    agents = set()
    for sid, span in tree.spans.items():
        named = bool(span.agent_name) and span.agent_name != span.span_name
        acts, llms = below.get(sid, (False, False))
        if ((span.category == "agent" and (named or acts)) or (span.category == "workflow" and named and acts and llms)
                or (span.category == "tool" and own_llms.get(sid))):  # an agent called as a tool (no agent span)
            agents.add(sid)
    return agents


def _name_of(tree: _Tree, run_id: str) -> str:
    span = tree.spans.get(run_id)
    return span.agent_name if span is not None else ""


def _assign(tree: _Tree, kids: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    """Run of every span, parent run of every run, depth of every span within its run.

    Agents under an agent or workflow root are its sub-runs (an orchestration is one run that
    answers for its agents); under any other root (an HTTP handler) they are top-level runs."""
    run_of: dict[str, str] = {}
    parent_run: dict[str, str] = {tree.root_id: ""}
    depth: dict[str, int] = {}
    agents = _acting_agents(tree, kids)
    root = tree.spans.get(tree.root_id)
    orchestrated = root is not None and root.category in ("agent", "workflow")
    stack = [(tree.root_id, tree.root_id, 0)]
    while stack:
        sid, run, d = stack.pop()
        span = tree.spans.get(sid)
        if span is not None and sid in agents and sid != tree.root_id and span.agent_name != _name_of(tree, run):
            under_agent = run != tree.root_id or orchestrated
            parent_run[sid] = run if under_agent else ""
            run, d = sid, 0
        if span is not None:
            run_of[sid], depth[sid] = run, d
        for child in reversed(kids.get(sid, ())):
            stack.append((child, run, d + 1))
    return run_of, parent_run, depth


def _leaf_llms(members: list[CanonicalSpan], kids: dict[str, list[str]]) -> set[str]:
    """Model calls with no model call below them in the same run."""
    by_id = {s.span_id: s for s in members}
    wrappers: set[str] = set()
    for s in members:
        if s.category != "llm":
            continue
        stack = [c for c in kids.get(s.span_id, ()) if c in by_id]
        while stack:
            c = stack.pop()
            if by_id[c].category == "llm":
                wrappers.add(s.span_id)
                break
            stack.extend(x for x in kids.get(c, ()) if x in by_id)
    return {s.span_id for s in members if s.category == "llm" and s.span_id not in wrappers}


def _first(members: list[CanonicalSpan], name: str) -> str:
    # map/filter loop in C: tenant and environment are usually empty on every span, so this scans them all.
    return next(filter(None, map(attrgetter(name), members)), "")


def _make_run(run_id: str, tree: _Tree, members: list[CanonicalSpan], kids: dict[str, list[str]],
              run_of: dict[str, str], depth: dict[str, int], parent_run: dict[str, str], sub_runs: list[str],
              price: Pricer) -> Run:
    members.sort(key=lambda s: (s.start_ns, depth[s.span_id], s.span_id))
    leaves = _leaf_llms(members, kids)
    spans = tuple(
        _new_run_span(RunSpan, (
            s, depth[s.span_id], i + 1,
            tuple(c for c in kids[s.span_id] if run_of.get(c) == run_id) if s.span_id in kids else (),
            s.span_id in tree.orphans,
            price(s) if s.span_id in leaves else None,
            s.span_id,
        ))
        for i, s in enumerate(members)
    )
    root = tree.spans.get(run_id)
    ordered = ([root] if root is not None else []) + members
    ended = root is not None
    start = root.start_ns if root is not None else min((s.start_ns for s in members), default=0)
    return Run(
        run_id=run_id, trace_id=members[0].trace_id if members else "", parent_run_id=parent_run.get(run_id, ""),
        root_span_id=run_id, spans=spans, agent_name=_first(ordered, "agent_name"),
        service_name=_first(ordered, "service_name"), tenant=_first(ordered, "tenant"),
        environment=_first(ordered, "environment"), start_ns=start,
        end_ns=root.start_ns + root.duration_ns if root is not None else 0, ended=ended,
        sub_run_ids=tuple(sub_runs),
    )


def trace_runs(spans: Iterable[CanonicalSpan], price: Pricer = span_cost) -> list[Run]:
    """The runs of ONE trace's spans (one tenant's spans of one trace id), parents before their sub-runs."""
    unique = dedupe(spans)
    if not unique:
        return []
    tree = build_tree(unique)
    kids = _children(tree)
    run_of, parent_run, depth = _assign(tree, kids)
    members: dict[str, list[CanonicalSpan]] = {}
    for sid, run in run_of.items():
        members.setdefault(run, []).append(unique[sid])
    subs: dict[str, list[str]] = {}
    for run_id in sorted(members, key=lambda r: _order(unique[r]) if r in unique else (-1, r)):
        if parent_run.get(run_id):
            subs.setdefault(parent_run[run_id], []).append(run_id)
    runs = [
        _make_run(run_id, tree, members[run_id], kids, run_of, depth, parent_run, subs.get(run_id, []), price)
        for run_id in members
    ]
    depth_of = _run_depths(parent_run)
    return sorted(runs, key=lambda r: (depth_of.get(r.run_id, 0), r.start_ns, r.run_id))


def _run_depths(parent_run: dict[str, str]) -> dict[str, int]:
    """How many runs up each run's top-level run is; each run's chain is walked only up to the
    first run already known (walking every chain to the top is quadratic in nested agents)."""
    depth: dict[str, int] = {}
    for run_id in parent_run:
        chain, p = [], run_id
        while p and p not in depth:
            chain.append(p)
            p = parent_run.get(p, "")
        d = depth.get(p, -1) if p else -1
        for r in reversed(chain):
            d += 1
            depth[r] = d
    return depth


def build_runs(spans: Iterable[CanonicalSpan], price: Pricer = span_cost) -> list[Run]:
    """The runs of every trace among `spans` (any order, any mix of traces and tenants).

    A trace is a (tenant, trace id): spans of two tenants under one trace id build two
    separate sets of runs, in (tenant, trace id) order."""
    by_trace: dict[TraceKey, list[CanonicalSpan]] = {}
    for span in spans:
        by_trace.setdefault(TraceKey(span.tenant, span.trace_id), []).append(span)
    return [run for key in sorted(by_trace) for run in trace_runs(by_trace[key], price)]

