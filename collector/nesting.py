"""Does a request hold attribute values nested deeper than the native insert can render?

ClickHouse's `Protobuf` input needs a fixed structure, so `otlp_native.proto` stops after
one level of arrays and maps (of scalars); a value nested deeper (an array of maps, as the
GenAI conventions use for messages) would be stored as `null` there. The writer sends
such requests through the converted path instead, which renders any depth as pdata does.

The question is answered in C, without a Python loop over spans: the request bytes are
parsed with a probe schema in which a nested array or map is a message with a required
field it can never have, so `IsInitialized()` is false exactly when such a value exists.
Fields the probe does not name are skipped by the parser as unknown fields.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from collector.protoschema import message_classes

# Field numbers as in opentelemetry/proto/{collector/trace,trace,resource,common}/v1.
_PROBE = message_classes("agentmortem.nesting_probe", "proto2", {  # required fields exist only in proto2
    "Request": (("resource_spans", 1, "repeated", "ResourceSpans"),),
    "ResourceSpans": (("resource", 1, "optional", "Resource"), ("scope_spans", 2, "repeated", "ScopeSpans")),
    "Resource": (("attributes", 1, "repeated", "KeyValue"),),
    "ScopeSpans": (("spans", 2, "repeated", "Span"),),  # scope attributes are not stored
    "Span": (
        ("attributes", 9, "repeated", "KeyValue"),
        ("events", 11, "repeated", "Event"),
        ("links", 13, "repeated", "Link"),
    ),
    "Event": (("attributes", 3, "repeated", "KeyValue"),),
    "Link": (("attributes", 4, "repeated", "KeyValue"),),
    "KeyValue": (("value", 2, "optional", "AnyValue"),),
    "AnyValue": (("array_value", 5, "optional", "ArrayValue"), ("kvlist_value", 6, "optional", "KeyValueList")),
    "ArrayValue": (("values", 1, "repeated", "InnerValue"),),
    "KeyValueList": (("values", 1, "repeated", "InnerKeyValue"),),
    "InnerKeyValue": (("value", 2, "optional", "InnerValue"),),
    "InnerValue": (("array_value", 5, "optional", "TooDeep"), ("kvlist_value", 6, "optional", "TooDeep")),
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
