"""The compiled query: column names, order and types; safe identifiers; raw WHERE fragments;
the typed fast path for JSON items reads every document it takes exactly as the raw walk does."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentmortem.platform.store import Store
from agentmortem.semconv.model import CANONICAL_COLUMNS, CanonicalSpan
from agentmortem.semconv.spec import Out, Shape
from agentmortem.semconv.sql import canonical_select, field_by_key_select, span_attributes_key
from agentmortem.semconv.sql.row import required_literal
from agentmortem.semconv.sql.typed import fast_shape_keys
from tests.support.canonical_spans import load
from tests.support.engine import engine_url
from tests.support.typed_json_path import FAST_SHAPES, assert_typed_path_exact, compare, shape_id

TYPES = {"start_ns": "Int64", "duration_ns": "Int64", "cost_usd": "Nullable(Float64)",
         "finish_reasons": "Array(String)",
         **{f"{n}_tokens": "Nullable(Int64)" for n in ("input", "output", "cached", "reasoning", "total")}}


def test_columns_and_types(store):
    rows = store.query(f"DESCRIBE ({canonical_select()})")
    assert tuple(r[0] for r in rows) == CANONICAL_COLUMNS
    assert {r[0]: r[1] for r in rows} == {name: TYPES.get(name, "String") for name in CANONICAL_COLUMNS}


@pytest.mark.parametrize("bad", ["otel_traces; DROP TABLE x", "a b", "`t`", "t--", ""])
def test_source_must_be_a_plain_identifier(bad):
    with pytest.raises(ValueError):
        canonical_select(bad)


def test_where_fragment_with_server_side_parameters(store, produce):
    load(store, produce("openai_v2"))
    trace_ids = [r[0] for r in store.query("SELECT DISTINCT TraceId FROM otel_traces ORDER BY TraceId LIMIT 2")]
    rows = store.query_dicts(canonical_select(where="TraceId IN {ids:Array(String)}"), {"ids": trace_ids})
    assert sorted({r["trace_id"] for r in rows}) == trace_ids
    qualified = store.query(f"SELECT count() FROM ({canonical_select(f'{store.database}.otel_traces')})")
    assert qualified == [(4,)]


def test_gathered_rows_are_the_same_rows_sorted(store, produce):
    load(store, produce("openai_v2"))
    load(store, produce("openinference_langchain"))
    ids = [r[0] for r in store.query("SELECT DISTINCT TraceId FROM otel_traces ORDER BY TraceId")]
    where = "TraceId IN {ids:Array(String)}"
    plain = store.query(canonical_select(where=where), {"ids": ids})
    gathered = store.query(canonical_select(where=where, gather_by="TraceId"), {"ids": ids})
    assert len(ids) >= 2 and len(gathered) > len(ids)
    assert sorted(gathered, key=repr) == sorted(plain, key=repr)
    assert [r[0] for r in gathered] == sorted(r[0] for r in gathered)  # trace ids in order


@pytest.mark.parametrize("bad", ["TraceId; DROP TABLE x", "a b", "`t`"])
def test_gather_column_must_be_a_plain_identifier(bad):
    with pytest.raises(ValueError):
        canonical_select(gather_by=bad)


# Every column a caller may leave unread: those with a default, but the category (other fields read it).
_UNREAD = [c for c in CanonicalSpan._field_defaults if c != "category"]


def test_columns_left_unread_are_their_defaults_typed_as_mapped_and_never_mapped(store, produce):
    load(store, produce("openai_v2"))
    load(store, produce("openinference_langchain"))
    read = [c for c in CANONICAL_COLUMNS if c not in _UNREAD]
    full, partial = canonical_select(), canonical_select(columns=read)
    assert store.query(f"DESCRIBE ({partial})") == store.query(f"DESCRIBE ({full})")
    order = "ORDER BY span_id"
    everything = store.query_dicts(f"SELECT * FROM ({full}) {order}")
    some = store.query_dicts(f"SELECT * FROM ({partial}) {order}")
    defaults = {c: list(v) if isinstance(v, tuple) else v for c, v in CanonicalSpan._field_defaults.items()}
    assert [{c: r[c] for c in read} for r in some] == [{c: r[c] for c in read} for r in everything]
    assert all(r[c] == defaults[c] for r in some for c in _UNREAD)
    mapped = {c for r in everything for c in _UNREAD if r[c] != defaults[c]}
    assert {"input_messages", "input_tokens", "finish_reasons", "convention"} <= mapped  # really left out
    assert "_a_input_messages" in full and "_a_input_messages" not in partial  # not even planned
    assert "category" in canonical_select(columns=["trace_id", "span_id", "parent_span_id", "span_name", "span_kind",
                                                   "service_name", "start_ns", "duration_ns", "status_code"])


@pytest.mark.parametrize("columns", [["span_id"], [*CANONICAL_COLUMNS, "no_such_column"]])
def test_columns_without_a_default_cannot_be_left_unread_nor_unknown_ones_asked_for(columns):
    with pytest.raises(ValueError):
        canonical_select(columns=columns)


@pytest.mark.parametrize(("pattern", "literal"), [
    (r"^(llm\.input_messages\.\d+\.message\.)", "llm.input_messages."),
    (r"contents\.\d+\.message_content\.text", "contents."),
    (r"^llm\.tools\.\d+\.tool\.json_schema$", "llm.tools."),
    (r"ab?c", "a"),  # the optional character is not required
    (r"a\.?c", "a"),
    (r"^(ab)?c", ""),  # an optional group: nothing is required
    (r"^(a|b)\.", ""),  # alternatives: not simply known
    (r"^\d+", ""),
])
def test_required_literal(pattern, literal):
    """The prefix every match must carry; the SQL skips spans without it, so too long a one loses items."""
    assert required_literal(pattern) == literal


# -- typed fast path ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Store:
    return Store(engine_url(tmp_path_factory))


@pytest.mark.parametrize("shape", FAST_SHAPES, ids=shape_id)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_typed_path_reads_every_document_it_takes_as_the_raw_walk_does(engine, shape, data):
    assert_typed_path_exact(engine, shape, data)


@pytest.mark.parametrize("shape", FAST_SHAPES, ids=shape_id)
def test_every_shape_s_plain_documents_take_the_typed_path(engine, shape):
    """The property test above compares only documents the guard lets through: each shape's plain
    items (every text key a non-empty string, a text part) must be among them, or it compares nothing."""
    text_keys, _ = fast_shape_keys(shape)
    item = {key: f"{key} of the item / é" for key in text_keys}  # (a value ending in \" would read as "")
    if any(p == ("parts",) for o in shape.outs for p in o.paths):
        item["parts"] = [{"type": "text", "content": "a part"}, {"type": "tool_call", "id": "c1"}]
    rows = compare(engine, shape, [json.dumps([item, {**item, "x": "more"}])])
    (_, unsafe, fast, slow), = rows
    assert not unsafe and fast == slow and len(fast) == 2
    assert any(text_keys[0] + " of the item" in obj for obj in fast)


def test_only_text_shapes_with_parts_last_take_the_typed_path():
    assert fast_shape_keys(Shape((Out("a", "str", (("x",), ("m", "y"))),))) == (["x"], ["m"])
    assert fast_shape_keys(Shape((Out("a", "num", (("x",),)),))) is None
    assert fast_shape_keys(Shape((Out("a", "content", (("parts",), ("x",))),))) is None  # parts must come last
    assert fast_shape_keys(Shape((Out("a", "str", (("parts",),)),))) is None


def test_the_typed_path_takes_genai_messages_and_leaves_what_it_cannot_read(engine):
    message = next(s for s in FAST_SHAPES if [o.name for o in s.outs] == ["role", "content"]
                   and any(p == ("parts",) for o in s.outs for p in o.paths))
    genai = json.dumps([
        {"role": "user", "parts": [{"type": "text", "content": "Plan a trip to \"Rome\" / Milan"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "w", "arguments": "{\"city\":1}"}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "{\"temp\": 20}"}]},
    ])
    odd = [json.dumps([{"role": None, "message": {"role": "user"}}]),  # null, nested path
           json.dumps([{"role": "", "parts": []}]),  # present but empty
           json.dumps([{"role": "user", "content": [{"type": "text", "text": "hi"}]}]),  # content as parts
           json.dumps([{"role": "user", "parts": ["plain text part"]}])]  # a string element
    rows = compare(engine, message, [genai, *odd])
    assert [unsafe for _, unsafe, _, _ in rows] == [False, True, True, True, True]
    assert all(fast == slow for _, unsafe, fast, slow in rows if not unsafe)
    assert json.loads("[" + ",".join(rows[0][2]) + "]")[0] == {"role": "user", "content": 'Plan a trip to "Rome" / Milan'}


# Producers whose model calls offer tools, in three conventions (OpenInference, OpenLLMetry, Logfire);
# the GenAI `gen_ai.tool.definitions` form is in the analyzer's scenarios (tests/analyzer/test_stage.py).
_WITH_TOOLS = ("openinference_langchain", "openllmetry_langchain", "pydantic_ai_agent")


def test_a_field_mapped_once_per_distinct_key_gives_each_span_its_own_value(store, produce):
    for module in _WITH_TOOLS:
        load(store, produce(module))
    rows = store.query(f"SELECT key, tool_definitions, convention FROM "
                       f"({canonical_select(extra={'key': span_attributes_key('tool_definitions')})})")
    by_key = store.query(field_by_key_select("tool_definitions", "otel_traces", "1"))
    values = dict(by_key)
    assert len(values) == len(by_key)  # one row per distinct key
    assert all(values[key] == value for key, value, _ in rows)
    offered = {(value, convention) for _, value, convention in rows if value}
    assert {convention for _, convention in offered} == {"openinference", "traceloop", "logfire"}
    assert len(values) < len(rows) / 2  # what the by-key mapping saves: spans share their keys


@pytest.mark.parametrize("name", ["input_messages", "status_code", "agent_name"])
def test_by_key_mapping_needs_a_field_read_from_span_attributes_only(name):
    with pytest.raises(ValueError, match="reads more|category"):
        span_attributes_key(name)


def test_by_key_select_needs_a_plain_source():
    with pytest.raises(ValueError):
        field_by_key_select("tool_definitions", "otel_traces; DROP TABLE x", "1")
