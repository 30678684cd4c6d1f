"""A local OpenAI-compatible HTTP stub: chat completions with tool calls, streaming and errors.

It answers from `scenario`: a request whose last message is from the user gets a tool
call; a request carrying a tool result gets the final answer; `stream=true` gets SSE
chunks with usage; the model `ERROR_MODEL` gets HTTP 500.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import conversation as sc


def _usage(turn: dict) -> dict:
    return {
        "prompt_tokens": turn["input"],
        "completion_tokens": turn["output"],
        "total_tokens": turn["input"] + turn["output"],
        "prompt_tokens_details": {"cached_tokens": turn["cached"]},
        "completion_tokens_details": {"reasoning_tokens": turn["reasoning"]},
    }


def _completion(message: dict, finish: str, turn: dict) -> dict:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 1700000000,
        "model": sc.RESPONSE_MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(turn),
    }


def answer(body: dict) -> tuple[int, dict]:
    """The stub's reply to one non-streaming chat request."""
    if body.get("model") == sc.ERROR_MODEL:
        return 500, {"error": {"message": sc.ERROR_MESSAGE, "type": "server_error", "code": None}}
    if any(m.get("role") == "tool" for m in body.get("messages", [])):
        msg = {"role": "assistant", "content": sc.FINAL_ANSWER}
        return 200, _completion(msg, "stop", sc.FINAL_TURN_USAGE)
    call = {"id": sc.TOOL_CALL_ID, "type": "function",
            "function": {"name": sc.TOOL_NAME, "arguments": sc.TOOL_ARGS_JSON}}
    msg = {"role": "assistant", "content": None, "tool_calls": [call]}
    return 200, _completion(msg, "tool_calls", sc.TOOL_TURN_USAGE)


def stream_chunks() -> list[dict]:
    """SSE chunks for a streamed answer; the last one carries usage."""
    base = {"id": "chatcmpl-stream", "object": "chat.completion.chunk", "created": 1700000000,
            "model": sc.RESPONSE_MODEL}
    words = sc.STREAM_ANSWER.split(" ")
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]}]
    for i, word in enumerate(words):
        text = word if i == 0 else " " + word
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({**base, "choices": [], "usage": _usage(sc.STREAM_USAGE)})
    return chunks


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        if body.get("stream") and body.get("model") != sc.ERROR_MODEL:
            payload = "".join(f"data: {json.dumps(c)}\n\n" for c in stream_chunks()) + "data: [DONE]\n\n"
            self._send(200, payload.encode(), "text/event-stream")
            return
        status, reply = answer(body)
        self._send(status, json.dumps(reply).encode(), "application/json")

    def _send(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start() -> tuple[ThreadingHTTPServer, str]:
    """Start the stub on an ephemeral loopback port; returns (server, base_url ending in /v1)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"
