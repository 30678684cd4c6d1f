"""Keep the good spans of a request the strict decoder refuses over one bad field.

Python's protobuf runtime refuses a whole message for invalid UTF-8 in any `string` field,
or for values nested past its limit of 100 messages; `json_format` does the same for
OTLP/JSON. The OpenTelemetry Collector accepts both (its decoder checks neither), so one
bad attribute must not cost the other spans of the request. When the strict decode fails,
the request is taken apart resource by resource, scope by scope and span by span:

- a piece with invalid UTF-8 is kept with each invalid sequence replaced by U+FFFD (the
  OTLP specification's advice), and the answer carries a note saying so;
- a piece nested too deep is dropped and reported through `partial_success` (a resource
  or scope takes its spans with it); the limit counts from the request's root, exactly
  as the strict decoder does, so the answer never depends on the neighbours;
- anything else malformed still refuses the whole request (400), as the Collector does.

The work is bounded: pieces that decode are parsed in C; only broken pieces are walked in
Python, and at most `REPAIR_BYTES` of them per request; beyond that they are rejected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from agentmortem.collector.convert import SpanCheck
from agentmortem.collector.protoschema import length_delimited, message_classes

REPAIR_BYTES = 8 * 1024 * 1024
"""Bytes of broken pieces one request may have walked and repaired in Python."""

_SURROGATE = re.compile("[\ud800-\udfff]")
TOO_DEEP = "values nest deeper than the decoder's limit of 100 levels from the request's root"


class Malformed(Exception):
    """The request is broken in a way no piece-by-piece decode can keep (answered 400)."""


# -- protobuf ------------------------------------------------------------------------

_SHALLOW = message_classes("agentmortem.shallow", "proto3", {
    "Request": (("resource_spans", 1, "repeated", "bytes"),),
    "ResourceSpans": (
        ("resource", 1, "optional", "bytes"), ("scope_spans", 2, "repeated", "bytes"), ("schema_url", 3, "optional", "bytes"),
    ),
    "ScopeSpans": (
        ("scope", 1, "optional", "bytes"), ("spans", 2, "repeated", "bytes"), ("schema_url", 3, "optional", "bytes"),
    ),
})
_PREFIX = "agentmortem.lenient."


def _lenient_request() -> tuple[type[Message], frozenset[tuple[str, int]]]:
    """ExportTraceServiceRequest with every `string` field read as `bytes` (no UTF-8 check);
    also the (message, field number) pairs that are strings in OTLP."""
    pool, strings = descriptor_pool.DescriptorPool(), set()

    def lenient(messages: Any, scope: str) -> None:
        for message in messages:
            for field in message.field:
                if field.type == FieldDescriptor.TYPE_STRING:
                    field.type = FieldDescriptor.TYPE_BYTES
                    strings.add((f"{scope}.{message.name}", field.number))
                if field.type_name.startswith(".opentelemetry."):
                    field.type_name = "." + _PREFIX + field.type_name[1:]
            lenient(message.nested_type, f"{scope}.{message.name}")

    for module in (common_pb2, resource_pb2, trace_pb2, trace_service_pb2):
        file = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(file)
        file.name, file.package = _PREFIX + file.name, _PREFIX + file.package
        dependencies = [_PREFIX + name for name in file.dependency]
        del file.dependency[:]
        file.dependency.extend(dependencies)
        file.ClearField("service")
        lenient(file.message_type, file.package)
        pool.Add(file)
    name = _PREFIX + ExportTraceServiceRequest.DESCRIPTOR.full_name
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name)), frozenset(strings)


_LENIENT, _STRINGS = _lenient_request()


def too_deep(error: Exception) -> bool:
    """Whether a protobuf or json_format error is about nesting depth."""
    text = str(error).lower()
    return "depth" in text or "too deep" in text or "nesting" in text


def _repair_strings(message: Message) -> int:
    """Replace invalid UTF-8 in the OTLP string fields of a lenient message (in place); count them."""
    repaired, stack = 0, [message]
    while stack:
        current = stack.pop()
        for field, value in current.ListFields():
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                stack.extend((value,) if isinstance(value, Message) else value)
            elif (field.containing_type.full_name, field.number) in _STRINGS:
                try:
                    value.decode("utf-8")
                except UnicodeDecodeError:
                    setattr(current, field.name, value.decode("utf-8", "replace").encode())
                    repaired += 1
    return repaired


class _Dropped(Exception):
    """A piece that cannot be kept; the message says why."""


class _ProtobufSalvage:
    """One request's pieces, checked from the outside in: what decodes strictly is kept as it is;
    only the smallest broken pieces (a resource, a scope, a span) are repaired or dropped."""

    def __init__(self) -> None:
        self.check = SpanCheck()
        self.repaired = 0
        self.budget = REPAIR_BYTES

    @staticmethod
    def decodes(data: bytes, path: tuple[int, ...]) -> bool:
        """Whether `data`, placed at `path` (field numbers from the request down), decodes strictly."""
        try:
            ExportTraceServiceRequest.FromString(_wrap(data, path))
        except DecodeError:
            return False
        return True

    def piece(self, data: bytes, path: tuple[int, ...], where: str) -> bytes:
        """`data` (at `path`) as strictly decodable bytes, repaired if need be; raises `_Dropped`
        when it cannot be kept."""
        if self.decodes(data, path):
            return data
        wrapped = _wrap(data, path)
        try:
            lenient = _LENIENT.FromString(wrapped)
        except DecodeError as exc:
            if too_deep(exc):
                raise _Dropped(TOO_DEEP) from exc
            raise Malformed(f"{where}: {exc}") from exc
        if len(data) > self.budget:
            raise _Dropped("more invalid UTF-8 in this request than is repaired in one")
        self.budget -= len(data)
        inner: Message = lenient
        for number in path:
            value = getattr(inner, inner.DESCRIPTOR.fields_by_number[number].name)
            inner = value if isinstance(value, Message) else value[0]
        self.repaired += _repair_strings(inner)
        return inner.SerializeToString()

    def text(self, data: bytes) -> bytes:
        """A `string` field read as bytes (schema_url), with invalid UTF-8 replaced."""
        try:
            data.decode("utf-8")
            return data
        except UnicodeDecodeError:
            self.repaired += 1
            return data.decode("utf-8", "replace").encode()

    def reject(self, count: int, where: str, why: _Dropped) -> None:
        self.check.reject(f"{where}: {why}" + (f" ({count} spans)" if count > 1 else ""), count)

    def request(self, body: bytes) -> bytes:
        out = []
        for i, rs_bytes in enumerate(_SHALLOW["Request"].FromString(body).resource_spans):
            if self.decodes(rs_bytes, (1,)):
                out.append(length_delimited(1, rs_bytes))
            else:
                out.append(self.resource_spans(rs_bytes, f"resource_spans[{i}]"))
        return b"".join(out)

    def resource_spans(self, data: bytes, where: str) -> bytes:
        rs = _SHALLOW["ResourceSpans"].FromString(data)
        try:
            parts = [length_delimited(1, self.piece(rs.resource, (1, 1), f"{where}.resource"))]
        except _Dropped as why:
            spans = sum(len(_SHALLOW["ScopeSpans"].FromString(ss).spans) for ss in rs.scope_spans)
            self.reject(spans, f"{where}.resource", why)
            return b""
        for j, ss_bytes in enumerate(rs.scope_spans):
            decodes = self.decodes(ss_bytes, (1, 2))
            parts.append(length_delimited(2, ss_bytes if decodes else self.scope_spans(ss_bytes, f"{where}.scope_spans[{j}]")))
        parts.append(length_delimited(3, self.text(rs.schema_url)))
        return length_delimited(1, b"".join(parts))

    def scope_spans(self, data: bytes, where: str) -> bytes:
        ss = _SHALLOW["ScopeSpans"].FromString(data)
        try:
            scope = length_delimited(1, self.piece(ss.scope, (1, 2, 1), f"{where}.scope"))
        except _Dropped as why:
            self.reject(len(ss.spans), f"{where}.scope", why)
            return b""
        return scope + self.spans(list(ss.spans), where) + length_delimited(3, self.text(ss.schema_url))

    def spans(self, spans: list[bytes], where: str) -> bytes:
        """The spans of a scope that can be kept, as `spans` fields in their order. Runs of spans
        are tried whole and halved while they fail, so a few bad spans cost a few parses."""
        runs: list[tuple[int, bytes]] = []
        pending = [(0, len(spans))]
        while pending:
            low, high = pending.pop()
            if high - low == 1:
                try:
                    runs.append((low, length_delimited(2, self.piece(spans[low], (1, 2, 2), f"{where}.spans[{low}]"))))
                except _Dropped as why:
                    self.reject(1, f"{where}.spans[{low}]", why)
                continue
            run = b"".join(length_delimited(2, span) for span in spans[low:high])
            if self.decodes(run, (1, 2)):
                runs.append((low, run))
            elif high > low:
                middle = (low + high) // 2
                pending += [(middle, high), (low, middle)]
        return b"".join(run for _, run in sorted(runs))


def _wrap(data: bytes, path: tuple[int, ...]) -> bytes:
    for number in reversed(path):
        data = length_delimited(number, data)
    return data


def salvage_protobuf(body: bytes) -> tuple[ExportTraceServiceRequest, bytes, SpanCheck]:
    """The decodable part of a protobuf body the strict decoder refused: the request, its
    encoding, and what was dropped or repaired. Raises `Malformed` when nothing can be kept."""
    salvage = _ProtobufSalvage()
    try:
        raw = salvage.request(body)
        request = ExportTraceServiceRequest.FromString(raw)
    except DecodeError as exc:
        raise Malformed(str(exc)) from exc
    if salvage.repaired:
        salvage.check.notes.append(repaired_note(salvage.repaired))
    return request, raw, salvage.check


def repaired_note(count: int) -> str:
    """The `partial_success` note for `count` strings whose invalid UTF-8 was replaced."""
    return f"replaced invalid UTF-8 with U+FFFD in {count} string(s)"


# -- OTLP/JSON -------------------------------------------------------------------------


def _key(obj: dict, *names: str) -> str:
    return next((name for name in names if name in obj), names[0])


def _items(obj: Any, *names: str) -> list:
    value = obj.get(_key(obj, *names)) if isinstance(obj, dict) else None
    return value if isinstance(value, list) else []


_MESSAGE_DEPTH = 100  # json_format's default max_recursion_depth, counted in messages from the request
EXAMINED_PIECES = 64
"""Pieces of one OTLP/JSON request nested deeply enough to be decoded one by one (json_format is
pure Python, a few milliseconds each); past that, such pieces are rejected unexamined."""


def _nests_to(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest `limit` deep in a JSON value (each message is an object, so
    a value that does not cannot hold messages that deep)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, (dict, list)):
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in (current.values() if isinstance(current, dict) else current))
    return False


class _JsonDepth:
    """Decides which pieces of an OTLP/JSON request nest past the limit, examining few."""

    def __init__(self) -> None:
        self.examined = 0

    def problem(self, piece: Any, above: int, wrap: Callable[[Any], dict], where: str) -> str | None:
        """Why `piece`, under `above` messages, cannot be kept: the strict decoder's answer (the
        piece is decoded wrapped in a request) for the pieces that could nest past the limit."""
        if not _nests_to(piece, _MESSAGE_DEPTH - above):
            return None
        self.examined += 1
        if self.examined > EXAMINED_PIECES:
            return f"values nest too deep to examine more than {EXAMINED_PIECES} such pieces in one request"
        try:
            json_format.ParseDict(wrap(piece), ExportTraceServiceRequest(), ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            if too_deep(exc):
                return TOO_DEEP
            raise Malformed(f"{where}: {exc}") from exc
        return None


def _json_pieces(document: dict, check: SpanCheck) -> Iterator[dict]:
    """The resource spans of `document` without the pieces nested too deep (rejected in `check`)."""
    depth = _JsonDepth()
    for i, rs in enumerate(_items(document, "resourceSpans", "resource_spans")):
        where = f"resourceSpans[{i}]"
        if not isinstance(rs, dict):
            yield rs  # the final decode names the problem
            continue
        scopes_key = _key(rs, "scopeSpans", "scope_spans")
        resource = {k: v for k, v in rs.items() if k != scopes_key}
        scopes = _items(rs, "scopeSpans", "scope_spans")
        problem = depth.problem(resource, 1, lambda r: {"resourceSpans": [r]}, where)
        if problem:
            count = sum(len(_items(ss, "spans")) for ss in scopes)
            check.reject(f"{where}.resource: {problem} ({count} spans)", count)
            continue
        kept_scopes = []
        for j, ss in enumerate(scopes):
            here = f"{where}.scopeSpans[{j}]"
            if not isinstance(ss, dict):
                kept_scopes.append(ss)
                continue
            scope = {k: v for k, v in ss.items() if k != "spans"}
            spans = _items(ss, "spans")
            problem = depth.problem(scope, 2, lambda s: {"resourceSpans": [{"scopeSpans": [s]}]}, here)
            if problem:
                check.reject(f"{here}.scope: {problem} ({len(spans)} spans)", len(spans))
                continue
            kept = []
            for k, span in enumerate(spans):
                wrap = lambda sp: {"resourceSpans": [{"scopeSpans": [{"spans": [sp]}]}]}  # noqa: E731
                problem = depth.problem(span, 3, wrap, f"{here}.spans[{k}]")
                if problem:
                    check.reject(f"{here}.spans[{k}]: {problem}")
                else:
                    kept.append(span)
            kept_scopes.append({**scope, "spans": kept})
        yield {**resource, scopes_key: kept_scopes}


def salvage_json(document: dict) -> tuple[ExportTraceServiceRequest, SpanCheck]:
    """The part of an OTLP/JSON document (ids already base64) that `json_format` can decode when
    the whole could not be for nesting; raises `Malformed` for any other error."""
    check = SpanCheck()
    kept = list(_json_pieces(document, check))
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict({"resourceSpans": kept}, request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise Malformed(str(exc)) from exc
    return request, check


def replace_lone_surrogates(document: Any) -> int:
    """Replace unpaired UTF-16 surrogates (from `\\ud800`-style escapes) in the string values of a
    parsed JSON document with U+FFFD, in place; count the strings changed. (Object keys are OTLP
    field names: one with a surrogate is an unknown field, ignored.)"""
    changed, stack = 0, [document]
    while stack:
        current = stack.pop()
        for key, value in list(current.items() if isinstance(current, dict) else enumerate(current)):
            if isinstance(value, (dict, list)):
                stack.append(value)
            elif isinstance(value, str) and _SURROGATE.search(value):
                current[key] = _SURROGATE.sub("\ufffd", value)
                changed += 1
    return changed
