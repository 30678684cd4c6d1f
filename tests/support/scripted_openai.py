"""A scripted OpenAI-compatible HTTP stub for recording framework runs: each request gets the next
step of a script (a tool call, a final answer, or an HTTP error), with or without streaming.

Frameworks that speak OpenAI's Chat Completions API (the OpenAI Agents SDK with its chat-completions
model, smolagents' `OpenAIServerModel`, LlamaIndex's `OpenAI`, AutoGen's `OpenAIChatCompletionClient`,
CrewAI through LiteLLM) point their base URL at it; no request leaves the machine.

    server = ScriptedOpenAI([call("lookup_order", {"order_id": "A17"}), say("Order A17 shipped.")])
    base_url = server.start()          # http://127.0.0.1:PORT/v1
    ... run the framework ...
    server.stop(); server.requests     # every request body, in order

A step may also be chosen by the request (`Step.when`): e.g. a sub-agent's model gets its own
steps by the system prompt it sends. Past the end of the script the last step repeats.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "gpt-4o-mini-2024-07-18"


@dataclass
class Step:
    """One model reply: `tool_calls` (name, arguments) and/or `text`, or an HTTP `error` status."""

    text: str | None = None
    tool_calls: list[tuple[str, str]] = field(default_factory=list)  # (name, arguments as JSON text)
    error: int = 0  # an HTTP status: 429 rate limit, 500 server error, 401/403 auth …
    error_message: str = ""
    finish_reason: str | None = None  # default: "tool_calls" with calls, else "stop"
    input_tokens: int = 120
    output_tokens: int = 30
    when: Callable[[dict], bool] | None = None  # this step answers only requests it accepts


def call(name: str, arguments: dict | str, *more: tuple[str, dict | str], text: str | None = None) -> Step:
    """A step calling tool `name` (and, for parallel calls, each of `more`)."""
    calls = [(name, arguments), *more]
    return Step(text=text, tool_calls=[(n, a if isinstance(a, str) else json.dumps(a)) for n, a in calls])


def say(text: str, **kwargs: Any) -> Step:
    """A step answering `text`."""
    return Step(text=text, **kwargs)


def fail(status: int, message: str) -> Step:
    """A step the API refuses with HTTP `status` (429: rate limit, 500: server error, 401: auth)."""
    return Step(error=status, error_message=message)


_ERROR_TYPES = {429: "rate_limit_exceeded", 401: "invalid_api_key", 403: "permission_denied",
                400: "invalid_request_error", 500: "server_error", 503: "server_error"}


class ScriptedOpenAI:
    """The stub; `steps` answer requests in order (a step with `when` only requests it accepts)."""

    def __init__(self, steps: list[Step], model: str = MODEL) -> None:
        self.steps, self.model = list(steps), model
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._used: set[int] = set()
        self._calls = 0
        self._server: ThreadingHTTPServer | None = None

    # -- the script ---------------------------------------------------------------------
    def next_step(self, body: dict) -> Step:
        with self._lock:
            self.requests.append(body)
            for i, step in enumerate(self.steps):
                if i not in self._used and (step.when is None or step.when(body)):
                    self._used.add(i)
                    return step
            return self.steps[-1]

    def _completion(self, step: Step) -> dict:
        self._calls += 1
        calls = [{"id": f"call_{self._calls}_{i}", "type": "function", "function": {"name": n, "arguments": a}}
                 for i, (n, a) in enumerate(step.tool_calls)]
        message: dict[str, Any] = {"role": "assistant", "content": step.text}
        if calls:
            message["tool_calls"] = calls
        finish = step.finish_reason or ("tool_calls" if calls else "stop")
        return {"id": f"chatcmpl-{self._calls}", "object": "chat.completion", "created": 1700000000,
                "model": self.model, "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": self._usage(step)}

    @staticmethod
    def _usage(step: Step) -> dict:
        return {"prompt_tokens": step.input_tokens, "completion_tokens": step.output_tokens,
                "total_tokens": step.input_tokens + step.output_tokens}

    def _chunks(self, step: Step) -> list[dict]:
        done = self._completion(step)
        base = {k: done[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
        message = done["choices"][0]["message"]
        chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                        "finish_reason": None}]}]
        for word in (message.get("content") or "").split(" ") if message.get("content") else []:
            chunks.append({**base, "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]})
        for i, tc in enumerate(message.get("tool_calls", [])):
            chunks.append({**base, "choices": [{"index": 0, "finish_reason": None, "delta": {"tool_calls": [
                {"index": i, "id": tc["id"], "type": "function",
                 "function": {"name": tc["function"]["name"], "arguments": tc["function"]["arguments"]}}]}}]})
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": done["choices"][0]["finish_reason"]}]})
        chunks.append({**base, "choices": [], "usage": done["usage"]})
        return chunks

    # -- the server ---------------------------------------------------------------------
    def start(self) -> str:
        """Serve on an ephemeral loopback port; the base URL (ending in /v1)."""
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # model listings some clients ask for
                self._send(200, json.dumps({"object": "list", "data": [{"id": stub.model, "object": "model"}]}).encode(),
                           "application/json")

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                step = stub.next_step(body)
                if step.error:
                    error = {"error": {"message": step.error_message, "type": _ERROR_TYPES.get(step.error, "error"),
                                       "code": _ERROR_TYPES.get(step.error)}}
                    self._send(step.error, json.dumps(error).encode(), "application/json")
                elif body.get("stream"):
                    data = "".join(f"data: {json.dumps(c)}\n\n" for c in stub._chunks(step)) + "data: [DONE]\n\n"
                    self._send(200, data.encode(), "text/event-stream")
                else:
                    self._send(200, json.dumps(stub._completion(step)).encode(), "application/json")

            def _send(self, status: int, data: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                if status == 429:
                    self.send_header("retry-after", "0")
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
