"""Request bodies → the signal's export request (`ExportTraceServiceRequest`, logs, metrics): size
limits, gzip, protobuf and OTLP/JSON.

OTLP/JSON differs from the proto3 JSON mapping in one way that matters: trace and span
ids are hex, not base64. We rewrite the ids, then let protobuf's JSON parser apply the
rest (lowerCamelCase or original names, enums as integers, int64 as strings, unknown
fields ignored as the spec requires). Every failure is a `PayloadError` naming the problem.

A trace body refused only for invalid UTF-8 or values nested too deep is not refused whole:
`collector.salvage` keeps what can be kept, and `Decoded.salvage` says what it changed. Logs
and metrics are decoded strictly (invalid JSON text is still repaired as for traces).
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from agentmortem.collector.convert import SpanCheck
from agentmortem.collector.salvage import (
    Malformed,
    repaired_note,
    replace_lone_surrogates,
    salvage_json,
    salvage_protobuf,
    too_deep,
)
from agentmortem.collector.signals import TRACES, JsonPath, Signal

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


@dataclass(frozen=True)
class Decoded:
    """A decoded body: the request, its protobuf encoding when there is one, and what a
    tolerant decode dropped or repaired (None when the strict decode took it all)."""

    request: Any  # the signal's export request
    raw: bytes | None
    salvage: SpanCheck | None = None


class PayloadError(Exception):
    """A body we will not accept; `status` is the HTTP code to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` → `application/json`; raise 415 for others."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in (PROTOBUF, JSON):
        return base
    raise PayloadError(
        415, f"unsupported content type {content_type!r}: use {PROTOBUF} or {JSON}"
    )


def gunzip_bounded(body: bytes, limit: int) -> bytes:
    """Decompress gzip, refusing as soon as the output would pass `limit` (no gzip bombs)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise PayloadError(400, f"body is not valid gzip: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadError(413, f"decompressed body exceeds {limit} bytes")
    if not inflater.eof:
        raise PayloadError(400, "body is not valid gzip: truncated stream")
    return out


def decode_body(body: bytes, encoding: str | None, kind: str, limit: int, signal: Signal = TRACES) -> Decoded:
    """Decompress (if asked) and decode a body of media type `kind` carrying `signal`."""
    enc = (encoding or "identity").strip().lower()
    if enc == "gzip":
        body = gunzip_bounded(body, limit)
    elif enc not in ("identity", ""):
        raise PayloadError(415, f"unsupported Content-Encoding {encoding!r}: use gzip or none")
    if kind == PROTOBUF:
        return parse_protobuf(body, signal)
    return parse_otlp_json(body, signal)


def parse_protobuf(body: bytes, signal: Signal = TRACES) -> Decoded:
    request = signal.request_type()
    try:
        request.ParseFromString(body)
        return Decoded(request, body)
    except DecodeError as exc:
        refusal = exc
    if signal is not TRACES:
        raise PayloadError(
            400, f"body is not a valid OTLP protobuf {signal.request_type.__name__}: {refusal}"
        ) from refusal
    try:
        request, raw, salvage = salvage_protobuf(body)
    except Malformed:
        raise PayloadError(
            400, f"body is not a valid OTLP protobuf ExportTraceServiceRequest: {refusal}"
        ) from refusal
    return Decoded(request, raw, salvage)


def parse_otlp_json(body: bytes, signal: Signal = TRACES) -> Decoded:
    notes = []
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        document, repaired = _tolerant_json(body, exc)
        notes.append(repaired_note(repaired))
    if not isinstance(document, dict):
        raise PayloadError(400, f"OTLP/JSON body must be an object with {signal.json_root}")
    for path in signal.json_id_paths:
        _hex_ids_to_base64(document, path)
    request = signal.request_type()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
        salvage = SpanCheck()
    except json_format.ParseError as exc:
        refusal = PayloadError(400, f"body is not a valid OTLP/JSON {signal.request_type.__name__}: {exc}")
        if signal is not TRACES or not too_deep(exc):
            raise refusal from exc
        try:
            request, salvage = salvage_json(document)
        except Malformed:
            raise refusal from exc
    salvage.notes.extend(notes)
    return Decoded(request, None, salvage if salvage.rejected or salvage.notes else None)


def _tolerant_json(body: bytes, refusal: orjson.JSONDecodeError) -> tuple[Any, int]:
    """Parse JSON that orjson refused, if invalid UTF-8 or unpaired surrogate escapes were the
    only problem (the Collector's parser lets both through); returns the document and how
    many replacements U+FFFD made. Anything else stays a 400."""
    text = body.decode("utf-8", "replace")
    replaced = text.count("\ufffd") - body.count("\ufffd".encode())

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        document = json.loads(text, parse_constant=no_constants)
    except (ValueError, RecursionError):
        raise PayloadError(400, f"body is not valid JSON: {refusal}") from refusal
    replaced += replace_lone_surrogates(document)
    if not replaced:  # orjson refused something else that the standard parser tolerates
        raise PayloadError(400, f"body is not valid JSON: {refusal}")
    return document, replaced


_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_to_b64(value: Any, where: str) -> Any:
    if not isinstance(value, str):
        return value  # let the protobuf parser report the wrong type
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise PayloadError(400, f"{where} must be a hex string, got {value[:40]!r}") from exc
    return base64.b64encode(raw).decode()


def _fix_ids(obj: dict, where: str) -> None:
    for name in _ID_FIELDS:
        if name in obj:
            obj[name] = _hex_to_b64(obj[name], f"{where}.{name}")


def _hex_ids_to_base64(document: dict, path: JsonPath) -> None:
    """Rewrite the hex ids of every object `path` leads to (e.g. each span, each exemplar)."""
    found: list[tuple[Any, str]] = [(document, "")]
    for names in path:
        step = []
        for obj, where in found:
            held = obj.get(names[0], obj.get(names[1])) if isinstance(obj, dict) else None
            if isinstance(held, list):
                step += [(item, f"{where}.{names[0]}[{i}]") for i, item in enumerate(held)]
            elif isinstance(held, dict):
                step.append((held, f"{where}.{names[0]}"))
        found = step
    for obj, where in found:
        if isinstance(obj, dict):
            _fix_ids(obj, where.lstrip("."))


def encode_response(kind: str, rejected: int, message: str, signal: Signal = TRACES) -> bytes:
    """The signal's export answer in the request's encoding."""
    response = signal.response(rejected, message)
    if kind == JSON:
        return orjson.dumps(json_format.MessageToDict(response))
    return response.SerializeToString()


def encode_status(kind: str, code: int, message: str) -> bytes:
    """A `google.rpc.Status` error body in the request's encoding."""
    from google.rpc.status_pb2 import Status

    status = Status(code=code, message=message)
    if kind == JSON:
        return orjson.dumps(json_format.MessageToDict(status))
    return status.SerializeToString()
