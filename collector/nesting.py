"""Does a request hold attribute values nested deeper than the native insert can render?

ClickHouse's `Protobuf` input needs a fixed structure, so `otlp_native.proto` stops after
one level of arrays and maps (of scalars); a value nested deeper (an array of maps, as the
GenAI conventions use for messages) would be stored as `null` there. The writer sends
such requests through the converted path instead, which renders any depth as pdata does.

The question is answered in C, without a Python loop over spans: the request bytes are
parsed with a probe schema in which a nested array or map is a message with a required
field it can never have, so `IsInitialized()` is false exactly when such a value exists.
It costs about two strict decodes of the request, a small part of a conversion.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from agentmortem.collector.protoschema import message_classes

# Field numbers as in opentelemetry/proto/{collector/trace,trace,resource,common}/v1. Fields that
# cannot nest are declared as bytes anyway: the parser is faster with known fields than unknown.
_PROBE = message_classes("agentmortem.nesting_probe", "proto2", {  # required fields exist only in proto2
    "Request": (("resource_spans", 1, "repeated", "ResourceSpans"),),
    "ResourceSpans": (
        ("resource", 1, "optional", "Resource"), ("scope_spans", 2, "repeated", "ScopeSpans"),
        ("schema_url", 3, "optional", "bytes"),
    ),
    "Resource": (("attributes", 1, "repeated", "KeyValue"),),
    "ScopeSpans": (  # scope attributes are not stored
        ("scope", 1, "optional", "bytes"), ("spans", 2, "repeated", "Span"), ("schema_url", 3, "optional", "bytes"),
    ),
    "Span": (
        ("trace_id", 1, "optional", "bytes"), ("span_id", 2, "optional", "bytes"),
        ("trace_state", 3, "optional", "bytes"), ("parent_span_id", 4, "optional", "bytes"),
        ("name", 5, "optional", "bytes"), ("attributes", 9, "repeated", "KeyValue"),
        ("events", 11, "repeated", "Event"), ("links", 13, "repeated", "Link"), ("status", 15, "optional", "bytes"),
    ),
    "Event": (("name", 2, "optional", "bytes"), ("attributes", 3, "repeated", "KeyValue")),
    "Link": (
        ("trace_id", 1, "optional", "bytes"), ("span_id", 2, "optional", "bytes"),
        ("trace_state", 3, "optional", "bytes"), ("attributes", 4, "repeated", "KeyValue"),
    ),
    "KeyValue": (("key", 1, "optional", "bytes"), ("value", 2, "optional", "AnyValue")),
    "AnyValue": (
        ("string_value", 1, "optional", "bytes"), ("array_value", 5, "optional", "ArrayValue"),
        ("kvlist_value", 6, "optional", "KeyValueList"), ("bytes_value", 7, "optional", "bytes"),
    ),
    "ArrayValue": (("values", 1, "repeated", "InnerValue"),),
    "KeyValueList": (("values", 1, "repeated", "InnerKeyValue"),),
    "InnerKeyValue": (("key", 1, "optional", "bytes"), ("value", 2, "optional", "InnerValue")),
    "InnerValue": (
        ("string_value", 1, "optional", "bytes"), ("array_value", 5, "optional", "TooDeep"),
        ("kvlist_value", 6, "optional", "TooDeep"), ("bytes_value", 7, "optional", "bytes"),
    ),
    "TooDeep": (("never", 1, "required", "bool"),),
})["Request"]


def renders_natively(request_bytes: bytes) -> bool:
    """True unless some resource, span, event or link attribute nests arrays or maps two levels deep."""
    probe = _PROBE()
    try:
        probe.MergeFromString(request_bytes)
    except DecodeError:
        return False  # let the converted path, which decoded these bytes already, handle them
    return probe.IsInitialized()
