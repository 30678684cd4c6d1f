"""The post-mortem: a one-sentence headline, then What / Why / Where / Cost impact / Next step.

Deterministic templates over the verdict's evidence (wording in `analyzer.core.phrases`);
every claim cites span ids. Healthy runs get a short health summary with their
warnings (e.g. near-overspend). Output is markdown plus a structured JSON-able dict
carrying the same facts.
"""

from __future__ import annotations

from typing import Any

from agentmortem.analyzer.core.facts.view import RunView
from agentmortem.analyzer.core.model import SEVERITY_RANK, Explanation, Run, Signal, Verdict
from agentmortem.analyzer.core.phrases import NEXT, SHORT, WHAT, WHY, render
from agentmortem.analyzer.core.rootcause import anchor

_MAX_CONSEQUENCES = 2
_MAX_CITED = 4
_MAX_CLAUSE_WORDS = 22
_PATH_HEAD, _PATH_TAIL = 3, 5


def _money(value: float | None) -> str:
    if value is None:
        return "cost unknown"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _cite(ids: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(f"`{i}`" for i in ids[:_MAX_CITED])
    more = len(ids) - _MAX_CITED
    return shown + (f" +{more} more" if more > 0 else "")


def _signal_ids(signal: Signal) -> list[str]:
    """The signal's span first, then the rest of its evidence spans."""
    ids = list(signal.evidence.get("span_ids") or [])
    return [signal.span_id, *(i for i in ids if i != signal.span_id)]


def where(view: RunView, signal: Signal) -> dict[str, Any]:
    """Step k of n, the span, and the path from the run's root to it: a path longer than
    `_PATH_HEAD + _PATH_TAIL` keeps its two ends, and `path_omitted` says where and how many
    spans were left out (a post-mortem is read: a chain thousands of spans deep is no sentence)."""
    at = anchor(signal, view)  # a cause inside a sub-run is placed by the span that delegated to it
    rs = view.by_id.get(at)
    path = view.path(at) if rs else []
    omitted = len(path) - _PATH_HEAD - _PATH_TAIL
    if omitted > 0:
        path = path[:_PATH_HEAD] + path[-_PATH_TAIL:]
    steps = [{"span_id": p.span_id, "span_name": p.span.span_name} for p in path]
    name = rs.span.span_name if rs else ""
    if at != signal.span_id:
        name = signal.evidence.get("cause_span_name") or name
        steps.append({"span_id": signal.span_id, "span_name": name})
    out = {
        "step": rs.step if rs else 0,
        "of": len(view.run.spans),
        "span_name": name,
        "span_id": signal.span_id,
        "path": steps,
    }
    if omitted > 0:
        out["path_omitted"] = {"at": _PATH_HEAD, "count": omitted}
    return out


def _path_text(loc: dict[str, Any]) -> str:
    """The path as `a` › `b` › … 19,991 more › `z` (markdown)."""
    names = [f"`{p['span_name']}`" for p in loc["path"]]
    gap = loc.get("path_omitted")
    if gap:
        names.insert(gap["at"], f"… {gap['count']:,} more")
    return " › ".join(names)


def consequences(verdict: Verdict) -> list[Signal]:
    """What the root cause led to: later decisive error-level signals of other types, in causal
    order; a retry storm over the same calls as a loop is left out, and of many only the first
    and the last (what ended the run) are kept."""
    root = verdict.root_cause
    seen = {root.type} if root else set()
    loops = {s.span_id for s in verdict.signals if s.type == "loop"}
    out = []
    for s in verdict.signals:
        if s is root or not s.decisive or SEVERITY_RANK[s.severity] < SEVERITY_RANK["error"] or s.type in seen:
            continue
        if s.type == "retry_storm" and s.span_id in loops:
            continue
        seen.add(s.type)
        out.append(s)
    return out if len(out) <= _MAX_CONSEQUENCES else [out[0], out[-1]]


def _run_facts(run: Run, view: RunView) -> dict[str, Any]:
    llm_calls = len(view.llm_leaves)
    tools = sum(1 for rs in run.spans if rs.span.category == "tool")
    return {
        "run_id": run.run_id, "trace_id": run.trace_id, "agent_name": run.agent_name, "steps": len(run.spans),
        "llm_calls": llm_calls, "tool_calls": tools, "duration_ms": round(view.duration_ms, 3),
        "tokens": view.total_tokens, "cost_usd": view.total_cost,
    }


def _headline(run: Run, verdict: Verdict, loc: dict[str, Any], led_to: list[Signal]) -> str:
    root = verdict.root_cause
    assert root is not None
    who = f"Agent `{run.agent_name}`" if run.agent_name else "Run"
    then = [render(SHORT, s) for s in led_to]
    tail = f"; then {' and '.join(then)}" if then else ""
    return f"{who} {verdict.outcome} at step {loc['step']} of {loc['of']} (`{loc['span_name']}`): {render(SHORT, root)}{tail}."


def _impact_line(verdict: Verdict, loc: dict[str, Any]) -> str:
    ci = verdict.cost_impact
    if ci is None:
        return "none measured."
    cost = _money(ci.wasted_cost_usd)
    share_cost = f" ({ci.share_cost:.0%})" if ci.share_cost is not None else ""
    return (f"{ci.wasted_tokens:,} tokens ({ci.share_tokens:.0%} of the run), {cost}{share_cost}, "
            f"{ci.wasted_ms / 1000:.1f} s spent from step {loc['step']} on and in repeats "
            f"({len(ci.span_ids)} spans).")


def _clause(text: str, max_words: int = _MAX_CLAUSE_WORDS) -> str:
    """A finding as a clause inside a sentence: first letter lowered (not of names like
    `RateLimitError`), cut to `max_words` words."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    words = text.split()
    return text if len(words) <= max_words else " ".join(words[:max_words]) + " …"


def _failure(run: Run, view: RunView, verdict: Verdict) -> tuple[str, str, dict[str, Any]]:
    root = verdict.root_cause
    assert root is not None
    loc = where(view, root)
    then = consequences(verdict)
    headline = _headline(run, verdict, loc, then)
    led_to = [f"{_clause(render(WHAT, s))} ({_cite(_signal_ids(s)[:1])})" for s in then]
    why = render(WHY, root).capitalize() + (f"; this led to: {'; '.join(led_to)}" if led_to else "") + "."
    path = _path_text(loc) or f"`{loc['span_name']}`"
    parts = {
        "what": f"{render(WHAT, root)} ({_cite(_signal_ids(root))}).",
        "why": why,
        "where": f"step {loc['step']} of {loc['of']}, `{loc['span_name']}` (`{loc['span_id']}`); path: {path}.",
        "cost_impact": _impact_line(verdict, loc),
        "next_step": render(NEXT, root),
    }
    markdown = "\n".join([
        f"**{headline}**", "",
        f"- **What:** {parts['what']}",
        f"- **Why:** {parts['why']}",
        f"- **Where:** {parts['where']}",
        f"- **Cost impact:** {parts['cost_impact']}",
        f"- **Next step:** {parts['next_step']}",
    ])
    return headline, markdown, {**parts, "where": loc}


def _health(run: Run, facts: dict[str, Any], verdict: Verdict) -> tuple[str, str, dict[str, Any]]:
    who = f"Agent `{run.agent_name}`" if run.agent_name else "Run"
    cost = f", {_money(facts['cost_usd'])}" if facts["cost_usd"] is not None else ""
    headline = (f"{who} ok: answered in {facts['steps']} steps ({facts['llm_calls']} model calls, "
                f"{facts['tool_calls']} tool calls), {facts['duration_ms'] / 1000:.1f} s, "
                f"{facts['tokens']:,} tokens{cost}.")
    notes = [f"{render(WHAT, s)} ({_cite(_signal_ids(s))})" for s in verdict.signals]
    lines = [f"**{headline}**"]
    if notes:
        lines += ["", "Warnings:"] + [f"- {n}." for n in notes]
    return headline, "\n".join(lines), {"warnings": notes}


def truncation_note(truncated: tuple[int, int]) -> str:
    """What a post-mortem of a trace analyzed in part says about it."""
    analyzed, stored = truncated
    return (f"Only the first {analyzed:,} of this trace's {stored:,} spans (by start time) were analyzed "
            "(`AGENTMORTEM_ANALYZER_MAX_SPANS_PER_TRACE`): later steps are not in this post-mortem.")


def render_postmortem(run: Run, view: RunView, verdict: Verdict) -> Explanation:
    """Render the post-mortem of an analyzed run."""
    facts = _run_facts(run, view)
    if verdict.root_cause is None:
        headline, markdown, parts = _health(run, facts, verdict)
    else:
        headline, markdown, parts = _failure(run, view, verdict)
    if run.truncated:
        markdown += f"\n\n> {truncation_note(run.truncated)}"
        parts["truncated"] = {"spans_analyzed": run.truncated[0], "spans_stored": run.truncated[1],
                              "note": truncation_note(run.truncated)}
    ci = verdict.cost_impact
    structured = {
        "run": facts,
        "outcome": verdict.outcome,
        "failure_class": verdict.failure_class,
        "root_cause_span_id": verdict.root_cause.span_id if verdict.root_cause else "",
        "headline": headline,
        **parts,
        "cost_impact": None if ci is None else {
            "wasted_tokens": ci.wasted_tokens, "wasted_cost_usd": ci.wasted_cost_usd, "wasted_ms": ci.wasted_ms,
            "share_tokens": ci.share_tokens, "share_cost": ci.share_cost, "span_ids": list(ci.span_ids),
        },
        "hallucination_score": verdict.hallucination_score,
        "signals": [
            {"type": s.type, "severity": s.severity, "span_id": s.span_id, "decisive": s.decisive,
             "evidence": s.evidence}
            for s in verdict.signals
        ],
    }
    structured.setdefault("where", None)
    return Explanation(headline=headline, markdown=markdown, structured=structured)
