"""Native ingest: ClickHouse decodes the OTLP protobuf and flattens it into `otel_traces` itself.

The request bytes, with the tenant appended as field 15 (`otlp_native.proto`'s
`Envelope`), are length-delimited into one `Protobuf`-format block per group commit;
one `INSERT … SELECT … ARRAY JOIN` turns them into rows, stringifying attribute values
exactly as pdata's `AsString()` does (the Python reference is `collector.convert`; the
tests hold the two equal). No Python runs per span and the GIL stays free while
ClickHouse works, but ClickHouse analyzes this large query again for every insert, a fixed
cost that only large groups repay, so the writer uses it only for those (see
`collector.writer`; figures in docs/benchmarks.md).

All SQL here is built from code constants; the only runtime values (tenant, file path,
schema text) travel as server-side parameters or inside the data block.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from agentmortem.collector.protoschema import varint
from agentmortem.collector.rules import sql_filter
from agentmortem.collector.rules import tuple_element as _el
from agentmortem.platform.schema import INSERT_COLUMNS, SPAN_KINDS, STATUS_CODES, TRACES_TABLE
from agentmortem.platform.store import Store
from agentmortem.semconv.keys import RESOURCE_SERVICE_NAME, TENANT
from agentmortem.semconv.sql import lit

SCHEMA_FILE = Path(__file__).parent / "otlp_native.proto"
SCHEMA_TEXT = SCHEMA_FILE.read_text()
TENANT_FIELD_TAG = (15 << 3) | 2  # field 15, length-delimited


def envelope(request_bytes: bytes, tenant: str | None) -> bytes:
    """Request bytes + the tenant field, length-prefixed for the `Protobuf` format.

    The field is appended even when empty: the last occurrence of a field wins, so a
    client that smuggled its own field 15 into the request can never choose a tenant.
    """
    raw = (tenant or "").encode()
    request_bytes = request_bytes + varint(TENANT_FIELD_TAG) + varint(len(raw)) + raw
    return varint(len(request_bytes)) + request_bytes


# -- the input structure --------------------------------------------------------------

_PRESENCE = (
    "Enum8('none' = 0, 'string_value' = 1, 'bool_value' = 2, 'int_value' = 3, 'double_value' = 4, "
    "'array_value' = 5, 'kvlist_value' = 6, 'bytes_value' = 7)"
)
_SCALAR = (
    "Tuple(string_value String, bool_value Bool, int_value Int64, double_value Float64, "
    f"bytes_value String, value {_PRESENCE})"
)
_ANY = (
    "Tuple(string_value String, bool_value Bool, int_value Int64, double_value Float64, "
    f"array_value Tuple(values Array({_SCALAR})), "
    f"kvlist_value Tuple(values Array(Tuple(key String, value {_SCALAR}))), "
    f"bytes_value String, value {_PRESENCE})"
)
_KVS = f"Array(Tuple(key String, value {_ANY}))"
STRUCTURE = (
    f"resource_spans Array(Tuple(resource Tuple(attributes {_KVS}), "
    "scope_spans Array(Tuple(scope Tuple(name String, version String), spans Array(Tuple("
    "trace_id String, span_id String, trace_state String, parent_span_id String, name String, kind Int32, "
    f"start_time_unix_nano UInt64, end_time_unix_nano UInt64, attributes {_KVS}, "
    f"events Array(Tuple(time_unix_nano UInt64, name String, attributes {_KVS})), "
    f"links Array(Tuple(trace_id String, span_id String, trace_state String, attributes {_KVS})), "
    "status Tuple(message String, code Int32))))))), tenant String"
)


# -- value rendering, as pdata's AsString() -------------------------------------------

# Go's encoding/json: HTML-safe escapes, lower-case hex in \u00XX.
_GO_FIXES = [("<", r"\\u003c"), (">", r"\\u003e"), ("&", r"\\u0026"), ("\u2028", r"\\u2028"), ("\u2029", r"\\u2029")]
_GO_FIXES += [
    (f"\\\\u00{c:02X}", f"\\\\u00{c:02x}")
    for c in range(0x0B, 0x20)
    if f"{c:02X}" != f"{c:02x}" and c not in (0x0C, 0x0D)  # \f and \r get short escapes
]


def _json_string(expr: str) -> str:
    out = f"toJSONString({expr})"
    for old, new in _GO_FIXES:
        out = f"replaceAll({out}, '{old}', '{new}')"
    return out


def _go_float(expr: str) -> str:
    return (
        f"multiIf(isNaN({expr}), 'json: unsupported value: NaN', isInfinite({expr}), "
        f"if({expr} > 0, 'json: unsupported value: +Inf', 'json: unsupported value: -Inf'), "
        f"replaceRegexpOne(toString({expr}), 'e([0-9])', 'e+\\\\1'))"
    )


def _scalar_json(v: str) -> str:
    kind = _el(v, "value")
    return (
        f"multiIf({kind} = 'string_value', {_json_string(_el(v, 'string_value'))}, "
        f"{kind} = 'int_value', toString({_el(v, 'int_value')}), "
        f"{kind} = 'bool_value', if({_el(v, 'bool_value')}, 'true', 'false'), "
        f"{kind} = 'double_value', {_go_float(_el(v, 'double_value'))}, "
        f"{kind} = 'bytes_value', concat('\"', base64Encode({_el(v, 'bytes_value')}), '\"'), 'null')"
    )


def _value_str(v: str) -> str:
    kind = _el(v, "value")
    array = _el(_el(v, "array_value"), "values")
    kvlist = _el(_el(v, "kvlist_value"), "values")
    return (
        f"multiIf({kind} = 'string_value', {_el(v, 'string_value')}, "
        f"{kind} = 'int_value', toString({_el(v, 'int_value')}), "
        f"{kind} = 'bool_value', if({_el(v, 'bool_value')}, 'true', 'false'), "
        f"{kind} = 'double_value', {_go_float(_el(v, 'double_value'))}, "
        f"{kind} = 'bytes_value', base64Encode({_el(v, 'bytes_value')}), "
        f"{kind} = 'array_value', concat('[', arrayStringConcat(arrayMap(x -> {_scalar_json('x')}, {array}), ','), ']'), "
        f"{kind} = 'kvlist_value', concat('{{', arrayStringConcat(arrayMap(p -> concat("
        f"{_json_string(_el('p', 'key'))}, ':', {_scalar_json(_el('p', 'value'))}), "
        f"arraySort(p -> {_el('p', 'key')}, {_last_of_each(kvlist, _el('p', 'key'), 'p')})), ','), '}}'), '')"
    )


def _last_of_each(array: str, key: str, var: str) -> str:
    """`array` without duplicate keys, keeping the last element of each (`key` is an expression of
    the lambda variable `var`): pdata keeps duplicate keys, and the exporter's Go maps keep the last
    value. Sorting makes it O(n log n); arrays without duplicates keep their order."""
    ordered = f"arraySort(({var}, i) -> ({key}, -i), {array}, arrayEnumerate({array}))"
    keys = f"arrayMap({var} -> {key}, {ordered})"
    before = f"arrayPopBack(arrayPushFront({keys}, arrayElement({keys}, 1)))"
    deduplicated = (
        f"arrayFilter(({var}, i, before) -> i = 1 OR {key} != before, {ordered}, arrayEnumerate({ordered}), {before})"
    )
    return f"if(length(arrayDistinct(arrayMap({var} -> {key}, {array}))) = length({array}), {array}, {deduplicated})"


# Every attribute list of a span row (resource, span, each event, each link) is tagged
# (list kind, position) and concatenated, so the value renderer appears once in the SQL:
# ClickHouse's analysis time grows with expression size, and it is paid on every insert.
_RESOURCE, _SPAN, _EVENT, _LINK = 0, 1, 2, 3


def _tagged(kvs: str, tag: int, index: str = "0") -> str:
    return f"arrayMap(kv -> tuple(toUInt8({tag}), toUInt32({index}), kv), {kvs})"


def _all_attributes(res: str, span: str) -> str:
    events, links = _el(span, "events"), _el(span, "links")
    nested = [
        f"arrayFlatten(arrayMap((e, i) -> {_tagged(_el('e', 'attributes'), _EVENT, 'i')}, {events}, arrayEnumerate({events})))",
        f"arrayFlatten(arrayMap((l, i) -> {_tagged(_el('l', 'attributes'), _LINK, 'i')}, {links}, arrayEnumerate({links})))",
    ]
    parts = [_tagged(_el(_el(res, "resource"), "attributes"), _RESOURCE), _tagged(_el(span, "attributes"), _SPAN)]
    return f"arrayConcat({', '.join(parts + nested)})"


def _rendered_attributes() -> str:
    """`tagged` (every attribute of the row) without duplicate keys, values rendered as strings."""
    kept = _last_of_each("tagged", f"(t.1, t.2, {_el('t.3', 'key')})", "t")
    return f"arrayMap(t -> tuple(t.1, t.2, {_el('t.3', 'key')}, {_value_str(_el('t.3', 'value'))}), {kept})"


def _map_of(tag: int, index: str = "0") -> str:
    pick = f"arrayFilter(x -> x.1 = {tag} AND x.2 = {index}, kvs)"
    return f"CAST(mapFromArrays(arrayMap(x -> x.3, {pick}), arrayMap(x -> x.4, {pick})), 'Map(String, String)')"


def _hex(expr: str) -> str:
    return f"lower(hex({expr}))"


def _nanos(expr: str) -> str:
    return f"fromUnixTimestamp64Nano(toInt64({expr}))"


_RES_ATTRS = _el(_el("rs", "resource"), "attributes")


def _resource_map() -> str:
    return (
        f"mapUpdate(mapFilter((k, v) -> k != '{TENANT}', {_map_of(_RESOURCE)}), "
        f"if(tenant != '', map('{TENANT}', tenant), map()))"
    )


def _service_name() -> str:
    first = f"arrayFirst(kv -> {_el('kv', 'key')} = '{RESOURCE_SERVICE_NAME}', {_RES_ATTRS})"
    value = _el(first, "value")
    return f"if({_el(value, 'value')} = 'string_value', {_el(value, 'string_value')}, '')"


def _select() -> str:
    sp = "sp"
    kinds = "[" + ", ".join(f"'{k}'" for k in SPAN_KINDS) + "]"
    statuses = "[" + ", ".join(f"'{s}'" for s in STATUS_CODES) + "]"
    kind, code = _el(sp, "kind"), _el(_el(sp, "status"), "code")
    start, end = _el(sp, "start_time_unix_nano"), _el(sp, "end_time_unix_nano")
    events, links = _el(sp, "events"), _el(sp, "links")
    exprs = {
        "Timestamp": _nanos(start),
        "TraceId": _hex(_el(sp, "trace_id")),
        "SpanId": _hex(_el(sp, "span_id")),
        "ParentSpanId": _hex(_el(sp, "parent_span_id")),
        "TraceState": _el(sp, "trace_state"),
        "SpanName": _el(sp, "name"),
        "SpanKind": f"if({kind} BETWEEN 0 AND {len(SPAN_KINDS) - 1}, arrayElement({kinds}, {kind} + 1), 'Unspecified')",
        "ServiceName": _service_name(),
        "ResourceAttributes": _resource_map(),
        "ScopeName": _el(_el("ss", "scope"), "name"),
        "ScopeVersion": _el(_el("ss", "scope"), "version"),
        "SpanAttributes": _map_of(_SPAN),
        "Duration": f"if({end} > {start}, {end} - {start}, 0)",
        "StatusCode": f"if({code} BETWEEN 0 AND {len(STATUS_CODES) - 1}, arrayElement({statuses}, {code} + 1), 'Unset')",
        "StatusMessage": _el(_el(sp, "status"), "message"),
        "Events.Timestamp": f"arrayMap(e -> {_nanos(_el('e', 'time_unix_nano'))}, {events})",
        "Events.Name": f"arrayMap(e -> {_el('e', 'name')}, {events})",
        "Events.Attributes": f"arrayMap(i -> {_map_of(_EVENT, 'i')}, arrayEnumerate({events}))",
        "Links.TraceId": f"arrayMap(l -> {_hex(_el('l', 'trace_id'))}, {links})",
        "Links.SpanId": f"arrayMap(l -> {_hex(_el('l', 'span_id'))}, {links})",
        "Links.TraceState": f"arrayMap(l -> {_el('l', 'trace_state')}, {links})",
        "Links.Attributes": f"arrayMap(i -> {_map_of(_LINK, 'i')}, arrayEnumerate({links}))",
    }
    assert tuple(exprs) == INSERT_COLUMNS
    valid = sql_filter(sp)  # the same rules `collector.convert` checks in Python
    columns = ", ".join(f"`{c}`" for c in INSERT_COLUMNS)
    body = ",\n    ".join(f"{expr} AS `{name}`" for name, expr in exprs.items())
    # max_block_size = 1: ClickHouse reads one envelope (one request) per block, so an
    # insert's working memory follows its largest request rather than its whole group.
    return (
        f"INSERT INTO {TRACES_TABLE} ({columns})\nSELECT\n    {body}\nFROM (\n"
        f"  SELECT rs, ss, sp, tenant, {_all_attributes('rs', 'sp')} AS tagged, {_rendered_attributes()} AS kvs\n"
        "  FROM {source}\n"
        "  ARRAY JOIN resource_spans AS rs\n"
        f"  ARRAY JOIN {_el('rs', 'scope_spans')} AS ss\n"
        f"  ARRAY JOIN {_el('ss', 'spans')} AS sp\n"
        f"  WHERE {valid}\n)\n"
        "SETTINGS {schema_settings}, input_format_protobuf_oneof_presence = 1, max_block_size = 1, "
        "output_format_json_escape_forward_slashes = 0"
    )


_INSERT_TEMPLATE = _select()
# Embedded: ClickHouse reads the schema file shipped with this package (and caches it).
# Server: it cannot see our files, so the schema text travels as a parameter.
INSERT_FROM_FILE = _INSERT_TEMPLATE.replace(
    "{source}", f"file({{path:String}}, 'Protobuf', {lit(STRUCTURE)})"
).replace("{schema_settings}", "format_schema = {schema:String}")
INSERT_FROM_BODY = (
    _INSERT_TEMPLATE.replace("{source}", f"input({lit(STRUCTURE)})").replace(
        "{schema_settings}",
        "format_schema = {schema:String}, format_schema_source = 'string', format_schema_message_name = 'Envelope'",
    )
    + " FORMAT Protobuf"
)


def spool_dir(store: Store) -> str:
    """Where embedded inserts stage their data: inside the data directory, so a killed
    process leaves nothing in /tmp, and `clear_spool` removes leftovers at start-up."""
    path = os.path.join(store.location.path or ".", "spool")
    os.makedirs(path, exist_ok=True)
    return path


def clear_spool(store: Store) -> None:
    """Delete staged files a previous (killed) process left behind; their requests were never acknowledged."""
    if store.location.embedded:
        folder = spool_dir(store)
        for name in os.listdir(folder):
            if name.startswith("ingest-"):
                os.unlink(os.path.join(folder, name))


def insert_native(store: Store, envelopes: bytes) -> None:
    """Write concatenated envelopes: from a temporary file on the embedded engine, as the body on a server."""
    if store.location.embedded:
        params = {"schema": f"{SCHEMA_FILE}:Envelope"}
        fd, path = tempfile.mkstemp(prefix="ingest-", suffix=".otlp", dir=spool_dir(store))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(envelopes)
            store.command(INSERT_FROM_FILE, {**params, "path": path})
        finally:
            os.unlink(path)
    else:
        store.command_with_data(INSERT_FROM_BODY, {"schema": SCHEMA_TEXT}, envelopes)
