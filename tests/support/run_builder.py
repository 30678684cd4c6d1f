"""Hand-built `Run`s for rule tests: an agent root plus model and tool steps, in sequence.

    b = RunBuilder(agent="support")
    b.llm(tool_calls=[("search", {"q": "x"})], tools=TOOLS)
    b.tool("search", {"q": "x"}, result="…")
    b.llm(answer="Done.")
    run = b.build()

Each step starts when the previous one ended (1 s apart by default), so step order
and time order agree; ids are predictable ("s01", "s02", …; the root is "root").
"""

from __future__ import annotations

import json
from typing import Any

from agentmortem.analyzer.core.model import Run, RunSpan, SubRunOutcome
from agentmortem.semconv.model import CanonicalSpan

SECOND = 1_000_000_000
T0 = 1_700_000_000 * SECOND

WEATHER_TOOLS = [
    {"name": "get_weather", "description": "Weather for a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    {"name": "search", "description": "Web search",
     "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}},
]


def _dump(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class RunBuilder:
    def __init__(self, agent: str = "support", question: str = "What is the weather in Paris?") -> None:
        self.agent = agent
        self.spans: list[CanonicalSpan] = []
        self.cost: dict[str, float] = {}
        self.cursor = T0 + SECOND // 10
        self.root = CanonicalSpan(
            trace_id="t1", span_id="root", parent_span_id="", span_name=f"invoke_agent {agent}", span_kind="Internal",
            service_name="svc", start_ns=T0, duration_ns=0, status_code="Unset", category="agent",
            operation="invoke_agent", agent_name=agent,
            input_messages=_dump([{"role": "user", "content": question}]) if question else "",
        )
        self.history: list[dict] = [{"role": "user", "content": question}] if question else []

    def _add(self, duration_s: float = 1.0, parent: str = "root", **fields: Any) -> str:
        span_id = fields.pop("span_id", f"s{len(self.spans) + 1:02d}")
        duration = int(duration_s * SECOND)
        span = CanonicalSpan(
            trace_id="t1", span_id=span_id, parent_span_id=parent, span_name=fields.pop("span_name", span_id),
            span_kind="Internal", service_name="svc", start_ns=self.cursor, duration_ns=duration,
            status_code=fields.pop("status_code", "Unset"), **fields,
        )
        self.spans.append(span)
        self.cursor += duration + SECOND // 10
        return span_id

    def llm(self, answer: str | None = None, tool_calls: list[tuple[str, Any]] | None = None,
            tools: list[dict] | None = None, model: str = "gpt-4o-mini", tokens: tuple[int, int] = (100, 20),
            cost: float | None = 0.001, error: tuple[str, str] | None = None, finish: tuple[str, ...] = ("stop",),
            prompt: list[dict] | None = None, **fields: Any) -> str:
        """A model call; its prompt is the conversation so far unless given."""
        calls = [{"id": f"call_{len(self.spans)}_{i}", "name": n, "arguments": _dump(a)}
                 for i, (n, a) in enumerate(tool_calls or [])]
        out = [] if error else [{"role": "assistant", "content": answer or ""}]
        fields.setdefault("span_name", f"chat {model}")
        if error:
            fields.update(status_code="Error", error_type=error[0], error_message=error[1])
            finish = ()
        span_id = self._add(
            category="llm", operation="chat", request_model=model, response_model=model,
            input_tokens=None if error else tokens[0], output_tokens=None if error else tokens[1],
            finish_reasons=("tool_calls",) if calls else finish,
            tool_definitions=_dump(tools) if tools else "", tool_calls=_dump(calls) if calls else "",
            input_messages=_dump(prompt if prompt is not None else self.history), output_messages=_dump(out) if out
            else "", **fields,
        )
        if cost is not None and not error:
            self.cost[span_id] = cost
        if not error:
            self.history = self.history + [{"role": "assistant", "content": answer or "", "tool_calls": calls}]
        self._calls = calls
        return span_id

    def tool(self, name: str, args: Any = None, result: Any = "ok", error: tuple[str, str] | None = None,
             **fields: Any) -> str:
        """A tool execution; its result joins the conversation as a tool message."""
        fields.setdefault("span_name", f"execute_tool {name}")
        if error:
            fields.update(status_code="Error", error_type=error[0], error_message=error[1])
        span_id = self._add(category="tool", operation="execute_tool", tool_name=name,
                            tool_arguments=_dump(args if args is not None else {}),
                            tool_result="" if error else _dump(result), **fields)
        content = f"{error[0]}: {error[1]}" if error else _dump(result)
        self.history = self.history + [{"role": "tool", "content": content}]
        return span_id

    def span(self, **fields: Any) -> str:
        """Any other span (workflow, agent, retrieval …)."""
        return self._add(**fields)

    def build(self, ended: bool = True, root_error: tuple[str, str] | None = None, output: str | None = None,
              sub_runs: tuple[SubRunOutcome, ...] = (), **run_fields: Any) -> Run:
        end = self.cursor
        root = self.root._replace(duration_ns=end - T0)
        if root_error:
            root = root._replace(status_code="Error", error_type=root_error[0], error_message=root_error[1])
        if output is not None:
            root = root._replace(output_messages=_dump([{"role": "assistant", "content": output}]))
        spans = sorted([root, *self.spans], key=lambda s: (s.start_ns, s.span_id != "root"))
        by_id = {s.span_id: s for s in spans}
        children: dict[str, list[str]] = {}
        for s in spans:
            if s.parent_span_id:
                children.setdefault(s.parent_span_id, []).append(s.span_id)

        def depth(s: CanonicalSpan) -> int:
            d = 0
            while s.parent_span_id in by_id:
                s = by_id[s.parent_span_id]
                d += 1
            return d

        run_spans = tuple(
            RunSpan(span=s, depth=depth(s), step=i + 1, children=tuple(children.get(s.span_id, ())),
                    cost_usd=self.cost.get(s.span_id))
            for i, s in enumerate(spans)
        )
        return Run(run_id="root", trace_id="t1", parent_run_id="", root_span_id="root", spans=run_spans,
                   agent_name=self.agent, service_name="svc", start_ns=T0, end_ns=end if ended else 0,
                   ended=ended, sub_runs=sub_runs, **run_fields)


def healthy_weather_run() -> Run:
    """Model asks for the weather twice (two cities, different arguments), then answers from the results."""
    b = RunBuilder(question="Compare the weather in Paris and Rome")
    b.llm(tool_calls=[("get_weather", {"city": "Paris"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"city": "Paris"}, result={"temp_c": 18, "sky": "sunny"})
    b.llm(tool_calls=[("get_weather", {"city": "Rome"})], tools=WEATHER_TOOLS)
    b.tool("get_weather", {"city": "Rome"}, result={"temp_c": 24, "sky": "cloudy"})
    b.llm(answer="Paris is 18°C and sunny; Rome is 24°C and cloudy.", tools=WEATHER_TOOLS)
    return b.build(output="Paris is 18°C and sunny; Rome is 24°C and cloudy.")
