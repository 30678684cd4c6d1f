"""The two insert paths write identical rows: native (ClickHouse decodes the protobuf) and converted.

`collector.convert.request_to_batch` + `json_columns` render values as pdata's `AsString()`
does; the SQL in `collector.native` must agree on every value type, including the awkward ones:
control characters, HTML characters, non-ASCII, extreme doubles, bytes, arrays, maps, duplicate
keys (the last value wins) — and both must drop the same spans (`collector.rules`: ids, times
past what DateTime64(9) holds). Values nested deeper than the native structure goes are sent
through the converted path by the writer; `renders_natively` must say so exactly.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.collector.convert import check_spans, json_columns, request_to_batch
from agentmortem.collector.migrations import migrate_collector
from agentmortem.collector.native import envelope, insert_native
from agentmortem.collector.nesting import renders_natively
from agentmortem.collector.rules import MAX_TIMESTAMP_NS
from agentmortem.platform.schema import INSERT_COLUMNS
from agentmortem.platform.store import Store
from tests.support.engine import engine_url
from tests.support.sdk_spans import READBACK_SQL

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.tuples(st.just("string_value"), text),
    st.tuples(st.just("int_value"), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just("bool_value"), st.booleans()),
    st.tuples(st.just("double_value"), st.floats(allow_nan=True, allow_infinity=True)),
    st.tuples(st.just("bytes_value"), st.binary(max_size=8)),
)
# A few fixed keys make duplicates (which pdata keeps and the exporter's maps resolve) common.
keys = st.one_of(st.sampled_from(["k", "service.name", "agentmortem.tenant"]), st.text(min_size=1, max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.tuples(st.just("array_value"), st.lists(inner, max_size=3)),
        st.tuples(st.just("kvlist_value"), st.lists(st.tuples(keys, inner), max_size=3)),
    ),
    max_leaves=6,
)
attributes = st.lists(st.tuples(keys, values), max_size=6)
# Times past DateTime64(9) (2^63 ns and up) must be rejected by both paths alike.
times = st.one_of(st.integers(0, 2**62), st.sampled_from([MAX_TIMESTAMP_NS, 2**63, 2**64 - 2, 2**64 - 1]))


def _set(any_value, value) -> None:
    kind, payload = value
    if kind == "array_value":
        any_value.array_value.SetInParent()
        for item in payload:
            _set(any_value.array_value.values.add(), item)
    elif kind == "kvlist_value":
        any_value.kvlist_value.SetInParent()
        _fill(any_value.kvlist_value.values, payload)
    else:
        setattr(any_value, kind, payload)


def _fill(repeated, attrs) -> None:
    for key, value in attrs:
        kv = repeated.add()
        kv.key = key
        _set(kv.value, value)


def _depth(value) -> int:
    kind, payload = value
    if kind == "array_value":
        return 1 + max((_depth(item) for item in payload), default=0)
    if kind == "kvlist_value":
        return 1 + max((_depth(item) for _, item in payload), default=0)
    return 0


@st.composite
def requests(draw) -> tuple[ExportTraceServiceRequest, int]:
    """A request, and how deep its deepest attribute value nests."""
    request, depth = ExportTraceServiceRequest(), 0

    def attrs() -> list:
        nonlocal depth
        drawn = draw(attributes)
        depth = max([depth] + [_depth(value) for _, value in drawn])
        return drawn

    for _ in range(draw(st.integers(1, 2))):
        rs = request.resource_spans.add()
        _fill(rs.resource.attributes, attrs())
        for _ in range(draw(st.integers(0, 2))):  # duplicates: pdata's Get (ServiceName) takes the first
            kv = rs.resource.attributes.add()
            kv.key, kv.value.string_value = "service.name", draw(text)
        ss = rs.scope_spans.add()
        ss.scope.name, ss.scope.version = draw(text), draw(text)
        for _ in range(draw(st.integers(1, 3))):
            span = ss.spans.add()
            span.trace_id = uuid.uuid4().bytes
            span.span_id = draw(st.sampled_from([uuid.uuid4().bytes[:8], b"\x01\x02", b""]))
            span.parent_span_id = draw(st.sampled_from([b"", uuid.uuid4().bytes[:8]]))
            span.name = draw(text)
            span.trace_state = draw(text)
            span.kind = draw(st.integers(0, 5))
            span.start_time_unix_nano = draw(times)
            span.end_time_unix_nano = draw(times)
            _fill(span.attributes, attrs())
            for _ in range(draw(st.integers(0, 2))):
                event = span.events.add()
                event.time_unix_nano = draw(times)
                event.name = draw(text)
                _fill(event.attributes, attrs())
            if draw(st.booleans()):
                link = span.links.add()
                link.trace_id, link.span_id = uuid.uuid4().bytes, uuid.uuid4().bytes[:8]
                _fill(link.attributes, attrs())
            span.status.code = draw(st.integers(0, 2))
            span.status.message = draw(text)
    return request, depth


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    url = engine_url(tmp_path_factory)
    pair = []
    for name in ("ref_" + uuid.uuid4().hex[:8], "nat_" + uuid.uuid4().hex[:8]):
        s = Store(url, database=name)
        migrate_collector(s)
        pair.append(s)
    yield pair
    for s in pair:
        s.command(f"DROP DATABASE {s.database}")


def _pairs(column: str) -> str:
    return f"arraySort(CAST({column}, 'Array(Tuple(String, String))'))"


# Maps as sorted (key, value) pairs: a driver's dict would hide duplicate keys, which
# `Map['key']` in SQL (the analyzer's queries) resolves to the first one stored.
MAP_READBACK_SQL = (
    f"SELECT SpanId, {_pairs('ResourceAttributes')}, {_pairs('SpanAttributes')}, "
    f"arrayMap(m -> {_pairs('m')}, Events.Attributes), arrayMap(m -> {_pairs('m')}, Links.Attributes) FROM otel_traces"
)


def _rows(store: Store) -> list[tuple]:
    return sorted(store.query(READBACK_SQL), key=lambda r: (r[2], r[1]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=requests(), tenant=st.sampled_from([None, "acme"]))
def test_native_rows_equal_reference_rows(stores, drawn, tenant):
    request, depth = drawn
    reference, native = stores
    for s in stores:
        s.command("TRUNCATE TABLE otel_traces")
    batch = request_to_batch(request, tenant)
    if batch.count:
        reference.insert_formatted("otel_traces", INSERT_COLUMNS, json_columns(batch), "JSONColumns")
    check = check_spans(request)
    assert (check.accepted, check.rejected) == (batch.count, batch.check.rejected)
    raw = request.SerializeToString()
    assert renders_natively(raw) == (depth <= 1)
    if depth > 1:
        return  # the writer converts these; the native SQL would store deeper levels as null
    insert_native(native, envelope(raw, tenant))
    assert _rows(native) == _rows(reference)
    assert sorted(native.query(MAP_READBACK_SQL)) == sorted(reference.query(MAP_READBACK_SQL))


def test_a_smuggled_tenant_field_never_chooses_the_tenant(stores):
    _, native = stores
    native.command("TRUNCATE TABLE otel_traces")
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = uuid.uuid4().bytes, uuid.uuid4().bytes[:8], "s"
    smuggled = request.SerializeToString() + b"\x7a\x04evil"  # field 15, "evil"
    insert_native(native, envelope(smuggled, None))
    tenants = native.query("SELECT ResourceAttributes['agentmortem.tenant'] FROM otel_traces")
    assert tenants == [("",)]  # ClickHouse reads a repeated singular field as empty, never as "evil"
