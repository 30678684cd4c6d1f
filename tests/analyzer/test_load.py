"""Spans travel as a JSON payload: decoded, they equal what the driver's own rows give."""

from __future__ import annotations

import orjson

from analyzer.demo_emit import FLAVOURS
from analyzer.demo_scenarios import SCENARIOS
from analyzer.load import (
    _PAYLOAD_FORMAT,
    _PAYLOAD_SETTINGS,
    _spans_sql,
    load_spans,
    spans_from_payload,
    spans_payload,
    to_span,
)
from collector.schema import TRACES_TABLE
from tests.analyzer.emit import START_NS, store_scenario


def _key(span) -> tuple:
    return span.trace_id, span.span_id, span.start_ns


def test_payload_spans_equal_driver_rows_value_for_value_and_type_for_type(store):
    ids = [store_scenario(store, s, f, START_NS + i * 10**12)["trace_id"]
           for i, (s, f) in enumerate((s, f) for s in SCENARIOS[:8] for f in FLAVOURS)]
    for for_analysis in (False, True):
        driver = sorted((to_span(r) for r in store.query(_spans_sql(TRACES_TABLE, for_analysis), {"ids": ids})),
                        key=_key)
        payload = sorted(load_spans(store, ids, for_analysis=for_analysis), key=_key)
        assert len(payload) == len(driver) > 50
        for got, want in zip(payload, driver):
            assert got.__dict__ == want.__dict__
            assert [type(v) for v in got.__dict__.values()] == [type(v) for v in want.__dict__.values()]
    assert any(s.input_tokens for s in payload) and any(s.finish_reasons for s in payload)  # typed values made it


def test_no_traces_no_query_and_text_that_is_not_utf8_is_replaced(store):
    assert spans_payload(store, []) == b"" and spans_from_payload(b"") == []
    # Our payload settings and decoder (not a copy of them): bytes that are not UTF-8 become U+FFFD.
    raw = store.query_bytes("SELECT unhex('61ff62') AS s", None, _PAYLOAD_FORMAT, _PAYLOAD_SETTINGS)
    assert orjson.loads(raw) == [["a\ufffdb"]]
