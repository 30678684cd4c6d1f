"""Decoding bodies the strict decoder refuses: keep every piece it would have taken alone.

The rule the tolerant decode must follow exactly: a resource, scope or span is kept when a
request holding only it decodes strictly, whatever its neighbours — in protobuf and in
OTLP/JSON alike — with invalid UTF-8 replaced by U+FFFD; anything else malformed refuses
the whole body (400), as before and as the OpenTelemetry Collector does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from google.protobuf import json_format, text_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.collector import salvage
from agentmortem.collector.payload import Decoded, PayloadError, parse_otlp_json, parse_protobuf
from tests.support.sdk_spans import otlp_json

MARK = "@@@@"  # replaced by invalid UTF-8 of the same length in the encoded body
INVALID = b"a\xff\xfeb"


def _request(extra: Callable[[ExportTraceServiceRequest], None] | None = None) -> ExportTraceServiceRequest:
    """Resource 0: spans good-0 and good-1; `extra` adds what it tests."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for name in ("good-0", "good-1"):
        _span(scope, name)
    if extra:
        extra(request)
    return request


def _span(scope, name: str):
    span = scope.spans.add()
    span.trace_id, span.span_id, span.name = uuid.uuid4().bytes, uuid.uuid4().bytes[:8], name
    return span


def _nest(attributes, depth: int) -> None:
    kv = attributes.add()
    kv.key = "deep"
    value = kv.value
    for _ in range(depth):
        value = value.array_value.values.add()
    value.int_value = 1


# Where a deep value sits: each adds its own resource (and scope) holding span "piece".
def _in_span(depth: int) -> Callable[[ExportTraceServiceRequest], None]:
    def add(request: ExportTraceServiceRequest) -> None:
        _nest(_span(request.resource_spans.add().scope_spans.add(), "piece").attributes, depth)
    return add


def _in_event(depth: int) -> Callable[[ExportTraceServiceRequest], None]:
    def add(request: ExportTraceServiceRequest) -> None:
        _nest(_span(request.resource_spans.add().scope_spans.add(), "piece").events.add().attributes, depth)
    return add


def _in_resource(depth: int) -> Callable[[ExportTraceServiceRequest], None]:
    def add(request: ExportTraceServiceRequest) -> None:
        rs = request.resource_spans.add()
        _nest(rs.resource.attributes, depth)
        _span(rs.scope_spans.add(), "piece")
    return add


def _in_scope(depth: int) -> Callable[[ExportTraceServiceRequest], None]:
    def add(request: ExportTraceServiceRequest) -> None:
        ss = request.resource_spans.add().scope_spans.add()
        _nest(ss.scope.attributes, depth)
        _span(ss, "piece")
    return add


def _decode(encoding: str, request: ExportTraceServiceRequest) -> Decoded:
    if encoding == "protobuf":
        return parse_protobuf(request.SerializeToString().replace(MARK.encode(), INVALID))
    return parse_otlp_json(otlp_json(request).replace(MARK.encode(), INVALID))


def _alone_decodes(encoding: str, add: Callable[[ExportTraceServiceRequest], None]) -> bool:
    alone = ExportTraceServiceRequest()
    add(alone)
    try:
        if encoding == "protobuf":
            ExportTraceServiceRequest.FromString(alone.SerializeToString())
        else:
            document = json.loads(otlp_json(alone))
            json_format.ParseDict(document, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (DecodeError, json_format.ParseError):
        return False
    return True


def _names(decoded: Decoded) -> list[str]:
    return sorted(span.name for rs in decoded.request.resource_spans for ss in rs.scope_spans for span in ss.spans)


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
@pytest.mark.parametrize("where", [_in_span, _in_event, _in_resource, _in_scope],
                         ids=["span", "event", "resource", "scope"])
@pytest.mark.parametrize("depth", [40, 46, 47, 48, 49, 60, 200])
def test_a_piece_is_kept_exactly_when_it_decodes_alone(encoding, where, depth):
    decoded = _decode(encoding, _request(where(depth)))
    if _alone_decodes(encoding, where(depth)):
        assert _names(decoded) == ["good-0", "good-1", "piece"]
        assert decoded.salvage is None or decoded.salvage.rejected == 0
    else:
        assert _names(decoded) == ["good-0", "good-1"]
        assert decoded.salvage.rejected == 1
        assert salvage.TOO_DEEP in decoded.salvage.message()


def test_the_limits_of_both_encodings_agree():
    """Span attributes: the deepest value kept is the same in protobuf and in OTLP/JSON."""
    kept = {encoding: max(d for d in range(40, 60) if _alone_decodes(encoding, _in_span(d)))
            for encoding in ("protobuf", "json")}
    assert kept["protobuf"] == kept["json"] == 47


def _set_scope(request, name):
    request.resource_spans[0].scope_spans[0].scope.name = name


def _set_schema_url(request, url):
    request.resource_spans[0].schema_url = url


def _span_attr(request, key, value):
    kv = request.resource_spans[0].scope_spans[0].spans[0].attributes.add()
    kv.key, kv.value.string_value = key, value


def _nested_key(request, key):
    kv = request.resource_spans[0].scope_spans[0].spans[0].attributes.add()
    kv.key = "map"
    inner = kv.value.kvlist_value.values.add()
    inner.key, inner.value.int_value = key, 1


def _span_field(name: str):
    def set_field(request, text):
        setattr(request.resource_spans[0].scope_spans[0].spans[0], name, text)
    return set_field


def _event_name(request, text):
    request.resource_spans[0].scope_spans[0].spans[0].events.add().name = text


def _status(request, text):
    request.resource_spans[0].scope_spans[0].spans[0].status.message = text


def _resource_attr(request, text):
    kv = request.resource_spans[0].resource.attributes.add()
    kv.key, kv.value.string_value = "r", text


STRING_FIELDS = {
    "span-name": _span_field("name"),
    "trace-state": _span_field("trace_state"),
    "attribute-key": lambda r, t: _span_attr(r, t, "v"),
    "attribute-value": lambda r, t: _span_attr(r, "k", t),
    "nested-key": _nested_key,
    "event-name": _event_name,
    "status-message": _status,
    "resource-attribute": _resource_attr,
    "scope-name": _set_scope,
    "schema-url": _set_schema_url,
}


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
@pytest.mark.parametrize("field", list(STRING_FIELDS))
def test_invalid_utf8_anywhere_is_replaced_and_noted(encoding, field):
    request = _request()
    STRING_FIELDS[field](request, MARK)
    decoded = _decode(encoding, request)
    assert _names(decoded) == (["a\ufffd\ufffdb", "good-1"] if field == "span-name" else ["good-0", "good-1"])
    assert "a\ufffd\ufffdb" in text_format.MessageToString(decoded.request, as_utf8=True)
    assert decoded.salvage.rejected == 0
    assert "U+FFFD" in decoded.salvage.message()


def test_repairs_are_bounded_per_request(monkeypatch):
    monkeypatch.setattr(salvage, "REPAIR_BYTES", 200)
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for i in range(20):
        _span(scope, f"s{i:02}").attributes.add().value.string_value = MARK
    decoded = _decode("protobuf", request)
    kept, rejected = len(_names(decoded)), decoded.salvage.rejected
    assert kept + rejected == 20
    assert 0 < kept < 20
    assert "more invalid UTF-8 in this request than is repaired in one" in decoded.salvage.message()


def test_deep_json_pieces_are_examined_a_bounded_number_of_times(monkeypatch):
    monkeypatch.setattr(salvage, "EXAMINED_PIECES", 2)
    request = _request()
    scope = request.resource_spans[0].scope_spans[0]
    for i, depth in enumerate([40, 90, 40, 40]):  # 40 levels decode, but only two pieces are examined
        _nest(_span(scope, f"deep-{i}").attributes, depth)
    decoded = _decode("json", request)
    assert _names(decoded) == ["deep-0", "good-0", "good-1"]
    assert decoded.salvage.rejected == 3
    assert "too deep to examine more than 2 such pieces" in decoded.salvage.message()


def test_other_damage_still_refuses_the_whole_body():
    request = _request(_in_span(90))
    body = request.SerializeToString()
    good = request.resource_spans[0].scope_spans[0].spans[1].SerializeToString()
    broken = body.replace(good, b"\x0f" * len(good))  # same length: the outer lengths still hold
    with pytest.raises(PayloadError) as refusal:
        parse_protobuf(broken)
    assert refusal.value.status == 400


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"resourceSpans": NaN}', "not valid JSON"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}', "ExportTraceServiceRequest"),
        (b'{"resourceSpans": [{"scopeSpans": "\xff"}]}', "ExportTraceServiceRequest"),
    ],
    ids=["bare-nan", "bad-time", "wrong-type-after-repair"],
)
def test_json_that_is_wrong_in_other_ways_is_still_refused(body, needle):
    with pytest.raises(PayloadError) as refusal:
        parse_otlp_json(body)
    assert refusal.value.status == 400
    assert needle in str(refusal.value)


def test_an_unpaired_surrogate_escape_is_replaced():
    body = otlp_json(_request(lambda r: _span_attr(r, "k", MARK))).replace(MARK.encode(), b"x\\ud800y")
    decoded = parse_otlp_json(body)
    values = [kv.value.string_value for span in decoded.request.resource_spans[0].scope_spans[0].spans
              for kv in span.attributes]
    assert values == ["x\ufffdy"]
    assert "U+FFFD" in decoded.salvage.message()
