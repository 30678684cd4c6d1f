"""`agentmortem explain`: a run's post-mortem and a compact tree of its spans, in the terminal.

Looks the id up as a run id, a trace id or an AgentMetrics run id in `agent_runs` (the API's
look-up, `engine.find`); when the trace has not been analyzed yet (or the id is a span id of a
stored trace), it is analyzed on the spot. An operator's tool: it shows the runs of every
tenant that sent spans under the id, each titled with its tenant.
The tree marks the root-cause span (red) and spans with signals (yellow).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from itertools import islice

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from agentmortem.analyzer.core.model import Run, RunSpan, TraceKey
from agentmortem.analyzer.core.rule_context import RuleSettings
from agentmortem.analyzer.core.walk import depth_first
from agentmortem.analyzer.engine.find import find_runs, find_stored_traces, sender_tenants
from agentmortem.analyzer.engine.load import trace_keys
from agentmortem.analyzer.engine.pipeline import analyze_traces, load_runs
from agentmortem.analyzer.engine.tables import AGENT_EXPLANATIONS, AGENT_RUNS
from agentmortem.cli.common import add_store_args, local_host
from agentmortem.cli.schema import open_current_store
from agentmortem.platform.store import Store, StoreInUse
from agentmortem.settings import AgentmortemSettings

MAX_TREE_NODES = 60
MAX_PANELS = 20  # runs printed for one id (a trace of nested agents holds one run per agent)
MAX_TREE_DEPTH = 12  # rich indents each level by 4 columns: deeper, the labels are squeezed to nothing
_r, _e = AGENT_RUNS.c, AGENT_EXPLANATIONS.c
_RUN_COLUMNS = ", ".join((_r.RunId, _r.TraceId, _r.Tenant, _r.ParentRunId, _r.AgentName, _r.Outcome, _r.Status))
_EXPLANATIONS = (f"SELECT {_e.Tenant}, {_e.RunId}, {_e.Markdown}, {_e.Structured} FROM {AGENT_EXPLANATIONS.final}"
                 " WHERE (Tenant, RunId) IN {keys:Array(Tuple(String, String))}")


def _runs(store: Store, ident: str, tenants: Sequence[str]) -> list[dict]:
    """Every tenant's analyzed runs the id names, in time order, each with its post-mortem
    (`Markdown`, `Structured`; empty when none is stored)."""
    rows = find_runs(store, ident, _RUN_COLUMNS, id_tenants=tenants)
    if rows:
        keys = [(row["Tenant"], row["RunId"]) for row in rows]
        stored = {(t, rid): (md, st) for t, rid, md, st in store.query(_EXPLANATIONS, {"keys": keys})}
        for row, key in zip(rows, keys, strict=True):
            row["Markdown"], row["Structured"] = stored.get(key, ("", ""))
    return rows


def lookup(store: Store, ident: str, rules: RuleSettings) -> list[dict]:
    """Analyzed runs for a run, trace or AgentMetrics run id (of any tenant), analyzing the trace now
    if it was not yet (the id may then also be any span id of the trace)."""
    tenants = sender_tenants(store)
    rows = _runs(store, ident, tenants)
    if rows:
        return rows
    trace_ids = find_stored_traces(store, ident, tenants)
    if not trace_ids:
        return []
    analyze_traces(store, trace_keys(store, trace_ids), rules)
    return _runs(store, ident, tenants) or [row for t in trace_ids for row in _runs(store, t, tenants)]


def _label(rs: RunSpan, root_cause: str, flagged: set[str]) -> Text:
    s = rs.span
    text = Text(f"{rs.step:>3}. ", style="dim")
    style = "bold red" if rs.span_id == root_cause else ("yellow" if rs.span_id in flagged else "")
    text.append(s.span_name or s.span_id, style=style)
    text.append(f"  {s.category}  {s.duration_ns / 1e9:.2f}s", style="dim")
    if s.status_code == "Error":
        text.append(f"  ✗ {s.error_type or 'error'}", style="red")
    if rs.orphan:
        text.append("  (orphan)", style="dim")
    text.append(f"  {rs.span_id}", style="dim")
    return text


def _kids(rs: RunSpan, by_id: dict[str, RunSpan]) -> list[str]:
    return [c for c in rs.children if c in by_id and not by_id[c].orphan]


def span_tree(run: Run, root_cause: str, flagged: set[str]) -> Tree:
    """The run's spans as a rich tree (at most `MAX_TREE_NODES` nodes, `MAX_TREE_DEPTH` levels)."""
    by_id = run.by_id()
    tree = Tree(Text(f"run {run.run_id}" + ("" if run.ended else "  (root never arrived)"), style="bold"))
    tops = [rs.span_id for rs in run.spans if rs.span_id == run.root_span_id or rs.span.parent_span_id not in by_id
            or rs.orphan]

    def kids(span_id: str) -> list[str]:
        return _kids(by_id[span_id], by_id)

    branch: list[Tree] = [tree]  # branch[d]: where a node of depth d is drawn (the last node above it)
    shown = 0
    for sid, depth in islice(depth_first(tops, kids, max_depth=MAX_TREE_DEPTH), MAX_TREE_NODES):
        rs = by_id[sid]
        node = branch[depth].add(_label(rs, root_cause, flagged))
        del branch[depth + 1:]
        branch.append(node)
        shown += 1
        if depth + 1 == MAX_TREE_DEPTH and rs.children:  # the levels below are counted, not drawn
            below = sum(1 for _ in depth_first(kids(sid), kids))
            node.add(Text(f"… {below} spans below", style="dim"))
    if shown < len(run.spans):
        tree.add(Text(f"… {len(run.spans) - shown} more spans", style="dim"))
    return tree


def render(console: Console, rows: Sequence[dict], runs: dict[tuple[str, str], Run]) -> None:
    """Print each run's post-mortem and tree (`runs` by tenant and run id; the first `MAX_PANELS`
    runs, then how many are left)."""
    for row in rows[:MAX_PANELS]:
        structured = json.loads(row.get("Structured") or "{}")
        root_cause = structured.get("root_cause_span_id", "")
        flagged = {s["span_id"] for s in structured.get("signals", [])}
        title = f"{row['AgentName'] or 'run'} · {row['Outcome']} · run {row['RunId']} · trace {row['TraceId']}"
        if row["Tenant"]:
            title += f" · tenant {row['Tenant']}"
        if row["ParentRunId"]:
            title += f" · sub-run of {row['ParentRunId']}"
        parts: list = [Markdown(row.get("Markdown") or "_no explanation stored_")]
        run = runs.get((row["Tenant"], row["RunId"]))
        if run is not None:
            parts += [Text(""), span_tree(run, root_cause, flagged)]
        style = {"failed": "red", "degraded": "yellow"}.get(row["Outcome"], "green")
        console.print(Panel(Group(*parts), title=title, border_style=style, expand=True))
    if len(rows) > MAX_PANELS:
        console.print(Text(f"… {len(rows) - MAX_PANELS} more runs in this trace; `agentmortem explain RUN_ID` "
                           "shows one of them", style="dim"))


def explain_command(store: Store, ident: str, rules: RuleSettings, console: Console | None = None) -> int:
    """Print the post-mortem of a run or trace; 1 when nothing is known about the id."""
    console = console or Console()
    rows = lookup(store, ident, rules)
    if not rows:
        console.print(f"No run or trace with id {ident!r} in the store.", style="red")
        return 1
    traces = sorted({TraceKey(row["Tenant"], row["TraceId"]) for row in rows})
    runs = {(r.tenant, r.run_id): r for r in load_runs(store, traces, rules)}
    render(console, rows, runs)
    return 0


def _explain_via_api(settings: AgentmortemSettings, ident: str) -> int:
    """`explain` while `serve` holds the embedded data directory: ask its API for the post-mortem."""
    import urllib.error
    import urllib.parse
    import urllib.request

    from rich.console import Console
    from rich.markdown import Markdown

    host = local_host(settings.server)
    base = f"http://{host}:{settings.server.api_port}"
    request = urllib.request.Request(f"{base}/v1/runs/{urllib.parse.quote(ident, safe='')}/explanation?format=markdown")
    if settings.client.api_key is not None:
        request.add_header("Authorization", f"Bearer {settings.client.api_key.get_secret_value()}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            markdown = response.read().decode()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        print(f"the running server's API ({base}) answered {exc.code}: {detail}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"and its API at {base} is not reachable ({exc})", file=sys.stderr)
        return 1
    console = Console()
    console.print(Markdown(markdown))
    console.print(f"(from the running server's API; the run tree is on its page: {base}/runs/{ident})", style="dim")
    return 0


def cmd_explain(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    try:
        store = open_current_store(settings.store, "explain")
    except StoreInUse as exc:
        print(f"{exc}\nasking its API instead …", file=sys.stderr)
        return _explain_via_api(settings, args.id)
    try:
        return explain_command(store, args.id, settings.rules)
    finally:
        store.close()


def register(sub: argparse._SubParsersAction) -> None:
    explain = sub.add_parser("explain", help="print the post-mortem of a run or trace")
    add_store_args(explain)
    explain.add_argument("id", help="a run id or a trace id (or any span id of the trace)")
    explain.set_defaults(func=cmd_explain)
