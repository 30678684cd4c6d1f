"""Spans travel as a JSON payload: decoded, they equal what the driver's own rows give."""

from __future__ import annotations

import orjson
import pytest

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.engine.load import (
    _PAYLOAD_FORMAT,
    _PAYLOAD_SETTINGS,
    _decode_payload,
    _spans_sql,
    keyed_payload,
    keys_parameters,
    load_spans,
    spans_from_payload,
    spans_payload,
    to_span,
)
from agentmortem.demo.emit import FLAVOURS
from agentmortem.demo.scenarios import SCENARIOS
from agentmortem.platform.schema import TRACES_TABLE
from agentmortem.semconv.model import CANONICAL_COLUMNS
from tests.support.demo_traces import START_NS, store_scenario


def _key(span) -> tuple:
    return span.trace_id, span.span_id, span.start_ns


def test_payload_spans_equal_driver_rows_value_for_value_and_type_for_type(store):
    ids = [TraceKey("", store_scenario(store, s, f, START_NS + i * 10**12)["trace_id"])
           for i, (s, f) in enumerate((s, f) for s in SCENARIOS[:8] for f in FLAVOURS)]
    for for_analysis in (False, True):
        driver = sorted((to_span(r) for r in store.query(_spans_sql(TRACES_TABLE, for_analysis), keys_parameters(ids))),
                        key=_key)
        payload = sorted(load_spans(store, ids, for_analysis=for_analysis), key=_key)
        assert len(payload) == len(driver) > 50
        for got, want in zip(payload, driver):
            assert got._asdict() == want._asdict()
            assert [type(v) for v in got._asdict().values()] == [type(v) for v in want._asdict().values()]
    assert any(s.input_tokens for s in payload) and any(s.finish_reasons for s in payload)  # typed values made it


def test_no_traces_no_query_and_text_that_is_not_utf8_is_replaced(store):
    assert spans_payload(store, []) == b"" and spans_from_payload(b"") == []
    # Our payload settings and decoder (not a copy of them): bytes that are not UTF-8 become U+FFFD.
    raw = store.query_bytes("SELECT unhex('61ff62') AS s, unhex('61e28262') AS t, 'é€😀' AS u", None,
                            _PAYLOAD_FORMAT, _PAYLOAD_SETTINGS)
    assert _decode_payload(raw) == [["a\ufffdb"], ["a\ufffdb"], ["é€😀"]]  # a cut sequence: one U+FFFD


def test_a_keyed_payload_gives_the_spans_back_and_a_key_without_value_is_an_error(store):
    ids = [TraceKey("", store_scenario(store, s, "genai", START_NS + i * 10**12)["trace_id"])
           for i, s in enumerate(SCENARIOS[:4])]
    plain = spans_payload(store, ids, for_analysis=True)
    columns = orjson.loads(plain)
    col = CANONICAL_COLUMNS.index("tool_definitions")
    distinct = sorted(set(columns[col]))
    assert len(distinct) >= 2  # spans with and without offered tools
    columns[col] = [distinct.index(v) + 2**63 for v in columns[col]]  # keys are UInt64, any size
    values = orjson.dumps([["tool_definitions"] * len(distinct), [i + 2**63 for i in range(len(distinct))], distinct])
    keyed = keyed_payload(orjson.dumps(columns), values, ["tool_definitions"])
    assert [s._asdict() for s in spans_from_payload(keyed)] == [s._asdict() for s in spans_from_payload(plain)]
    partial = orjson.dumps([["tool_definitions"], [2**63], distinct[:1]])
    with pytest.raises(KeyError):
        spans_from_payload(keyed_payload(orjson.dumps(columns), partial, ["tool_definitions"]))
