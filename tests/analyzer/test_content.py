"""The fast JSON paths of `analyzer.core.facts.content` give exactly what the json module gives."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentmortem.analyzer.core.facts.content import json_or_none, prompt_key

# Texts where orjson and json differ (big integers, NaN, Infinity, overflow, lone surrogates)
# or where both refuse, next to ordinary ones.
TRICKY = [
    '[{"role":"user","content":"x"}]', '[{"content":"x","role":"user"}]', '[ {"content" : "x", "role" : "user"} ]',
    "[NaN]", "[null]", "[Infinity]", "[-Infinity]", "[1e400]", "[1e-400]", "[-0.0]", "[0.0]", "[-0]", "[0]",
    "[123456789012345678901234567890]", "[1.2345678901234568e+29]", "[18446744073709551615]", "[9223372036854775808]",
    '["12345678901234567890"]', '["\\u00312345678901234567890"]', '["\\ud800"]', '{"\\ud800":1}', '"\\uD83D\\uDE00"',
    '{"a":1,"a":2}', '{"a":2}', '{"a":"é"}', '{"a":"\\u00e9"}', "[1]", "[1.0]", "[true]", "null", "nope", "",
    "[1,]", "\ufeff[1]", '"a\x00b"',
]


def _stdlib_json_or_none(text: str):
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _json_key(text: str):
    value = _stdlib_json_or_none(text)
    return ("text", text) if value is None else ("json", json.dumps(value, sort_keys=True, separators=(",", ":")))


def _same(a, b) -> bool:  # equal, types included, NaN equal to NaN
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("text", TRICKY)
def test_json_or_none_decodes_like_json(text):
    assert _same(json_or_none(text), _stdlib_json_or_none(text))


def test_prompt_keys_are_equal_exactly_when_the_json_keys_are():
    for a in TRICKY:
        for b in TRICKY:
            assert (prompt_key(a) == prompt_key(b)) == (_json_key(a) == _json_key(b)), (a, b)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_json_or_none_matches_json_on_generated_values(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert _same(json_or_none(text), json.loads(text))


@settings(max_examples=200, deadline=None)
@given(json_values, json_values)
def test_prompt_key_equality_matches_json_on_generated_values(a, b):
    ta, tb = json.dumps(a), json.dumps(b, ensure_ascii=False)
    assert (prompt_key(ta) == prompt_key(tb)) == (_json_key(ta) == _json_key(tb))
