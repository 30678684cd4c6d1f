"""Walking a tree depth-first without recursion: the one flattener behind every tree order of spans
(a run's preorder in the facts, the API's tree and the run page's waterfall, the terminal's tree).

Trees tens of thousands of levels deep (a chain of nested calls) cost no recursion, and a node
reached twice (a span listed under two parents) is walked once, where it is first reached.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def depth_first(tops: Iterable[K], children: Callable[[K], Sequence[K]],
                max_depth: int | None = None) -> Iterator[tuple[K, int]]:
    """Every node under `tops` with its depth (0 for a top), each before its descendants: the tops
    in the order given, each node's `children` in theirs. With `max_depth`, only the nodes above
    that depth (the levels below are not entered)."""
    stack = [(top, 0) for top in reversed(list(tops))]
    seen: set[K] = set()
    while stack:
        node, depth = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node, depth
        if max_depth is None or depth + 1 < max_depth:
            below = depth + 1
            stack.extend((child, below) for child in reversed(children(node)))
