"""Facts about one run that several rules need, derived once: failures, tool calls, answer, totals.

`RunView` is built by `analyze_run` for each run and handed to every rule in the
`RuleContext`; each fact is computed lazily on first use and kept.

Failures are grouped by kind and *target* (a tool by name; a model call by its parent
span, so retries and fallbacks under one step count as the same target). A failure
is *recovered* when a later call to the same target succeeded, and *propagated*
when it merely repeats an unrecovered failure of one of its descendants (an
exception that bubbled up through `with span:` blocks) — neither is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple, TypeVar, cast

from agentmortem.analyzer.core.facts.content import (
    ToolCall,
    agent_answer,
    all_text,
    assistant_text,
    given_text,
    has_tool_message,
    is_non_answer,
    tool_calls,
    tool_definitions,
)
from agentmortem.analyzer.core.facts.failures import failure_kind, failure_text, span_end
from agentmortem.analyzer.core.model import Run, RunSpan
from agentmortem.analyzer.core.walk import depth_first

T = TypeVar("T")

@dataclass(frozen=True)
class SpanFailure:
    """One failing span, classified."""

    rs: RunSpan
    kind: str
    text: str
    target: tuple[str, str]
    recovered: bool


@dataclass(frozen=True)
class Failure:
    """Unrecovered failures of one kind against one target, in time order."""

    kind: str
    target: tuple[str, str]
    spans: tuple[RunSpan, ...]
    text: str  # the first failure's text

    @property
    def first(self) -> RunSpan:
        return self.spans[0]


class CallSite(NamedTuple):
    """A tool call as the run shows it: asked by a model and/or executed by a tool span.

    A named tuple, not a frozen dataclass: every tool call of every run makes one, and a tuple
    is built several times faster."""

    name: str
    arguments: str  # what the model sent when its request is known, else what the tool span recorded
    llm: RunSpan | None  # the model call that asked for it
    tool: RunSpan | None  # the span that executed it
    model_sent: bool = True  # `arguments` are the model's own (not a tool span's record of its input)

    @property
    def rs(self) -> RunSpan:
        return self.tool or self.llm  # type: ignore[return-value]


def target(rs: RunSpan) -> tuple[str, str]:
    """What a call is aimed at: a tool by name, a model call by its parent step, else the span name."""
    s = rs.span
    if s.category == "tool":
        return ("tool", s.tool_name or s.span_name)
    if s.category == "llm":
        return ("llm", s.parent_span_id)
    return (s.category, s.span_name)


class RunView:
    """Lazily derived facts about one run (see module doc)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """A fact computed by another module (e.g. grounding), once per run."""
        if key not in self._memo:
            self._memo[key] = compute()
        return cast(T, self._memo[key])

    # -- structure -------------------------------------------------------------------
    @cached_property
    def by_id(self) -> dict[str, RunSpan]:
        return self.run.by_id()

    @cached_property
    def root(self) -> RunSpan | None:
        return self.by_id.get(self.run.root_span_id)

    def _kids(self, span_id: str) -> list[str]:
        by_id = self.by_id
        return [c for c in by_id[span_id].children if c in by_id]

    def descendants(self, span_id: str) -> Iterator[RunSpan]:
        """The spans under `span_id` in its run, each before its own descendants."""
        tops = self._kids(span_id) if span_id in self.by_id else []
        return (self.by_id[sid] for sid, _ in depth_first(tops, self._kids))

    @cached_property
    def preorder(self) -> list[RunSpan]:
        """The run's spans from its top spans down, each before its descendants."""
        under = {c for rs in self.run.spans for c in rs.children}
        tops = [rs.span_id for rs in self.run.spans if rs.span_id not in under]
        return [self.by_id[sid] for sid, _ in depth_first(tops, self._kids)]

    def path(self, span_id: str) -> list[RunSpan]:
        """Spans from the run's root down to `span_id`."""
        chain: list[RunSpan] = []
        seen: set[str] = set()  # by id: a membership test on `chain` made a deep chain quadratic
        current = self.by_id.get(span_id)
        while current is not None and current.span_id not in seen:
            seen.add(current.span_id)
            chain.append(current)
            if current.span_id == self.run.root_span_id or current.orphan:
                if current.orphan and self.root is not None and self.root is not current:
                    chain.append(self.root)
                break
            current = self.by_id.get(current.span.parent_span_id)
        return list(reversed(chain))

    @cached_property
    def llm_leaves(self) -> list[RunSpan]:
        """Model calls that are not wrappers of other model calls (where usage is counted once)."""
        return [
            rs for rs in self.run.spans
            if rs.span.category == "llm"
            and (not rs.children or not any(d.span.category == "llm" for d in self.descendants(rs.span_id)))
        ]

    # -- totals ----------------------------------------------------------------------------
    @staticmethod
    def tokens(rs: RunSpan) -> int:
        s = rs.span
        if s.input_tokens is None and s.output_tokens is None:
            return s.total_tokens or 0
        return (s.input_tokens or 0) + (s.output_tokens or 0)

    @cached_property
    def total_tokens(self) -> int:
        return sum(self.tokens(rs) for rs in self.llm_leaves)

    @cached_property
    def total_cost(self) -> float | None:
        costs = [rs.cost_usd for rs in self.run.spans if rs.cost_usd is not None]
        return sum(costs) if costs else None

    @cached_property
    def last_end(self) -> int:
        """When the run's last span ended (the run's end when it has none)."""
        return max((span_end(rs.span) for rs in self.run.spans), default=self.run.end_ns)

    @cached_property
    def duration_ms(self) -> float:
        if self.run.end_ns > self.run.start_ns:
            return (self.run.end_ns - self.run.start_ns) / 1e6
        if not self.run.spans:
            return 0.0
        return (self.last_end - min(rs.span.start_ns for rs in self.run.spans)) / 1e6

    # -- failures ----------------------------------------------------------------------------
    @cached_property
    def failure_texts(self) -> dict[str, str]:
        """`failure_text` of every failing span by id, computed once per run. Only failing spans are
        kept: most runs have none, and an empty dict lets every failure fact below stop at once."""
        return {rs.span_id: text for rs in self.run.spans if (text := failure_text(rs.span))}

    def failure(self, rs: RunSpan) -> str:
        """Why this span of the run failed, or ""."""
        return self.failure_texts.get(rs.span_id, "")

    @cached_property
    def span_failures(self) -> list[SpanFailure]:
        """Every failing span with its kind, and whether a later call to its target succeeded."""
        texts = self.failure_texts
        if not texts:
            return []
        raw = [(rs, texts.get(rs.span_id, ""), target(rs)) for rs in self.run.spans]
        last_success: dict[tuple[str, str], int] = {}
        for rs, text, tgt in raw:
            if not text:
                last_success[tgt] = max(last_success.get(tgt, 0), rs.step)
        return [
            SpanFailure(rs, failure_kind(rs.span, text), text, tgt, last_success.get(tgt, 0) > rs.step)
            for rs, text, tgt in raw if text
        ]

    @cached_property
    def failures(self) -> list[Failure]:
        """Unrecovered, non-propagated failures grouped by (kind, target), in time order."""
        live = {f.rs.span_id: f for f in self.span_failures if not f.recovered}
        if not live:
            return []  # (nothing failed in this run itself: a failed sub-run is delegation_failure's)
        kinds_below = self._kinds_below(live)
        origin = []
        for f in live.values():
            below = kinds_below.get(f.rs.span_id)
            if below and (f.kind in below or f.kind in ("error", "tool_error")):
                continue
            origin.append(f)
        groups: dict[tuple[str, tuple[str, str]], list[SpanFailure]] = {}
        for f in sorted(origin, key=lambda f: (span_end(f.rs.span), f.rs.step)):
            groups.setdefault((f.kind, f.target), []).append(f)
        return [Failure(kind, tgt, tuple(f.rs for f in fs), fs[0].text) for (kind, tgt), fs in groups.items()]

    def _kinds_below(self, live: dict[str, SpanFailure]) -> dict[str, frozenset[str]]:
        """The kinds of the live failures under each span, in one pass from the deepest spans up
        (walking each failure's descendants instead is quadratic in a chain that fails at every level)."""
        below: dict[str, frozenset[str]] = {}
        empty: frozenset[str] = frozenset()
        # A failed sub-run's failure is below the span that called it: that span's own error (and its
        # ancestors') passes the sub-run's failure on, it is not another one.
        seeded: dict[str, frozenset[str]] = {}
        for sub in self.run.sub_runs:
            if sub.outcome == "failed" and sub.root_cause is not None:
                seeded[sub.parent_span_id] = seeded.get(sub.parent_span_id, empty) | {sub.root_cause.type}
        for rs in reversed(self.preorder):  # every span after its descendants
            kinds = seeded.get(rs.span_id, empty)
            for c in rs.children:
                mine = below.get(c, empty)
                if c in live and live[c].kind not in mine:
                    mine = mine | {live[c].kind}
                kinds = mine if not kinds else kinds | mine
            if kinds:
                below[rs.span_id] = kinds
        return below

    @cached_property
    def failures_by_kind(self) -> dict[str, list[Failure]]:
        """`failures` split by kind once (eight rules each ask for one kind)."""
        by_kind: dict[str, list[Failure]] = {}
        for f in self.failures:
            by_kind.setdefault(f.kind, []).append(f)
        return by_kind

    def failures_of(self, kind: str) -> list[Failure]:
        """The failures of one kind, in time order (read-only)."""
        return self.failures_by_kind.get(kind, [])

    # -- tools -------------------------------------------------------------------------------
    @cached_property
    def offered_tools(self) -> dict[str, dict[str, Any]]:
        """Tools offered to any model call in the run, name → parameter schema."""
        offered: dict[str, dict[str, Any]] = {}
        for rs in self.run.spans:
            if rs.span.tool_definitions:
                offered.update(tool_definitions(rs.span.tool_definitions))
        return offered

    @cached_property
    def calls(self) -> list[CallSite]:
        """The run's tool calls in order: executed tool spans, matched to the model's request by id
        (or name and order); requests no span executed are listed as well."""
        requested: list[tuple[RunSpan, ToolCall]] = [
            (rs, call) for rs in self.run.spans if rs.span.category == "llm" for call in tool_calls(rs.span.tool_calls)
        ]
        # A tool span takes the first request not taken yet, made no later than the span, with its call id
        # (without one: with its tool name). Requests are indexed by both, not scanned for every span.
        by_call_id: dict[str, list[int]] = {}
        by_name: dict[str, list[int]] = {}
        for i, (_, call) in enumerate(requested):
            by_call_id.setdefault(call.call_id, []).append(i)
            by_name.setdefault(call.name, []).append(i)
        used: set[int] = set()
        sites: list[CallSite] = []
        for rs in self.run.spans:
            s = rs.span
            if s.category != "tool" or rs.span_id == self.run.root_span_id:
                continue  # (an agent called as a tool roots its own run: the call was its parent's)
            candidates = by_call_id.get(s.tool_call_id, ()) if s.tool_call_id else by_name.get(
                s.tool_name or s.span_name, ())
            match = None
            for i in candidates:
                if i not in used and requested[i][0].step <= rs.step:
                    match = i
                    break
            if match is not None:
                used.add(match)
            llm = requested[match][0] if match is not None else None
            # The model's arguments are what it sent; a tool span's input is the framework's record of
            # what the tool received (LangChain records a one-string-argument tool's input as the bare string).
            asked = requested[match][1].arguments if match is not None else ""
            name = s.tool_name or (requested[match][1].name if match is not None else s.span_name)
            sites.append(CallSite(name, asked or s.tool_arguments, llm, rs, bool(asked)))
        if len(used) == len(requested):
            return sites  # executed calls only, already in step order (the order of `run.spans`)
        for i, (llm, call) in enumerate(requested):
            if i not in used:
                sites.append(CallSite(call.name, call.arguments, llm, None))
        return sorted(sites, key=lambda c: (c.rs.step, c.tool is None))

    # -- content -------------------------------------------------------------------------------
    @cached_property
    def content_captured(self) -> bool:
        return any(rs.span.input_messages or rs.span.output_messages for rs in self.run.spans)

    @cached_property
    def final_answer(self) -> tuple[RunSpan | None, str]:
        """The span that produced the run's final answer and the answer's text ("" when none).

        The text is the agent's own output when it recorded one, else the last model answer;
        the span is the last model call that answered (the root when there is none)."""
        # The latest-ending answer, the later step on a tie: the calls come in step order, so the
        # last one with the greatest end (no key tuple per call).
        last, last_end = None, 0
        for rs in self.llm_leaves:
            if rs.span.output_messages or rs.span.tool_calls:
                end = span_end(rs.span)
                if last is None or end >= last_end:
                    last, last_end = rs, end
        root = self.root
        last_text = assistant_text(last.span.output_messages) if last else ""
        if root is not None and root.span.output_messages:
            text = assistant_text(root.span.output_messages)
            answer = agent_answer(text)  # a framework's state dump: its last AI message, else the model's
            return last or root, text if answer is None else (answer or last_text)
        return last, last_text

    @cached_property
    def ended_badly(self) -> bool:
        """The run did not end with a real answer: never ended, root failed, empty or non-answer."""
        root = self.root
        if not self.run.ended or (root is not None and root.span.status_code == "Error"):
            return True
        rs, text = self.final_answer
        if rs is None:
            return bool(self.failures)
        return (not text and not rs.span.tool_calls) or is_non_answer(text) or bool(self.failure(rs))

    @cached_property
    def fetched(self) -> bool:
        """The run fetched sources: a tool result or retrieved documents on a span, or a tool's result
        in a model's input (the instrumentation may record content only on the model calls)."""
        spans = [rs.span for rs in self.run.spans]
        return (any(s.tool_result or s.retrieved_documents for s in spans)
                or any(s.category == "llm" and s.input_messages and has_tool_message(s.input_messages) for s in spans))

    @cached_property
    def source_text(self) -> str:
        """Everything the agent was given or fetched: prompts and tool messages (not the model's own
        earlier answers or the arguments it chose), tool results, retrieved documents."""
        parts: list[str] = []
        for rs in self.run.spans:
            s = rs.span
            if s.input_messages:
                parts.append(given_text(s.input_messages))
            if s.tool_result:
                parts.append(all_text(s.tool_result))
            if s.retrieved_documents:
                parts.append(all_text(s.retrieved_documents))
            if s.category == "tool" and s.output_messages:
                parts.append(all_text(s.output_messages))
        return "\n".join(parts)
