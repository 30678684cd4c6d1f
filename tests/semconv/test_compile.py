"""The compiled query: column names, order and types; safe identifiers; raw WHERE fragments."""

from __future__ import annotations

import pytest

from semconv.compile import _required_literal, canonical_select
from semconv.model import CANONICAL_COLUMNS
from tests.semconv.conftest import load

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
    assert _required_literal(pattern) == literal
