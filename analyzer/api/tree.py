"""A run's spans as one ordered tree (its own steps plus its sub-runs), with the critical path.

Pure functions over the analyzer's `Run`s: `run_nodes` flattens a run and its sub-runs
depth-first (children by start time, with the core's `walk.depth_first`), which is the order
of the waterfall rows and of the JSON tree; `critical_path` follows, from the top, the child that finished last —
the chain of spans that determined the run's duration; `cap` keeps what a response may
show (a depth and a size limit) and counts the rest. Iterative throughout, so deep or
wide trees (tens of thousands of spans) cost no recursion.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentmortem.analyzer.core.model import Run, RunSpan
from agentmortem.analyzer.core.walk import depth_first
from agentmortem.semconv.model import CanonicalSpan


@dataclass(frozen=True)
class Node:
    """One span placed in the displayed tree."""

    span: CanonicalSpan
    run_id: str  # the run (or sub-run) the span belongs to
    depth: int  # 0 at the top of the displayed tree
    step: int  # the span's step within its own run
    parent_id: str  # displayed parent ("" at the top)
    orphan: bool
    cost_usd: float | None
    children: tuple[str, ...]

    @property
    def span_id(self) -> str:
        return self.span.span_id

    @property
    def end_ns(self) -> int:
        return self.span.start_ns + self.span.duration_ns


def find_run(runs: list[Run], run_id: str) -> Run | None:
    return next((r for r in runs if r.run_id == run_id), None)


def _members(runs: list[Run], top: Run) -> list[tuple[Run, RunSpan]]:
    by_id = {r.run_id: r for r in runs}
    out, todo = [], [top]
    while todo:
        run = todo.pop()
        out.extend((run, rs) for rs in run.spans)
        todo.extend(by_id[s] for s in run.sub_run_ids if s in by_id)
    return out


def run_nodes(runs: list[Run], run_id: str) -> list[Node]:
    """The run's spans and its sub-runs' spans, depth-first in start order."""
    top = find_run(runs, run_id)
    if top is None:
        return []
    members = _members(runs, top)
    present = {rs.span_id for _, rs in members}
    kids: dict[str, list[str]] = {}
    parent: dict[str, str] = {}
    for _, rs in members:
        for child in rs.children:
            parent[child] = rs.span_id
    for run, rs in members:  # sub-run roots hang under the span that called them
        if rs.span_id not in parent and rs.span_id != top.run_id:
            caller = rs.span.parent_span_id
            if caller in present and caller != rs.span_id:
                parent[rs.span_id] = caller
            elif run.run_id != rs.span_id and run.run_id in present:
                parent[rs.span_id] = run.run_id
    info = {rs.span_id: (run, rs) for run, rs in members}
    for child, p in parent.items():
        kids.setdefault(p, []).append(child)
    for ids in kids.values():
        ids.sort(key=lambda i: (info[i][1].span.start_ns, i))
    tops = sorted((i for i in present if i not in parent), key=lambda i: (info[i][1].span.start_ns, i))
    nodes: list[Node] = []
    for sid, depth in depth_first(tops, lambda sid: kids.get(sid, ())):
        run, rs = info[sid]
        nodes.append(Node(rs.span, run.run_id, depth, rs.step, parent.get(sid, ""), rs.orphan, rs.cost_usd,
                          tuple(kids.get(sid, ()))))
    return nodes


def critical_path(nodes: list[Node]) -> list[str]:
    """Span ids from the top span down, each step into the child that ended last (children
    missing from `nodes`, e.g. past a load limit, end the path)."""
    if not nodes:
        return []
    by_id = {n.span_id: n for n in nodes}
    tops = [n for n in nodes if not n.parent_id or n.parent_id not in by_id]
    current: Node | None = max(tops, key=lambda n: (n.end_ns, -n.span.start_ns))
    path = []
    while current is not None:
        path.append(current.span_id)
        current = max((by_id[c] for c in current.children if c in by_id),
                      key=lambda n: (n.end_ns, n.span.start_ns), default=None)
    return path


def subtree(nodes: list[Node], span_id: str) -> list[Node] | None:
    """The nodes of the subtree under `span_id` (itself first), or None when it is not in `nodes`.

    `nodes` are in `run_nodes` order, so a subtree is the run of nodes after its top that are
    deeper than it."""
    start = next((i for i, n in enumerate(nodes) if n.span_id == span_id), None)
    if start is None:
        return None
    top = nodes[start].depth
    end = next((i for i in range(start + 1, len(nodes)) if nodes[i].depth <= top), len(nodes))
    return nodes[start:end]


@dataclass(frozen=True)
class Capped:
    """What a tree or waterfall shows of `nodes` under a depth and a size cap."""

    nodes: list[Node]  # shown, in tree order
    hidden_below: dict[str, int]  # shown span id -> how many of its descendants are not shown
    hidden: int  # spans not shown
    too_deep: int  # of which past the depth cap (the rest: past the size cap)
    hidden_levels: int  # levels that hold spans but lie past the depth cap
    max_depth: int
    max_nodes: int


def cap(nodes: list[Node], max_depth: int, max_nodes: int, keep: frozenset[str] = frozenset()) -> Capped:
    """The first `max_nodes` nodes (tree order) of the top `max_depth` levels, plus the `keep` spans
    wherever they are; every hidden span is counted on its nearest shown ancestor."""
    base = min((n.depth for n in nodes), default=0)
    shown: list[Node] = []
    hidden_below: dict[str, int] = {}
    stack: list[tuple[int, str]] = []  # (depth, nearest shown span at or above it) along the current branch
    deepest, too_deep = base - 1, 0
    for n in nodes:
        deepest = max(deepest, n.depth)
        while stack and stack[-1][0] >= n.depth:
            stack.pop()
        above = stack[-1][1] if stack else ""
        deep = n.depth - base >= max_depth
        if (not deep and len(shown) < max_nodes) or n.span_id in keep:
            shown.append(n)
            stack.append((n.depth, n.span_id))
        else:
            too_deep += deep
            if above:
                hidden_below[above] = hidden_below.get(above, 0) + 1
            stack.append((n.depth, above))
    return Capped(shown, hidden_below, len(nodes) - len(shown), too_deep, max(0, deepest - base + 1 - max_depth),
                  max_depth, max_nodes)


def nested(nodes: list[Node], to_dict) -> list[dict]:  # noqa: ANN001 - Node -> dict
    """The nodes as nested dicts (`children` lists), built without recursion."""
    made: dict[str, dict] = {}
    roots: list[dict] = []
    for n in nodes:  # depth-first order: a parent always comes before its children
        d = {**to_dict(n), "children": []}
        made[n.span_id] = d
        if n.parent_id and n.parent_id in made:
            made[n.parent_id]["children"].append(d)
        else:
            roots.append(d)
    return roots
