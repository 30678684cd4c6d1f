"""Tool-argument validation: jsonschema-rs answers "valid?" and jsonschema says why, so the two must
agree; schemas are never fetched from the network."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema.validators import validator_for

from agentmortem.analyzer.core.rules.tools import argument_problem

SCHEMAS = [
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
     "additionalProperties": False},
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}, "unit": {"enum": ["c", "f"]}}},
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
     "properties": {"tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}, "maxItems": 2}}},
    {"type": "object", "properties": {"at": {"$ref": "#/$defs/when"}}, "$defs": {"when": {"type": "string",
                                                                                        "format": "date"}}},
    {"type": "object", "properties": {"x": {"anyOf": [{"type": "number"}, {"type": "null"}]}},
     "patternProperties": {"^y": {"type": "boolean"}}},
]
_KEYS = st.sampled_from(["city", "n", "unit", "tags", "at", "x", "y1", "other"])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(-5, 5, allow_nan=False) | st.sampled_from(
        ["", "c", "f", "abc", "ABC", "2024-01-01", "not a date", "Paris"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3), max_leaves=8)


def _jsonschema_alone(value: object, schema: dict) -> str:
    schema = json.loads(json.dumps(schema, sort_keys=True))  # the keyword order `argument_problem` sees
    error = next(iter(validator_for(schema)(schema).iter_errors(value)), None)
    if error is None:
        return ""
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


@settings(max_examples=300, deadline=None)
@given(schema=st.sampled_from(SCHEMAS), value=st.dictionaries(_KEYS, _VALUES, max_size=4))
def test_the_fast_check_and_jsonschema_give_the_same_problem(schema, value):
    assert argument_problem(json.dumps(value), schema) == _jsonschema_alone(value, schema)


def test_known_problems_are_reported_in_jsonschema_words():
    assert argument_problem('{"town": "Paris"}', SCHEMAS[0]) == "Additional properties are not allowed ('town' was unexpected)"
    assert argument_problem('{}', SCHEMAS[0]) == "'city' is a required property"
    assert argument_problem('{"n": 0}', SCHEMAS[1]) == "n: 0 is less than the minimum of 1"
    assert argument_problem('{"n": 2.0, "unit": "c"}', SCHEMAS[1]) == ""  # 2.0 is an integer in JSON Schema
    assert argument_problem('{"at": "not a date"}', SCHEMAS[3]) == ""  # formats are annotations, as in jsonschema
    assert argument_problem('{"city": "Paris"', SCHEMAS[0]) == "arguments are not valid JSON"


@pytest.mark.timeout(20)
def test_a_schema_pointing_elsewhere_is_not_fetched_nor_fatal():
    schema = {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/never-fetched.json"}}}
    assert argument_problem('{"a": 1}', schema) == ""  # not judged (it used to stop the whole batch)
    assert argument_problem('{"b": 1}', {**schema, "required": ["a"]}) == "'a' is a required property"
