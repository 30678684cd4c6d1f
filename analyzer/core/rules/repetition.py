"""Repetition: loop (identical calls, identical prompts, A-B cycles) and retry_storm.

A loop is an error when the run then ended badly (never ended, failed, empty or
polite non-answer) and a warning when the agent broke out and answered. Calls are
identical when their tool name and canonical arguments (sorted-key JSON) are equal,
so legitimate repeated calls with different arguments never count.
Evidence `wasted_span_ids` lists the repeats after the first call — the waste.
"""

from __future__ import annotations

from operator import eq

from agentmortem.analyzer.core.facts.content import canonical_args, prompt_key, prompt_size
from agentmortem.analyzer.core.facts.view import CallSite, target
from agentmortem.analyzer.core.model import Run, RunSpan, Signal
from agentmortem.analyzer.core.rule_context import RuleContext
from agentmortem.analyzer.core.rules.model_output import max_iterations


def _site_ids(sites: list[CallSite]) -> list[str]:
    return [rs.span_id for site in sites for rs in (site.llm, site.tool) if rs is not None]


def _ended_badly(run: Run, ctx: RuleContext) -> bool:
    """The run did not end with a real answer, or it was stopped at its iteration limit (a loop that
    ran into the limit is why the run failed)."""
    return ctx.view.memo("loop_ended_badly", lambda: ctx.view.ended_badly or bool(max_iterations(run, ctx)))


def _unrecorded(arguments: str) -> bool:
    """The call's arguments were not recorded (canonical text empty or an empty object)."""
    return not arguments.strip("{}[] ")


def _loop_signal(ctx: RuleContext, reason: str, sites: list[CallSite], **evidence: object) -> Signal:
    first = sites[0]
    return Signal("loop", "error" if _ended_badly(ctx.view.run, ctx) else "warning", first.rs.span_id, {
        "reason": reason, "span_ids": _site_ids(sites), "count": len(sites), "span_name": first.rs.span.span_name,
        "wasted_span_ids": _site_ids(sites[1:]), **evidence,
    })


def _identical_runs(keys: list[tuple[str, str]], min_len: int) -> list[tuple[int, int]]:
    """[start, end) stretches of ≥ min_len equal consecutive keys."""
    out, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            if i - start >= min_len:
                out.append((start, i))
            start = i
    return out


def _cycles(keys: list[tuple[str, str]], min_cycles: int) -> list[tuple[int, int, int]]:
    """(start, end, period) of stretches repeating a cycle of 2 or 3 distinct calls ≥ min_cycles times."""
    out: list[tuple[int, int, int]] = []
    # A cycle repeated at least twice has a call equal to the one 2 or 3 places later; most runs have
    # none, and this test (in C) spares them the search below.
    if min_cycles >= 2 and not any(map(eq, keys, keys[2:])) and not any(map(eq, keys, keys[3:])):
        return out
    i = 0
    while i < len(keys):
        found = None
        for period in (2, 3):
            if len(set(keys[i:i + period])) < period:
                continue
            end = i + period
            while end < len(keys) and keys[end] == keys[end - period]:
                end += 1
            if (end - i) // period >= min_cycles:
                found = (i, i + (end - i) // period * period, period)
                break
        if found:
            out.append(found)
            i = found[1]
        else:
            i += 1
    return out


def _plain_retries(sites: list[CallSite], ctx: RuleContext) -> bool:
    """Each repeat only re-ran a call that had just failed, with no model decision in between."""
    return all(site.llm is None and prev.tool is not None and ctx.view.failure(prev.tool)
               for prev, site in zip(sites, sites[1:]))


def loop(run: Run, ctx: RuleContext) -> list[Signal]:
    """≥ N consecutive identical tool calls; ≥ N identical prompts; A-B(-C) cycles repeated ≥ N times.
    Plain retries of a failing call (no model call in between) are `retry_storm`'s business."""
    sites = ctx.view.calls
    keys = [(site.name, canonical_args(site.arguments)) for site in sites]
    signals = []
    # Calls whose arguments were not recorded all look alike: repeating them is no evidence of a loop
    # unless the run then ended badly.
    for start, end in _identical_runs(keys, ctx.settings.loop_min_repeats):
        if _plain_retries(sites[start:end], ctx) or (_unrecorded(keys[start][1]) and not _ended_badly(run, ctx)):
            continue
        signals.append(_loop_signal(ctx, "identical_calls", sites[start:end], tool=keys[start][0],
                                    arguments=keys[start][1][:200]))
    for start, end, period in _cycles(keys, ctx.settings.loop_min_cycles):
        if all(_unrecorded(k[1]) for k in keys[start:end]) and not _ended_badly(run, ctx):
            continue
        signals.append(_loop_signal(ctx, "cycle", sites[start:end], period=period,
                                    tools=[k[0] for k in keys[start:start + period]]))
    for same in _identical_prompts(ctx):
        ids = [rs.span_id for rs in same]
        signals.append(Signal("loop", "error" if _ended_badly(run, ctx) else "warning", ids[0], {
            "reason": "identical_prompts", "span_ids": ids, "count": len(ids),
            "span_name": same[0].span.span_name, "wasted_span_ids": ids[1:],
        }))
    return signals


def _identical_prompts(ctx: RuleContext) -> list[list[RunSpan]]:
    """Groups of ≥ N model calls (that did not fail) given the same prompt, in order of their first call.

    Prompts are grouped by size first (`prompt_size`, exact: equal prompts have equal sizes), and
    only groups of N or more get their `prompt_key`s: an agent's conversation grows with each call,
    so nearly every prompt of a run has a size of its own and is never re-encoded."""
    least = ctx.settings.loop_min_repeats
    calls = [rs for rs in ctx.view.llm_leaves if rs.span.input_messages and not ctx.view.failure(rs)]
    if len(calls) < least:
        return []
    by_size: dict[tuple[str, int], list[RunSpan]] = {}
    for rs in calls:
        by_size.setdefault(prompt_size(rs.span.input_messages), []).append(rs)
    found: list[list[RunSpan]] = []
    for sized in by_size.values():
        if len(sized) >= least:
            by_key: dict[str, list[RunSpan]] = {}
            for rs in sized:
                by_key.setdefault(prompt_key(rs.span.input_messages), []).append(rs)
            found += [same for same in by_key.values() if len(same) >= least]
    return sorted(found, key=lambda same: same[0].step)


def retry_storm(run: Run, ctx: RuleContext) -> list[Signal]:
    """≥ N calls to one target where every call but possibly the last failed."""
    if not ctx.view.failure_texts:
        return []  # a storm needs a failed call (most runs have none)
    by_target: dict[tuple[str, str], list[RunSpan]] = {}
    for rs in run.spans:
        if rs.span.category in ("llm", "tool", "retrieval", "embedding"):
            by_target.setdefault(target(rs), []).append(rs)
    signals = []
    for calls in by_target.values():
        streak: list[RunSpan] = []
        for call in [*calls, None]:  # None ends the last streak
            failed = call is not None and bool(ctx.view.failure(call))
            if call is not None:
                streak.append(call)
            if call is None or not failed:
                if len(streak) >= ctx.settings.retry_storm_min_calls and any(
                    ctx.view.failure(s) for s in streak[:-1]
                ):
                    recovered = not ctx.view.failure(streak[-1])
                    failures = streak[:-1] if recovered else streak
                    ids = [s.span_id for s in streak]
                    signals.append(Signal("retry_storm", "warning" if recovered else "error", ids[0], {
                        "span_ids": ids, "count": len(streak), "failed": len(failures), "recovered": recovered,
                        "target": streak[0].span.tool_name or streak[0].span.request_model or streak[0].span.span_name,
                        "span_name": streak[0].span.span_name,
                        "wasted_span_ids": [s.span_id for s in failures],
                    }))
                streak = []
    return signals
