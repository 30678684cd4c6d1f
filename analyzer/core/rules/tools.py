"""Tool calls the model got wrong: invalid_tool_args and unknown_tool (tool hallucination).

Arguments are checked for being JSON and, when the tool was offered with a JSON
schema, against that schema (the schema's own draft): jsonschema-rs tells whether they
are valid (far faster than jsonschema: every call of every run is checked, and real
arguments differ call after call), and only for invalid ones jsonschema says why, in its
words. Schemas are never fetched from the network: one whose `$ref` points outside it
is not checked (it was an error that stopped the batch). A bad call the model corrected
later (a valid call to the same tool that succeeded) is not reported.
Unknown tools are judged only when the run shows which tools were offered.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, NoReturn

import jsonschema_rs
from jsonschema import SchemaError
from jsonschema.validators import validator_for
from referencing.exceptions import Unresolvable

from agentmortem.analyzer.core.facts.content import json_or_none, tool_definitions
from agentmortem.analyzer.core.facts.failures import span_end
from agentmortem.analyzer.core.facts.view import CallSite
from agentmortem.analyzer.core.model import Run, RunSpan, Signal
from agentmortem.analyzer.core.rule_context import RuleContext

NOT_JSON = "arguments are not valid JSON"


def _refuse(uri: str) -> NoReturn:
    raise LookupError(f"schemas are not fetched: {uri}")


@lru_cache(maxsize=512)
def _validators(schema_text: str) -> tuple[object | None, object] | None:
    """(jsonschema-rs validator or None when it cannot build one, jsonschema validator), or None
    when the schema is not an object schema or jsonschema finds it invalid (then there is no
    schema to judge by). jsonschema's validator class shares no base type hint, hence `object`."""
    schema = json.loads(schema_text)
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return None  # not an object schema (tool arguments are an object): no schema to judge by
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError:
        return None
    try:
        fast = jsonschema_rs.validator_for(schema, validate_formats=False, retriever=_refuse)
    except (ValueError, jsonschema_rs.ValidationError):
        fast = None  # e.g. a `$ref` to elsewhere: jsonschema alone decides (and cannot resolve it either)
    return fast, cls(schema)


def argument_problem(arguments: str, schema: dict[str, Any] | None) -> str:
    """Why these arguments are invalid for the schema, or "" when they are fine."""
    return _argument_problem(arguments, _schema_text(schema) if schema else "")


def _schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True)


def _schema_error(validators: tuple[object | None, object], value: object) -> str:
    """jsonschema's first error for `value` ("" when valid), asked only when jsonschema-rs, where it
    has a validator, finds `value` invalid."""
    fast, full = validators
    try:
        if fast is not None and fast.is_valid(value):  # type: ignore[attr-defined]
            return ""
    except (ValueError, TypeError, OverflowError):  # a value it cannot read (NaN…): jsonschema decides
        pass
    try:
        error = next(iter(full.iter_errors(value)), None)  # type: ignore[attr-defined]
    except Unresolvable:  # a `$ref` outside the schema: not fetched, so not judged
        return ""
    if error is None:
        return ""
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


@lru_cache(maxsize=4096)
def _argument_problem(arguments: str, schema_text: str) -> str:
    """`argument_problem` for a schema given as canonical JSON text ("" for none), cached: agents
    repeat calls."""
    if not arguments.strip():
        value: object = {}
    else:
        value = json_or_none(arguments)
        if value is None and arguments.strip() != "null":
            return NOT_JSON
    if not schema_text:
        return ""
    validators = _validators(schema_text)
    return "" if validators is None else _schema_error(validators, value)


def _offered_to(site: CallSite, ctx: RuleContext) -> dict[str, dict[str, Any]]:
    """The tools offered to the model call behind this site (the run's offer when it shows none)."""
    if site.llm is not None and site.llm.span.tool_definitions:
        return tool_definitions(site.llm.span.tool_definitions)
    return ctx.view.offered_tools


def _ok(site: CallSite, ctx: RuleContext) -> bool:
    return site.tool is None or not ctx.view.failure(site.tool)


def invalid_tool_args(run: Run, ctx: RuleContext) -> list[Signal]:
    """Tool arguments that are not JSON or break the offered tool's JSON schema, never corrected."""
    sites = ctx.view.calls
    bad: dict[str, list[tuple[CallSite, str]]] = {}
    fixed: set[str] = set()
    texts: dict[int, tuple[dict[str, Any], str]] = {}  # by schema object (kept alive): the calls share a few
    for site in sites:
        offered = _offered_to(site, ctx)
        if offered and site.name not in offered:
            continue  # unknown_tool's business
        schema = offered.get(site.name)
        if schema and id(schema) not in texts:
            texts[id(schema)] = (schema, _schema_text(schema))
        problem = _argument_problem(site.arguments, texts[id(schema)][1] if schema else "")
        if problem == NOT_JSON and not site.model_sent:
            problem = ""  # a tool span's record of its input need not be JSON: not evidence of what the model sent
        if problem:
            bad.setdefault(site.name, []).append((site, problem))
        elif site.name in bad and _ok(site, ctx):
            fixed.add(site.name)
    signals = []
    for name, found in bad.items():
        if name in fixed:
            continue
        ids = [sid for site, _ in found for sid in _site_ids(site)]
        first = found[0][0]
        signals.append(Signal("invalid_tool_args", "error", (first.llm or first.rs).span_id, {
            "span_ids": ids, "count": len(found), "tool": name, "problem": found[0][1],
            "arguments": first.arguments[:200], "span_name": (first.llm or first.rs).span.span_name,
        }))
    return signals + _refused_calls(ctx, "invalid_tool_args", set(bad) - fixed)


def _site_ids(site: CallSite) -> list[str]:
    return [rs.span_id for rs in (site.llm, site.tool) if rs is not None]


def unknown_tool(run: Run, ctx: RuleContext) -> list[Signal]:
    """Tools the model called (or the agent executed) that were never offered — tool hallucination."""
    if not ctx.view.offered_tools:
        return _refused_calls(ctx, "unknown_tool", set())
    unknown: dict[str, list[CallSite]] = {}
    agents = [sub.agent_name for sub in run.sub_runs]
    for site in ctx.view.calls:
        offered = _offered_to(site, ctx)
        if not site.name or (site.llm is None and not site.tool.span.tool_name):  # type: ignore[union-attr]
            continue
        if site.name not in offered and not _delegated(site.name, agents):
            unknown.setdefault(site.name, []).append(site)
    signals = []
    for name, found in unknown.items():
        first = found[0]
        signals.append(Signal("unknown_tool", "error", (first.llm or first.rs).span_id, {
            "span_ids": [sid for site in found for sid in _site_ids(site)], "count": len(found), "tool": name,
            "offered": sorted(_offered_to(first, ctx)), "span_name": (first.llm or first.rs).span.span_name,
        }))
    return signals + _refused_calls(ctx, "unknown_tool", set(unknown))


def _asker(ctx: RuleContext, rs: RunSpan) -> RunSpan:
    """The model call that asked for this call when no recorded request names it (content not captured):
    the last model call that ended before it started; the span itself without one."""
    start = rs.span.start_ns
    before = [m for m in ctx.view.llm_leaves if m.step < rs.step and span_end(m.span) <= start]
    return before[-1] if before else rs


def _delegated(name: str, agents: list[str]) -> bool:
    """The call went to a sub-agent of that name (smolagents' managed agents are called like tools but
    run as agents: `billing_agent` → `billing_agent.run`)."""
    return any(a == name or a.startswith((f"{name}.", f"{name} ")) or a.endswith(f" {name}") for a in agents)


# The tool an error names: `tool_name: 'x'` (a dict in the message), else the first quoted name.
_TOOL_NAME_KEY = re.compile(r"""tool_name['"]?\s*[:=]\s*['"]([A-Za-z_][\w.-]*)['"]""")
_QUOTED_NAME = re.compile(r"""['"]([A-Za-z_][\w.-]*)['"]""")


def _refused_calls(ctx: RuleContext, kind: str, judged: set[str]) -> list[Signal]:
    """Calls the agent's own tool runner refused (`unknown_tool`: no such tool; `invalid_tool_args`: the
    arguments did not fit), told by the failure it recorded, for tools the checks above did not judge
    (no tool definitions recorded, no model content). Located at the model call that asked for the call."""
    signals = []
    for failure in ctx.view.failures_of(kind):
        rs = failure.first
        site = next((c for c in ctx.view.calls if c.tool is rs), None)
        name = rs.span.tool_name or (site.name if site else "")
        if not name:
            quoted = _TOOL_NAME_KEY.search(failure.text) or _QUOTED_NAME.search(failure.text)
            name = quoted.group(1) if quoted else ""
            site = next((c for c in ctx.view.calls if c.tool is None and c.name == name), None)
        if name in judged:
            continue
        at = site.llm if site is not None and site.llm is not None else _asker(ctx, rs)
        evidence: dict[str, Any] = {"span_ids": [at.span_id, *(f.span_id for f in failure.spans)],
                                    "count": len(failure.spans), "tool": name, "span_name": at.span.span_name,
                                    "message": failure.text[:200]}
        if kind == "invalid_tool_args":
            evidence["problem"] = failure.text[:200]
        else:
            evidence["offered"] = sorted(ctx.view.offered_tools)
        signals.append(Signal(kind, "error", at.span_id, evidence))
        judged.add(name)
    return signals
