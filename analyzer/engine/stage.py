"""Round staging: a big round's canonical spans, mapped once into a scratch table.

A batch's load filters the raw table by trace id (and tenant), and the raw table is ordered by service,
span name and time (the exporter's schema), so the spans of any batch lie in nearly every
granule: each load decompresses the whole table and plans the large mapping query again, so
a load costs about the same whatever the batch size (a small batch costs what a big one does).
A round of several batches instead maps all its traces with one `INSERT … SELECT` into a
scratch MergeTree ordered by trace id (one read of the raw table, the mapping spread over the
engine's threads, no sort of the raw rows), on a thread of its own. A batch is a range of the
sorted trace ids, so it reads a few granules of the stage with a trivial query. A trace is a
(tenant, trace id): the stage is ordered by both and a batch names its traces by both. Rows are
the same as `load.spans_payload` gives. Fields that repeat verbatim over many spans
(`BY_KEY`: tool definitions) are mapped once per distinct input into a `_values` table;
staged rows and batches carry their keys (`load.keyed_payload`).

The tables (`agent_round_stage_<i>_of_<n>_<created>_<random>`, its `_ids` and `_values`) belong to one
round: created at its start, dropped at its end. Names are unique, so analyzers that share a
shard (two `serve` replicas on one server) never touch each other's stage; a stage left by a
process that died is dropped by the next staged round of its shard once it is
`STALE_STAGE_SECONDS` old (its creation time is in its name: servers do not all keep table
creation times).
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType

from agentmortem.analyzer.core.model import TraceKey
from agentmortem.analyzer.engine.config import Shard
from agentmortem.analyzer.engine.load import (
    analysis_select,
    key_column,
    keyed_payload,
    logs_where,
    query_payload,
    traces_where,
)
from agentmortem.platform.schema import LOGS_TABLE, TRACES_TABLE
from agentmortem.platform.store import Store
from agentmortem.semconv.model import CANONICAL_COLUMNS
from agentmortem.semconv.sql import RAW_TENANT, field_by_key_select, lit

log = logging.getLogger(__name__)

STALE_STAGE_SECONDS = 6 * 3600  # far beyond any round (a round takes at most a few minutes), and clock skew
# Fields mapped once per distinct input (`semconv.sql.field_by_key_select`) into the stage's
# `_values` table; the stage rows hold their keys. Tool definitions repeat on every model call of an
# agent: they can be a large share of a round's canonical spans, from a handful of distinct inputs.
BY_KEY = ("tool_definitions",)


def stage_prefix(shard: Shard) -> str:
    """What the names of this shard's stage tables start with."""
    return f"agent_round_stage_{shard.index}_of_{shard.count}_"


def drop_stale_stages(store: Store, prefix: str, now_s: float | None = None) -> list[str]:
    """Drop the stage tables named `prefix…` created over `STALE_STAGE_SECONDS` ago; their names."""
    now_s = time.time() if now_s is None else now_s
    name = re.compile(re.escape(prefix) + r"(\d+)_[0-9a-f]+(?:_ids|_values)?")
    rows = store.query("SELECT name FROM system.tables WHERE database = currentDatabase() AND startsWith(name, {p:String})",
                       {"p": prefix})
    stale = [r[0] for r in rows if (m := name.fullmatch(r[0])) and now_s - int(m.group(1)) > STALE_STAGE_SECONDS]
    for table in stale:
        store.command(f"DROP TABLE IF EXISTS {table}")
    return stale


def create_canonical_table(store: Store, table: str, source: str = TRACES_TABLE, by_key: Sequence[str] = ()) -> None:
    """An empty MergeTree `table` ordered by tenant and trace id, with the columns (and types) the
    analysis' canonical SELECT over `source` gives (with `by_key` fields as keys: `load.analysis_select`)."""
    select = analysis_select(source, "0", by_key=by_key)
    store.command(f"CREATE TABLE {table} ENGINE = MergeTree ORDER BY (tenant, trace_id) EMPTY AS {select}")


def staged_batches(traces: Sequence[TraceKey], batch_traces: int, parallel: int = 1,
                   spans: Mapping[TraceKey, int] | None = None, batch_spans: int = 0) -> list[list[TraceKey]]:
    """Traces sorted and cut into batches of at most `batch_traces` traces (and, given each trace's
    `spans`, of about `batch_spans` spans), each a range of the stage.

    Sizes differ by one at most where traces are alike, and several batches come in a multiple
    of `parallel` (the worker processes) where there are enough traces: the last wave then keeps
    every worker busy, instead of one worker analyzing a last batch alone while the other cores
    idle at the end of the round. With `spans`, a trace weighs the larger of its share of
    `batch_traces` and of `batch_spans` (so a batch of big traces holds fewer of them), and
    batches are cut at even shares of the total weight; one trace heavier than a whole batch
    makes a batch of its own (bound traces first: `oversized`)."""
    ids = sorted(traces)
    # Integer weights on a common scale: a full batch weighs batch_traces * batch_spans.
    full = batch_traces * max(batch_spans, 1)
    weights = [max(full // batch_traces, (spans or {}).get(k, 0) * batch_traces if batch_spans else 0) for k in ids]
    total = sum(weights)
    count = -(-total // full)
    if count > 1:
        count = min(len(ids), -(-count // parallel) * parallel)
    batches: list[list[TraceKey]] = [[] for _ in range(count)]
    seen = 0
    for key, weight in zip(ids, weights):
        seen += weight
        batches[-(-seen * count // total) - 1].append(key)  # the batch whose share this trace's weight ends in
    return [b for b in batches if b]


class RoundStage:
    """The canonical spans of one round's `batches` (from `staged_batches`), staged in one pass on
    a background thread (a staging split in parts reads the whole raw table once per part, as every
    granule holds spans of every part: it cost more CPU and time, docs/benchmarks.md "Round
    staging"); `payload(i)` waits for it. Of the traces in `bounded` (their stored span counts),
    only the first `max_spans` spans are staged.

    Use as a context manager: entering creates the tables and starts staging, leaving waits for
    the staging under way (or skips it, not yet begun) and drops the tables.
    """

    def __init__(self, store: Store, prefix: str, batches: Sequence[Sequence[TraceKey]], source: str = TRACES_TABLE,
                 bounded: Mapping[TraceKey, int] | None = None, max_spans: int = 0, logs: str = LOGS_TABLE) -> None:
        if not all(batches) or any(list(b) != sorted(b) for b in batches) or any(
                a[-1] >= b[0] for a, b in zip(batches, batches[1:])):
            raise ValueError("staged batches must be consecutive ranges of sorted traces")
        self.prefix, self.table = prefix, f"{prefix}{int(time.time())}_{secrets.token_hex(4)}"
        self.store, self.ids_table, self.source = store, f"{self.table}_ids", source
        self.values_table = f"{self.table}_values"
        self.batches = [list(b) for b in batches]
        self.bounded, self.max_spans = set(bounded or ()), max_spans
        self.logs = logs
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self.stage_all, name="analyzer-stage", daemon=True)

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> RoundStage:
        self.create()
        self._thread.start()
        return self

    def create(self) -> None:
        """Create the tables (dropping stale ones a dead process left) and list the round's trace ids."""
        dropped = drop_stale_stages(self.store, self.prefix)
        if dropped:
            log.info("dropped %d stage table(s) left by an earlier process: %s", len(dropped), ", ".join(dropped))
        ids, keys = f"SELECT TraceId FROM {self.ids_table}", f"SELECT Tenant, TraceId FROM {self.ids_table}"
        sets = [f"({ids})", f"({keys} WHERE NOT Big)"]
        if self.bounded:
            sets += [f"({ids} WHERE Big)", f"({keys} WHERE Big)"]
        traces = traces_where(self.source, *sets)
        records = logs_where(f"({ids})", f"({keys})") if self.logs else ""
        self._insert_sql = [f"INSERT INTO {self.table} "
                            f"{analysis_select(self.source, traces, by_key=BY_KEY, logs=self.logs, logs_where=records)}"] + [
            f"INSERT INTO {self.values_table} SELECT {lit(name)}, key, value FROM "
            f"({field_by_key_select(name, self.source, self._one_span_per_key(name, ids, keys), self.logs, records)})"
            for name in BY_KEY]
        self.store.command(f"CREATE TABLE {self.ids_table} (Tenant String, TraceId String, Big Bool) "
                           "ENGINE = MergeTree ORDER BY (Tenant, TraceId)")
        self.store.command(f"CREATE TABLE {self.values_table} (Field String, Key UInt64, Value String) "
                           "ENGINE = MergeTree ORDER BY (Field, Key)")
        create_canonical_table(self.store, self.table, self.source, BY_KEY)
        keys = [t for b in self.batches for t in b]
        self.store.insert_columns(self.ids_table, [[k.tenant for k in keys], [k.trace_id for k in keys],
                                                   [k in self.bounded for k in keys]], ["Tenant", "TraceId", "Big"])

    def _one_span_per_key(self, name: str, ids: str, keys: str) -> str:
        """A raw-row condition for one staged span per distinct key of `name` among the round's traces
        (trace ids `ids`, traces `keys`): the raw read then decompresses the few granules holding
        them, not the whole table."""
        some = (f"SELECT any((tenant, trace_id, span_id)) AS span FROM {self.table} "
                f"WHERE (tenant, trace_id) IN ({keys}) GROUP BY {key_column(name)}")
        return (f"TraceId IN ({ids}) AND ({RAW_TENANT}, TraceId, SpanId) IN "
                f"(SELECT span.1, span.2, span.3 FROM ({some}))")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._closing.set()
        if self._thread.ident is not None:
            self._thread.join()
        try:
            self._drop()
        except Exception:  # the round's own outcome matters more; the next round drops them again
            log.warning("could not drop the round's stage tables %s", self.table, exc_info=True)

    def _drop(self) -> None:
        for table in (self.table, self.ids_table, self.values_table):
            self.store.command(f"DROP TABLE IF EXISTS {table}")

    # -- staging ----------------------------------------------------------------------------
    def stage_all(self) -> None:
        """Map the round's traces into the stage (the background thread's work)."""
        if self._closing.is_set():
            self._error = RuntimeError("the round's staging was stopped")
        else:
            try:
                for sql in self._insert_sql:
                    self.store.command(sql, {"max_spans": self.max_spans})
            except BaseException as exc:  # reported to every batch still waiting
                self._error = exc
        self._ready.set()

    def payload(self, index: int) -> bytes:
        """Batch `index`'s spans, encoded as `load.spans_payload` encodes them."""
        self._ready.wait()
        if self._error is not None:
            raise self._error
        # The batch is a range of the stage's sort key, spelled as comparisons of its columns so that
        # the primary key narrows the read to it (a tuple comparison or an IN set would not, or not as well).
        rows = (f"FROM {self.table} WHERE (tenant > {{lo_t:String}} OR (tenant = {{lo_t:String}} AND "
                "trace_id >= {lo_i:String})) AND (tenant < {hi_t:String} OR (tenant = {hi_t:String} AND "
                "trace_id <= {hi_i:String}))")
        (lo_t, lo_i), (hi_t, hi_i) = self.batches[index][0], self.batches[index][-1]
        params = {"lo_t": lo_t, "lo_i": lo_i, "hi_t": hi_t, "hi_i": hi_i}
        cols = ", ".join(key_column(c) if c in BY_KEY else c for c in CANONICAL_COLUMNS)
        keys = ", ".join(key_column(name) for name in BY_KEY)
        values = (f"SELECT Field, Key, any(Value) FROM {self.values_table} "
                  f"WHERE Key IN (SELECT arrayJoin([{keys}]) {rows}) GROUP BY Field, Key ORDER BY Field, Key")
        return keyed_payload(query_payload(self.store, f"SELECT {cols} {rows}", params),
                             query_payload(self.store, values, params), BY_KEY)
