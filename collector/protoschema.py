"""Small protobuf schemas built at import time, to read OTLP bytes in other shapes.

`collector.nesting` and `collector.salvage` parse request bytes with schemas that differ
from OTLP on purpose (parts kept as raw bytes, a required field that marks deep nesting).
There is no protoc at run time, so such schemas are written as tables and turned into
message classes here, each in a pool of its own.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

_F = descriptor_pb2.FieldDescriptorProto
_LABELS = {"optional": _F.LABEL_OPTIONAL, "repeated": _F.LABEL_REPEATED, "required": _F.LABEL_REQUIRED}
_SCALARS = {"bytes": _F.TYPE_BYTES, "bool": _F.TYPE_BOOL}

Field = tuple[str, int, str, str]
"""(name, number, label, type): label is optional, repeated or required; type is bytes, bool or
the name of another message of the same table."""


def message_classes(package: str, syntax: str, messages: dict[str, tuple[Field, ...]]) -> dict[str, type[Message]]:
    """The message classes of a schema given as a table of message name → fields."""
    file = descriptor_pb2.FileDescriptorProto(name=f"{package}.proto", package=package, syntax=syntax)
    for name, fields in messages.items():
        message = file.message_type.add(name=name)
        for field, number, label, kind in fields:
            spec = message.field.add(name=field, number=number, label=_LABELS[label])
            if kind in _SCALARS:
                spec.type = _SCALARS[kind]
            else:
                spec.type, spec.type_name = _F.TYPE_MESSAGE, f".{package}.{kind}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}")) for name in messages
    }


def varint(value: int) -> bytes:
    """A protobuf base-128 varint."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(number: int, payload: bytes) -> bytes:
    """Field `number` holding `payload` (bytes, string or message) in protobuf wire format."""
    return varint((number << 3) | 2) + varint(len(payload)) + payload
