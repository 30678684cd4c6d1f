"""Emit realistic agent spans through a real OpenTelemetry tracer, in two conventions.

`Emitter` writes the spans an instrumented agent would produce — agent, model calls,
tool executions, nested sub-agents — with the attributes of the OpenTelemetry GenAI
semantic conventions (`"genai"`, v1.37+ message JSON) or of OpenInference
(`"openinference"`, flattened `llm.input_messages.N…`). Times come from a virtual
clock (each step lasts what the scenario says), so runs are reproducible.
Used by `demo.scenarios` (the demo and the scenario tests).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

Flavour = Literal["genai", "openinference"]
FLAVOURS: tuple[Flavour, ...] = ("genai", "openinference")
STEP_GAP_NS = 50_000_000  # 50 ms between steps


class DemoError(Exception):
    """Stands in for the exception an SDK would raise; carries the SDK's type name."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class Emitter:
    """Writes one trace's spans; `agent()` opens a run (or a sub-run inside a tool call)."""

    def __init__(self, tracer: Tracer, flavour: Flavour, start_ns: int, model: str = "gpt-4o-mini",
                 provider: str = "openai") -> None:
        self.tracer, self.flavour, self.now = tracer, flavour, start_ns
        self.model, self.provider = model, provider
        self.stack: list[Span] = []
        self.history: list[list[dict]] = []  # one conversation per open agent
        self.calls = 0

    # -- plumbing ---------------------------------------------------------------------------
    def _start(self, name: str, kind: SpanKind = SpanKind.INTERNAL) -> Span:
        ctx = trace.set_span_in_context(self.stack[-1]) if self.stack else None
        return self.tracer.start_span(name, context=ctx, kind=kind, start_time=self.now)

    def _finish(self, span: Span, duration_s: float, error: tuple[str, str] | None = None) -> str:
        self.now += int(duration_s * 1e9)
        if error:
            exc = DemoError(*error)
            span.record_exception(exc, attributes={"exception.type": error[0]}, timestamp=self.now)
            span.set_attribute("error.type", error[0])
            span.set_status(Status(StatusCode.ERROR, f"{error[0]}: {error[1]}"))
        span.end(end_time=self.now)
        self.now += STEP_GAP_NS
        return format(span.get_span_context().span_id, "016x")

    @staticmethod
    def span_id(span: Span) -> str:
        return format(span.get_span_context().span_id, "016x")

    # -- agents -----------------------------------------------------------------------------
    @contextmanager
    def agent(self, name: str, question: str, end: bool = True) -> Iterator[dict]:
        """An agent run; set `handle["answer"]` (and optionally `handle["error"]`) before leaving."""
        span = self._start(f"invoke_agent {name}")
        handle: dict = {"span_id": self.span_id(span), "answer": None, "error": None}
        if self.flavour == "genai":
            span.set_attributes({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name,
                                 "gen_ai.provider.name": self.provider,
                                 "gen_ai.input.messages": _json([{"role": "user", "parts": [
                                     {"type": "text", "content": question}]}])})
        else:
            span.set_attributes({"openinference.span.kind": "AGENT", "agent.name": name, "input.value": question})
        self.stack.append(span)
        self.history.append([{"role": "user", "content": question}])
        self.now += STEP_GAP_NS
        try:
            yield handle
        finally:
            self.stack.pop()
            self.history.pop()
        answer = handle["answer"]
        if answer is not None:
            if self.flavour == "genai":
                span.set_attribute("gen_ai.output.messages", _json([{"role": "assistant", "parts": [
                    {"type": "text", "content": answer}], "finish_reason": "stop"}]))
            else:
                span.set_attribute("output.value", answer)
        if end:
            self._finish(span, 0.0, handle["error"])

    # -- model calls --------------------------------------------------------------------------
    def llm(self, answer: str | None = None, tool_calls: list[tuple[str, dict | str]] | None = None,
            tools: list[dict] | None = None, tokens: tuple[int, int] = (120, 30), finish: str = "stop",
            error: tuple[str, str] | None = None, duration_s: float = 1.0, model: str | None = None,
            evaluations: list[dict] | None = None) -> str:
        """A chat call with the agent's conversation so far as its prompt."""
        model = model or self.model
        span = self._start(f"chat {model}", SpanKind.CLIENT)
        calls = []
        for name, args in tool_calls or []:
            self.calls += 1
            calls.append({"id": f"call_{self.calls}", "name": name, "arguments": _json(args)})
        history = self.history[-1]
        if self.flavour == "genai":
            self._genai_llm(span, model, history, answer, calls, tools, tokens, finish, error)
        else:
            self._oi_llm(span, model, history, answer, calls, tools, tokens, finish, error)
        for ev in evaluations or []:
            self._evaluation(span, ev)
        if not error:
            history.append({"role": "assistant", "content": answer or "", "tool_calls": calls})
        return self._finish(span, duration_s, error)

    def _genai_llm(self, span: Span, model: str, history: list[dict], answer: str | None, calls: list[dict],
                   tools: list[dict] | None, tokens: tuple[int, int], finish: str,
                   error: tuple[str, str] | None) -> None:
        span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": self.provider,
                             "gen_ai.request.model": model, "gen_ai.input.messages": _json(_parts(history))})
        if tools:
            span.set_attribute("gen_ai.tool.definitions", _json([{"type": "function", **t} for t in tools]))
        if error:
            return
        parts = ([{"type": "text", "content": answer}] if answer is not None else []) + [
            {"type": "tool_call", "id": c["id"], "name": c["name"], "arguments": json.loads(c["arguments"])
             if _is_json(c["arguments"]) else c["arguments"]} for c in calls]
        reason = "tool_calls" if calls and finish == "stop" else finish
        span.set_attributes({
            "gen_ai.response.model": model, "gen_ai.usage.input_tokens": tokens[0],
            "gen_ai.usage.output_tokens": tokens[1], "gen_ai.response.finish_reasons": [reason],
            "gen_ai.output.messages": _json([{"role": "assistant", "parts": parts, "finish_reason": reason}]),
        })

    def _oi_llm(self, span: Span, model: str, history: list[dict], answer: str | None, calls: list[dict],
                tools: list[dict] | None, tokens: tuple[int, int], finish: str,
                error: tuple[str, str] | None) -> None:
        attrs: dict[str, Any] = {"openinference.span.kind": "LLM", "llm.model_name": model,
                                 "llm.provider": self.provider, "llm.system": self.provider}
        for i, msg in enumerate(history):
            prefix = f"llm.input_messages.{i}.message"
            attrs[f"{prefix}.role"] = msg["role"]
            attrs[f"{prefix}.content"] = msg.get("content") or ""
            for j, call in enumerate(msg.get("tool_calls") or []):
                attrs[f"{prefix}.tool_calls.{j}.tool_call.id"] = call["id"]
                attrs[f"{prefix}.tool_calls.{j}.tool_call.function.name"] = call["name"]
                attrs[f"{prefix}.tool_calls.{j}.tool_call.function.arguments"] = call["arguments"]
        for k, tool in enumerate(tools or []):
            attrs[f"llm.tools.{k}.tool.json_schema"] = _json({"type": "function", "function": tool})
        if not error:
            out = "llm.output_messages.0.message"
            attrs.update({f"{out}.role": "assistant", f"{out}.content": answer or "",
                          "llm.token_count.prompt": tokens[0], "llm.token_count.completion": tokens[1],
                          "llm.token_count.total": tokens[0] + tokens[1],
                          "llm.finish_reason": "tool_calls" if calls and finish == "stop" else finish})
            for j, call in enumerate(calls):
                attrs[f"{out}.tool_calls.{j}.tool_call.id"] = call["id"]
                attrs[f"{out}.tool_calls.{j}.tool_call.function.name"] = call["name"]
                attrs[f"{out}.tool_calls.{j}.tool_call.function.arguments"] = call["arguments"]
        span.set_attributes(attrs)

    def _evaluation(self, span: Span, ev: dict) -> None:
        if self.flavour == "genai":
            span.add_event("gen_ai.evaluation.result", {
                "gen_ai.evaluation.name": ev["name"], "gen_ai.evaluation.score.value": float(ev["score"]),
                **({"gen_ai.evaluation.score.label": ev["label"]} if ev.get("label") else {})}, timestamp=self.now)
        else:
            span.set_attributes({f"evaluations.0.evaluation.{k}": v for k, v in ev.items()})

    # -- tools ----------------------------------------------------------------------------------
    def tool(self, name: str, args: dict | str, result: Any = None, error: tuple[str, str] | None = None,
             duration_s: float = 0.5, body: Callable[[], Any] | None = None) -> str:
        """A tool execution; `body` runs inside it (e.g. a sub-agent) and returns the result."""
        span = self._start(f"execute_tool {name}")
        call_id = f"call_{self.calls}"
        if self.flavour == "genai":
            span.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name,
                                 "gen_ai.tool.call.id": call_id, "gen_ai.tool.call.arguments": _json(args)})
        else:
            span.set_attributes({"openinference.span.kind": "TOOL", "tool.name": name, "input.value": _json(args),
                                 "input.mime_type": "application/json"})
        if body is not None:
            self.stack.append(span)
            try:
                result = body()
            finally:
                self.stack.pop()
        if not error and result is not None:
            key = "gen_ai.tool.call.result" if self.flavour == "genai" else "output.value"
            span.set_attribute(key, _json(result))
        content = f"{error[0]}: {error[1]}" if error else _json(result if result is not None else "")
        self.history[-1].append({"role": "tool", "content": content, "tool_call_id": call_id})
        return self._finish(span, duration_s, error)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _parts(history: list[dict]) -> list[dict]:
    """The conversation in GenAI-semconv message form (role + typed parts)."""
    out = []
    for msg in history:
        if msg["role"] == "tool":
            out.append({"role": "tool", "parts": [{"type": "tool_call_response", "id": msg.get("tool_call_id", ""),
                                                   "response": msg["content"]}]})
            continue
        parts: list[dict] = [{"type": "text", "content": msg["content"]}] if msg.get("content") else []
        parts += [{"type": "tool_call", "id": c["id"], "name": c["name"], "arguments": c["arguments"]}
                  for c in msg.get("tool_calls") or []]
        out.append({"role": msg["role"], "parts": parts})
    return out
