"""The mapping table compiled to ClickHouse SQL over a raw `otel_traces` table.

First-present-source-wins becomes `multiIf`, JSON shapes become JSON functions and lambdas, all
evaluated column-wise inside ClickHouse. By concern:
`text` (SQL literals and JSON-text primitives) · `row` (what is read of a raw row: columns,
attribute maps, key prefilters, the raw tenant) · `scalars` (scalar sources, text fields, the
classification) · `shapes` (one item into one canonical object) · `typed` (the typed fast path for
text-only message arrays) · `items` (JSON-valued fields from their item sources) · `select` (the
canonical SELECT) · `bykey` (a field mapped once per distinct input).

The Python twin of every rule is the reference interpreter `tests/semconv/reference.py`; the
tests hold both to the same answers.
"""

from agentmortem.semconv.sql.bykey import field_by_key_select, span_attributes_key
from agentmortem.semconv.sql.row import RAW_TENANT
from agentmortem.semconv.sql.select import canonical_select
from agentmortem.semconv.sql.text import lit

__all__ = ["RAW_TENANT", "canonical_select", "field_by_key_select", "lit", "span_attributes_key"]
