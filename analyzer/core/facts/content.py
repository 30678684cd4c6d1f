"""Reading the canonical JSON text fields: messages, tool calls, tool definitions, documents.

Tolerant by design: message content may be a string, a list of typed parts (OpenAI
style `{"type": "text", "text": …}`) or GenAI-semconv `parts` (`{"type": "text",
"content": …}`); text that is not JSON is taken as plain content.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

_TEXT_PART_TYPES = ("text", "output_text", "input_text", None)
_REFUSAL = re.compile(
    r"\b(?:can(?:'|no)t|won't|will not|am not able to|unable to) (?:help|assist|comply|provide (?:that|this|help))"
    r"(?: you)? with (?:that|this|your request)|against (?:my|our|the) (?:usage )?(?:polic(?:y|ies)|guidelines)",
    re.I,
)
_NON_ANSWER = re.compile(
    r"\b(?:I(?:'m| am) (?:sorry|afraid)\b.{0,40}\b(?:unable|not able|can(?:'|no)t|couldn't)|"
    r"I (?:was|am|'m) (?:unable|not able) to (?:complete|find|retrieve|determine|answer|finish|get)|"
    r"I (?:could not|couldn't|can't|cannot) (?:complete|find|retrieve|determine|answer|finish|get)|"
    r"(?:something went wrong|please try again later))",
    re.I,
)


# orjson decodes much faster than json and to the same values, except that it turns
# integers past 64 bits into floats (so texts with 19+ digits in a row go to json) and
# rejects NaN, Infinity, 1e400 and lone surrogates, which json accepts (so errors go to json).
# The digit runs are found on the UTF-8 bytes with every ASCII digit mapped to "0" (a regex
# costs more than the decoding it saves).
_DIGITS_AS_ZEROS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_NINETEEN_DIGITS = b"0" * 19


def _utf8(text: str) -> bytes | None:
    try:
        return text.encode()
    except UnicodeEncodeError:  # lone surrogates, which orjson refuses
        return None


@lru_cache(maxsize=256)
def _decode(text: str) -> tuple[Any, bool]:
    """(json.loads(text) or None when not JSON, whether orjson decoded it).

    Cached (the values are shared: treat them as read-only): several rules read the same field of
    a run (prompts for loops and for grounding, the final answer for four rules), and decoding is
    most of what reading a field costs; 256 texts outlast the run that reads them."""
    raw = _utf8(text) if isinstance(text, str) else None
    if raw is not None and _NINETEEN_DIGITS not in raw.translate(_DIGITS_AS_ZEROS):
        try:
            return orjson.loads(raw), True
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text), False
    except (ValueError, TypeError):
        return None, False


def _decoded(text: str) -> tuple[Any, bool]:
    """`_decode`, with an empty text not JSON (None) without asking."""
    return _decode(text) if text else (None, False)


def json_or_none(text: str) -> Any:
    """The decoded JSON value, or None when the text is empty or not JSON (`json.loads` semantics)."""
    return _decode(text)[0] if text else None  # (`_decoded` inline: every field a rule reads comes here)


def string_leaves(value: Any) -> list[str]:
    """Every string inside a decoded JSON value (keys excluded), depth first."""
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, int | float) and not isinstance(item, bool):
            out.append(str(item))
    return out


def all_text(field_text: str) -> str:
    """Every string of a JSON field joined by newlines (the raw text when not JSON)."""
    value = json_or_none(field_text)
    if value is None:
        return field_text
    return "\n".join(string_leaves(value))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") in _TEXT_PART_TYPES:
                text = part.get("text", part.get("content", ""))
                texts.append(text if isinstance(text, str) else "")
        return "\n".join(t for t in texts if t)
    return ""


def messages(field_text: str, default_role: str = "assistant") -> list[dict[str, Any]]:
    """The messages of a JSON messages field; plain text becomes one message of `default_role`."""
    value = json_or_none(field_text)
    if value is None:
        return [{"role": default_role, "content": field_text}] if field_text.strip() else []
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, str):
        return [{"role": default_role, "content": value}]
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def message_text(message: dict[str, Any]) -> str:
    """The human-readable text of one message (content or text parts), no tool calls."""
    text = _content_text(message.get("content"))
    parts = _content_text(message.get("parts"))
    return "\n".join(t for t in (text, parts) if t)


def assistant_text(output_messages: str) -> str:
    """The text an LLM (or agent) answered, joined over its assistant messages."""
    texts = [message_text(m) for m in messages(output_messages) if m.get("role", "assistant") != "user"]
    return "\n".join(t for t in texts if t).strip()


_AI_ROLES = ("ai", "assistant", "model", "AIMessage", "AIMessageChunk")
_ANSWER_KEYS = ("raw", "final_output", "output", "answer", "response", "result", "content", "text")


def agent_answer(output_text: str) -> str | None:
    """What an agent span's recorded output says as an answer, when that output is a framework's
    serialized state rather than prose: the last AI message of a message list (LangGraph's
    `{"messages": [...]}`), a result object's answer field, "" for any other JSON document (a state
    dump is no answer), None for plain text (the text is the answer)."""
    stripped = output_text.lstrip()
    if _REPR.match(stripped):
        return _repr_answer(stripped)
    if not stripped.startswith(("{", "[")):
        return None
    doc = json_or_none(stripped)
    if doc is None:
        return None
    if isinstance(doc, dict) and not isinstance(doc.get("messages"), list):
        # A result object: its answer field (CrewAI's `raw`, `output`, `final_output` …), else no answer.
        return next((doc[k] for k in _ANSWER_KEYS if isinstance(doc.get(k), str) and doc[k].strip()), "")
    items = doc.get("messages") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        return ""
    for item in reversed(items):
        if not isinstance(item, dict):
            continue
        nested = item.get("data")
        data: dict[str, Any] = nested if isinstance(nested, dict) else item
        kind = item.get("type") or item.get("role") or data.get("type") or data.get("role")
        if kind in _AI_ROLES:
            text = message_text(data)
            if text:
                return text
    return ""


# A Python object's repr recorded as an output (`StopEvent(result=AgentOutput(...))` from LlamaIndex,
# streamed `ChatMessageStreamDelta(content=...)` from smolagents) and the text fields inside it.
_REPR = re.compile(r"^[A-Z]\w*\(")
_REPR_TEXT = re.compile(r"""\b(?:text|content)=(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")


def _repr_answer(text: str) -> str:
    """The answer inside an object repr: streamed deltas joined, else the last text field ("" for none)."""
    parts = [m.group(1) if m.group(1) is not None else m.group(2) for m in _REPR_TEXT.finditer(text)]
    parts = [p for p in parts if p]
    if text.count("Delta(") > 1:
        return "".join(parts).strip()
    return parts[-1].strip() if parts else ""


def has_tool_message(input_messages: str) -> bool:
    """Whether a model's input holds a tool's result (a `tool` message or a `tool_call_response` part):
    the run fetched something, though its tool spans may not record what."""
    for m in messages(input_messages, default_role="user"):
        if m.get("role") in ("tool", "function", "ipython"):
            return True
        parts = m.get("parts")
        if isinstance(parts, list) and any(isinstance(p, dict) and p.get("type") == "tool_call_response" for p in parts):
            return True
    return False


def given_text(input_messages: str) -> str:
    """Everything in a model's input except its own earlier answers (assistant messages)."""
    texts = [
        _leaves_text(m) for m in messages(input_messages, default_role="user")
        if m.get("role") not in ("assistant", "model", "ai")
    ]
    return "\n".join(texts)


def _leaves_text(message: dict[str, Any]) -> str:
    """`"\n".join(string_leaves(message))`; joined in C for the usual message of string values only
    (the same strings in the same order), walked only when a value is nested or not a string."""
    try:
        return "\n".join(message.values())
    except TypeError:
        return "\n".join(string_leaves(message))


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # = json.dumps with these options


def prompt_key(input_messages: str) -> str:
    """A canonical form of a prompt, for spotting identical prompts: equal exactly when the
    texts decode to the same JSON value (sorted-key JSON of it; the text itself when not JSON)."""
    value, fast = _decoded(input_messages)
    return input_messages if value is None else _sorted_json(value, fast)


def _sorted_json(value: Any, fast: bool) -> str:
    """Compact sorted-key JSON of a decoded value, one text per value: orjson's (much faster) where
    it writes the value exactly (`fast`: orjson decoded it), else json's. The two never give the same
    text for different values: json's differs only for values orjson cannot write (NaN, huge
    integers, lone surrogates), and those show in its text."""
    if fast or _orjson_exact(value):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return _CANONICAL.encode(value)


def prompt_size(input_messages: str) -> tuple[str, int]:
    """A cheap property that equal prompts share (`prompt_key` equal ⇒ sizes equal): the decoded
    value's type and length (messages in a list), or the text's own when it is not JSON."""
    value = json_or_none(input_messages)
    if value is None:
        return "text", len(input_messages)
    return type(value).__name__, len(value) if isinstance(value, list | dict | str) else 0


def _orjson_exact(value: Any) -> bool:
    """orjson writes this value exactly (no NaN/Infinity, which it writes as null; no integer
    or string it cannot write), as it does every value it decoded itself."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, int) and not isinstance(item, bool) and not -2**63 <= item < 2**64:
            return False
        if isinstance(item, str) and not item.isascii():
            try:
                item.encode()
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item)  # the keys, strings as well
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def canonical_args(arguments: Any) -> str:
    """Tool arguments in one canonical text form (sorted keys) so equal calls compare equal."""
    if isinstance(arguments, str):
        return _canonical_args_text(arguments)
    return "" if arguments is None else _sorted_json(arguments, False)


@lru_cache(maxsize=4096)
def _canonical_args_text(arguments: str) -> str:
    """`canonical_args` of JSON text, cached: agents repeat their calls' arguments."""
    value, fast = _decoded(arguments)
    return arguments.strip() if value is None else _sorted_json(value, fast)


class ToolCall(NamedTuple):
    """A tool call the model asked for (from an LLM span's `tool_calls`).

    A named tuple, not a frozen dataclass: runs hold many and a tuple is built several times faster."""

    name: str
    arguments: str  # as sent (JSON text when the convention uses JSON)
    call_id: str = ""


def tool_calls(field_text: str) -> list[ToolCall]:
    """The calls in a `tool_calls` field (`[{"id", "name", "arguments"}]`, or OpenAI `function` form)."""
    value = json_or_none(field_text) if field_text else None
    if not isinstance(value, list):
        return []
    calls = []
    for item in value:  # (every model call of every run comes here: kept lean)
        if not isinstance(item, dict):
            continue
        fn = item.get("function")
        if not isinstance(fn, dict):
            fn = item
        name = str(fn.get("name", ""))
        if not name:
            continue
        args = fn["arguments"] if "arguments" in fn else fn.get("args", "")
        if not isinstance(args, str):
            args = json.dumps(args, separators=(",", ":"))
        calls.append(ToolCall(name, args, str(item.get("id", ""))))
    return calls


@lru_cache(maxsize=1024)
def tool_definitions(field_text: str) -> dict[str, dict[str, Any]]:
    """Offered tools by name → JSON schema of their parameters ({} when none given).
    Cached by text (runs repeat the same offer on every model call); treat the result as read-only."""
    value = json_or_none(field_text)
    tools: dict[str, dict[str, Any]] = {}
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        function = item.get("function")
        fn = function if isinstance(function, dict) else item
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            continue
        schema = fn.get("parameters", fn.get("input_schema", fn.get("json_schema", {})))
        if isinstance(schema, str):
            schema = json_or_none(schema)
        tools[name] = schema if isinstance(schema, dict) else {}
    return tools


# Words an answer uses when it tells the user something failed (it did not pretend all went well).
_ACKNOWLEDGED = re.compile(
    r"\b(?:errors?|failed|failure|failing|unable|could ?n[o'’]t|can ?not|can[’']t|unavailable|"
    r"did(?: no|n[’'])t (?:work|succeed|go through)|not (?:possible|available|permitted|allowed|authori[sz]ed)|"
    r"denied|went wrong|unfortunately|sorry|apologi[sz]e)\b",
    re.I,
)


def acknowledges_failure(text: str) -> bool:
    """The answer tells the user something failed ("I couldn't look up the order: the service failed")."""
    return bool(_ACKNOWLEDGED.search(text))


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text))


def is_non_answer(text: str) -> bool:
    """A polite answer that answers nothing ("I'm sorry, I was unable to complete …")."""
    return bool(text.strip()) and (bool(_NON_ANSWER.search(text)) or is_refusal(text))
