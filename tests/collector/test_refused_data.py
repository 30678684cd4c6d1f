"""The writer's safety net: data the database refuses is rejected per span, never retried forever.

A CHECK constraint on `otel_traces` makes the real engine refuse chosen rows (as a user's own
table may); the writer must store the rest of the request, report the refused spans, and
keep a database that is down a retryable failure.
"""

from __future__ import annotations

import uuid
from concurrent.futures import Future, wait

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentmortem.collector.convert import SpanBatch, json_columns, request_to_batch
from agentmortem.collector.isolate import Budget, isolate
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.protoschema import varint
from agentmortem.collector.writer import Admitted, GroupCommitWriter, WriteFailed, WriterLimits
from agentmortem.platform.schema import INSERT_COLUMNS, TRACES_TABLE
from agentmortem.platform.store import DataRejected, Store, StoreError, classify
from tests.support.otlp_clients import free_port
from tests.support.writer_queue import submit

START = 1_700_000_000_000_000_000


def _limits(native_min_spans: int, isolation_inserts: int = 128) -> WriterLimits:
    return WriterLimits(batch_max_spans=100_000, batch_max_delay_s=0.2, native_min_spans=native_min_spans,
                        isolation_inserts=isolation_inserts)


def _request(*names: str) -> Admitted:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for i, name in enumerate(names):
        span = scope.spans.add()
        span.trace_id, span.span_id, span.name = uuid.uuid4().bytes, uuid.uuid4().bytes[:8], name
        span.start_time_unix_nano, span.end_time_unix_nano = START + i, START + i + 10
    return Admitted(request.SerializeToString(), None, len(names))


@pytest.fixture
def refusing_store(store: Store) -> Store:
    """`otel_traces` refusing every span named `poison`."""
    store.command(f"ALTER TABLE {TRACES_TABLE} ADD CONSTRAINT no_poison CHECK SpanName != 'poison'")
    return store


def _write(store: Store, native_min_spans: int, *items: Admitted, metrics: CollectorMetrics | None = None,
           isolation_inserts: int = 128) -> list[Future]:
    """Submit `items` to a writer of their own and wait until each is settled."""
    writer = GroupCommitWriter(store, _limits(native_min_spans, isolation_inserts), metrics or CollectorMetrics())
    writer.start()
    futures = [submit(writer, item) for item in items]
    wait(futures, timeout=60)
    writer.stop()
    return futures


def _names(store: Store) -> list[str]:
    return sorted(r[0] for r in store.query(f"SELECT SpanName FROM {TRACES_TABLE}"))


@pytest.mark.parametrize("native_min_spans", [1, 1_000_000], ids=["native", "converted"])
def test_refused_spans_are_rejected_and_the_rest_is_stored(refusing_store, native_min_spans):
    names = ["a", "b", "poison", "c", "d", "e", "poison", "f"]
    futures = _write(refusing_store, native_min_spans, _request("g1", "g2", "g3"), _request(*names))
    clean, poisoned = (f.result() for f in futures)
    assert (clean.accepted, clean.rejected) == (3, 0)
    assert (poisoned.accepted, poisoned.rejected) == (6, 2)
    assert "span 'poison': the database refused it" in poisoned.message()
    assert "no_poison" in poisoned.message()
    assert _names(refusing_store) == sorted(["g1", "g2", "g3", "a", "b", "c", "d", "e", "f"])


def test_refused_requests_of_one_group_share_the_search_budget(refusing_store):
    """Many requests refused together cannot hold the writer for long: the group's inserts are bounded."""
    metrics = CollectorMetrics()
    requests = [_request(*[f"r{r}-{i}" if i % 8 else "poison" for i in range(32)]) for r in range(6)]
    futures = _write(refusing_store, 1_000_000, *requests, metrics=metrics, isolation_inserts=12)
    inserts = sum(metrics.inserts.labels(outcome)._value.get() for outcome in ("ok", "error"))
    assert inserts <= 1 + len(requests) + 12  # the group, each request alone, the shared budget
    results = [f.result() for f in futures]
    assert sum(r.accepted + r.rejected for r in results) == 6 * 32
    assert sum(r.rejected for r in results) > 6 * 4  # budget spent: good spans rejected too, and said so
    assert any("stopped after 12 inserts" in r.message() for r in results)
    assert len(_names(refusing_store)) == sum(r.accepted for r in results)


def _batch(names: list[str]) -> SpanBatch:
    return request_to_batch(ExportTraceServiceRequest.FromString(_request(*names).raw))


def test_the_search_for_refused_spans_is_bounded(refusing_store):
    names = [name for i in range(20) for name in (f"ok-{i}", "poison")]
    batch = _batch(names)
    inserts = []

    def insert(rows: SpanBatch) -> None:
        inserts.append(rows.count)
        refusing_store.insert_formatted(TRACES_TABLE, INSERT_COLUMNS, json_columns(rows), "JSONColumns")

    with pytest.raises(DataRejected) as refusal:
        insert(batch)
    result = isolate(batch, insert, refusal.value, Budget(inserts=10))
    assert len(inserts) == 1 + 10
    assert result.accepted + result.rejected == 40
    assert result.rejected >= 20
    assert "stopped after 10 inserts" in result.message()
    assert len(_names(refusing_store)) == result.accepted


def test_without_a_budget_limit_every_good_span_is_found(refusing_store):
    names = [name for i in range(20) for name in (f"ok-{i}", "poison")]
    batch = _batch(names)

    def insert(rows: SpanBatch) -> None:
        refusing_store.insert_formatted(TRACES_TABLE, INSERT_COLUMNS, json_columns(rows), "JSONColumns")

    with pytest.raises(DataRejected) as refusal:
        insert(batch)
    result = isolate(batch, insert, refusal.value, Budget())
    assert (result.accepted, result.rejected) == (20, 20)
    assert _names(refusing_store) == sorted(f"ok-{i}" for i in range(20))


@pytest.mark.parametrize("failure", ["server-down", "table-missing"])
def test_a_database_that_fails_stays_retryable(store, failure):
    if failure == "server-down":
        store = Store(f"http://127.0.0.1:{free_port()}/default")
    else:
        store.command(f"DROP TABLE {TRACES_TABLE}")
    (future,) = _write(store, 1, _request("a", "b"))
    assert isinstance(future.exception(), WriteFailed)
    assert not isinstance(future.exception().__cause__, DataRejected)


def test_a_request_clickhouse_cannot_decode_is_stored_converted(store):
    """upb keeps an unknown group field (wire types 3/4) inside a span; ClickHouse's Protobuf
    reader refuses the whole block, so the request goes the converted way."""
    request = ExportTraceServiceRequest.FromString(_request("a", "b").raw)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    group = varint(100 << 3 | 3) + varint(1 << 3) + b"\x05" + varint(100 << 3 | 4)  # field 100 { field 1: 5 }
    span.MergeFromString(group)
    raw = request.SerializeToString()
    assert group in raw
    (future,) = _write(store, 1, Admitted(raw, None, 2))
    assert (future.result().accepted, future.result().rejected) == (2, 0)
    assert _names(store) == ["a", "b"]


@pytest.mark.parametrize(
    ("message", "refused"),
    [
        ("Code: 407. DB::Exception: Numeric value is out of range for DateTime64. (DECIMAL_OVERFLOW)", True),
        ("Code: 27. DB::Exception: Cannot parse input. (CANNOT_PARSE_INPUT_ASSERTION_FAILED)", True),
        ("Code: 444. DB::Exception: Protobuf messages are corrupted. (UNKNOWN_PROTOBUF_FORMAT)", True),
        ("Code: 469. DB::Exception: Constraint `c` for table is violated. (VIOLATED_CONSTRAINT)", True),
        ("Code: 252. DB::Exception: Too many partitions for single INSERT block (more than 100). (TOO_MANY_PARTS)", True),
        ("Code: 252. DB::Exception: Too many parts (300 with average size of 1.00 MiB). (TOO_MANY_PARTS)", False),
        ("Code: 241. DB::Exception: Memory limit (total) exceeded. (MEMORY_LIMIT_EXCEEDED)", False),
        ("Code: 60. DB::Exception: Table default.otel_traces does not exist. (UNKNOWN_TABLE)", False),
        ("HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded", False),
    ],
    ids=["decimal", "parse", "protobuf", "constraint", "partitions", "merges-behind", "memory", "no-table", "network"],
)
def test_only_errors_that_blame_the_data_are_refusals(message, refused):
    error = classify(message)
    assert isinstance(error, StoreError)
    assert isinstance(error, DataRejected) is refused
