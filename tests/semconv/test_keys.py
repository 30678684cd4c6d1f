"""Attribute keys that several packages use are spelled once, in `semconv.keys`: the collector
stamps and reads them, the raw-table SQL filters on them, the mapping maps them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from agentmortem.semconv import keys as k

ROOT = Path(__file__).resolve().parents[2]
# The package's own code; the demo stands in for a user's instrumented agent, so it spells the keys
# an instrumentation would (the mapping must read them), never ours.
SOURCES = [p for folder in ("agentmortem", "collector", "analyzer", "semconv") for p in (ROOT / folder).rglob("*.py")
           if p != ROOT / "semconv" / "keys.py" and "demo" not in p.relative_to(ROOT).parts]


def _spellings(path: Path, key: str) -> list[int]:
    """Lines of `path` whose code (not docstrings) spells `key`, alone or as an SQL literal."""
    tree = ast.parse(path.read_text())
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docstrings and (n.value == key or f"'{key}'" in n.value)]


@pytest.mark.parametrize("key", [k.TENANT, k.RESOURCE_SERVICE_NAME])
def test_a_shared_key_is_spelled_only_in_semconv_keys(key):
    assert len(SOURCES) > 50
    assert {str(p.relative_to(ROOT)): lines for p in SOURCES if (lines := _spellings(p, key))} == {}
