"""A run that failed with no error: wrong_outcome — which agent's message brought in the wrong answer.

When an evaluation says the run failed (`low_eval_score`) and the run is a workflow of agents (its
sub-runs, in order), the facts of the final answer — numbers and multi-word names — that appear in
neither the task nor the expected answer (when the evaluation gives one) are traced back to the first
agent message that stated them: information provenance, not position. A message that only relays a
program's output (a code executor's `exitcode: …` reply) is not the origin: the message before it,
which wrote and ran the code, is. No such fact, no signal: the evaluation stays the run-level symptom.
A traced fact makes the run failed (an error): the task's answer was wrong, and the message is its cause.
"""

from __future__ import annotations

import re

from agentmortem.analyzer.core.facts.content import given_text
from agentmortem.analyzer.core.model import Run, Signal, SubRunOutcome
from agentmortem.analyzer.core.rule_context import RuleContext
from agentmortem.analyzer.core.rules.evals import low_eval_score

_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")
_NAME = re.compile(r"\"([^\"\n]{2,60})\"|\b([A-Z][a-z]+(?: [A-Z][a-z]+)+)\b")
_EXPECTED = re.compile(r"expected(?: answer)?\s*[:=]\s*(.+)", re.I | re.S)
# Replies that relay a program's result rather than state facts of their own (AutoGen's code executor).
_EXECUTOR_REPLY = re.compile(r"^\s*exitcode:\s*-?\d+", re.I)
_NON_ANSWERS = frozenset({"terminate", ""})


def _facts(text: str) -> set[str]:
    numbers = {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}
    names = {(a or b).lower() for a, b in _NAME.findall(text)}
    return numbers | names


def _states(text: str, fact: str) -> bool:
    return fact in _facts(text) if fact[:1].isdigit() or fact[:1] == "-" else fact in text.lower()


def _expected(signals: list[Signal]) -> str:
    for s in signals:
        match = _EXPECTED.search(str(s.evidence.get("explanation", "")))
        if match:
            return match.group(1).strip()
    return ""


def wrong_outcome(run: Run, ctx: RuleContext) -> list[Signal]:
    """The message that first stated a fact of the failed run's final answer that nothing given supports."""
    failing = low_eval_score(run, ctx)
    messages = sorted((s for s in run.sub_runs if s.answer.strip().lower() not in _NON_ANSWERS),
                      key=lambda s: (s.start_ns, s.end_ns))
    if not failing or len(messages) < 2:
        return []
    final = next((m for m in reversed(messages) if not _EXECUTOR_REPLY.match(m.answer)), messages[-1])
    root = ctx.view.root
    task = given_text(root.span.input_messages) if root is not None and root.span.input_messages else ""
    expected = _expected(failing)
    given = _facts(task) | _facts(messages[0].answer)  # the first message carries the task as handed out
    suspect = {f for f in _facts(final.answer) - given if not (expected and _states(expected, f))}
    origin: tuple[int, SubRunOutcome, str] | None = None
    for fact in sorted(suspect):
        for i, m in enumerate(messages[1:], start=1):
            if _states(m.answer, fact):
                if origin is None or i < origin[0]:
                    origin = (i, m, fact)
                break
    if origin is None:
        return []
    i, message, fact = origin
    if _EXECUTOR_REPLY.match(message.answer):  # i ≥ 1: the first message is never searched
        message = messages[i - 1]
    return [Signal("wrong_outcome", "error", message.run_id, {
        "span_ids": [message.run_id], "agent": message.agent_name, "fact": fact,
        "final_span_id": final.run_id, "expected": expected[:200], "evaluation": failing[0].evidence.get("name", ""),
        "span_name": f"invoke_agent {message.agent_name}", "cause_span_name": f"invoke_agent {message.agent_name}",
        "quote": _quote(message.answer, fact),
    })]


def _quote(text: str, fact: str) -> str:
    at = max(text.lower().find(fact.lower()), 0)  # the fact was found in this text
    return text[max(0, at - 60): at + len(fact) + 60].replace("\n", " ")
