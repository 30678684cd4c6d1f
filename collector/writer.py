"""Group commit: many requests of one signal share one insert; each waits for its own durability.

`submit()` queues a request that already holds its share of the in-flight budget
(`collector.admission`) and returns a future that resolves once the insert holding its
spans has succeeded — never before; the share is released then. The queue keeps only
each request's bytes. Writer threads drain it: each waits a few milliseconds for
company (up to `batch_max_spans`) and writes the pending requests as one insert of at
most `batch_max_bytes`, so that one insert's working memory stays bounded however far
behind the writer is. Large groups (at least `native_min_spans`) go the native way —
ClickHouse decodes the concatenated protobuf envelopes itself (`collector.native`), no
Python per span; small groups are converted in Python and sent as `JSONColumns`, whose
fixed cost per insert is far lower. Both write identical rows (tests hold them equal);
requests with attribute values nested deeper than the native structure goes
(`collector.nesting`) are always converted. Logs and metrics have only the converted path:
one writer per signal (`collector.signals`), each with its own queue.

If a shared insert fails, each request is written alone, converted, so one bad request
cannot fail the others. When the database refuses a request's data itself
(`DataRejected`), retrying cannot help: `collector.isolate` stores what it accepts and
the refused spans resolve as rejected (OTLP `partial_success`). Any other failure
(database down) resolves the future with `WriteFailed`, which clients retry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from agentmortem.collector.admission import Overloaded, Reservation
from agentmortem.collector.batch import Batch
from agentmortem.collector.convert import SpanCheck
from agentmortem.collector.isolate import INSERT_BUDGET, Budget, isolate
from agentmortem.collector.metrics import CollectorMetrics
from agentmortem.collector.native import envelope, insert_native
from agentmortem.collector.nesting import renders_natively
from agentmortem.collector.signals import TRACES, Signal
from agentmortem.platform.store import DataRejected, Store, StoreError

log = logging.getLogger(__name__)


__all__ = ["Admitted", "GroupCommitWriter", "Overloaded", "Unavailable", "WriteFailed", "WriterLimits"]


class Unavailable(Exception):
    """The writer is stopping or the database failed: the client should send the request again
    (nothing of it was acknowledged; spans a search for refused data had stored may be stored twice)."""


class WriteFailed(Unavailable):
    """The insert holding the request's spans failed."""


@dataclass(frozen=True)
class Admitted:
    """One request's valid items (spans, log records, data points), ready for either insert path.

    Only the encoding is kept: the decoded message costs several times its bytes, and
    the native path, which takes every large group of spans, never needs it; the converted
    path decodes it again.
    """

    raw: bytes  # the request's protobuf encoding (no unknown top-level fields)
    tenant: str | None
    count: int  # valid items

    def envelope(self) -> bytes:
        return envelope(self.raw, self.tenant)


@dataclass
class _Pending:
    item: Admitted
    reservation: Reservation
    future: Future


@dataclass(frozen=True)
class WriterLimits:
    batch_max_spans: int
    batch_max_delay_s: float
    batch_max_bytes: int = 32 * 1024 * 1024
    writer_threads: int = 1
    native_min_spans: int = 5000
    isolation_inserts: int = INSERT_BUDGET  # per group commit, see collector.isolate


class GroupCommitWriter:
    """Bounded queue + writer threads doing column-oriented group inserts of one signal."""

    def __init__(self, store: Store, limits: WriterLimits, metrics: CollectorMetrics, signal: Signal = TRACES) -> None:
        self._store = store
        self._limits = limits
        self._metrics = metrics
        self.signal = signal
        self._written = metrics.signals[signal.name].written
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._pending_spans = 0
        self._pending_bytes = 0
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._run, name=f"agentmortem-{signal.name}-writer-{i}", daemon=True)
            for i in range(limits.writer_threads)
        ]

    # -- producer side ----------------------------------------------------------
    def submit(self, item: Admitted, reservation: Reservation) -> Future:
        """Queue a request holding `reservation`; the future resolves after its durable write.

        The writer releases the reservation once the request is written (or has failed).
        The result is a `SpanCheck`: the spans stored (`accepted`) and those the database
        refused (`rejected`, with reasons); it raises `WriteFailed` when the client should retry.
        """
        future: Future = Future()
        future.set_running_or_notify_cancel()  # a waiter that goes away cannot cancel a write
        if item.count == 0:
            reservation.release()
            future.set_result(SpanCheck())
            return future
        with self._cond:
            if self._stopping:
                raise Unavailable("collector is shutting down")
            self._pending.append(_Pending(item, reservation, future))
            self._pending_spans += item.count
            self._pending_bytes += len(item.raw)
            self._cond.notify()
        return future

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Refuse new work, write everything already admitted, then stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    # -- writer thread -----------------------------------------------------------
    def _take_group(self) -> list[_Pending] | None:
        lim = self._limits
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if not self._pending:
                return None  # stopping and drained
            deadline = time.monotonic() + lim.batch_max_delay_s
            while (
                self._pending_spans < lim.batch_max_spans and self._pending_bytes < lim.batch_max_bytes
                and not self._stopping
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            taken = spans = nbytes = 0
            for pending in self._pending:  # at least one request, then up to the bytes cap
                size = len(pending.item.raw)
                if taken and nbytes + size > lim.batch_max_bytes:
                    break
                taken, spans, nbytes = taken + 1, spans + pending.item.count, nbytes + size
            group, self._pending = self._pending[:taken], self._pending[taken:]
            self._pending_spans -= spans
            self._pending_bytes -= nbytes
            if self._pending:
                self._cond.notify()  # another writer thread may take the rest
            return group

    def _run(self) -> None:
        while True:
            group = self._take_group()
            if group is None:
                return
            try:
                self._write_group(group)
            except Exception:  # never let the writer die: fail the group, keep serving
                log.exception("writer crashed on a group of %d requests", len(group))
                for item in group:
                    if not item.future.done():
                        item.future.set_exception(WriteFailed("internal writer error"))
            finally:
                self._release(group)

    def _write_group(self, group: list[_Pending]) -> None:
        budget = Budget(self._limits.isolation_inserts)  # shared: refused requests cannot stall the writer
        if self.signal is not TRACES or sum(p.item.count for p in group) < self._limits.native_min_spans:
            self._write_part(group, False, budget)
            return
        natively = [renders_natively(p.item.raw) for p in group]
        for native in (True, False):
            part = [p for p, fits in zip(group, natively) if fits == native]
            if part:
                self._write_part(part, native, budget)

    def _write_part(self, part: list[_Pending], native: bool, budget: Budget) -> None:
        if len(part) == 1 and not native:
            self._settle(part[0], budget)
            return
        items = [p.item for p in part]
        try:
            if native:
                self._timed(sum(item.count for item in items), insert_native, self._store,
                            b"".join(item.envelope() for item in items))
            else:
                self._insert_batch(self._converted(items))
        except StoreError as exc:
            log.warning("insert of %d request(s) failed (%s); writing each alone", len(part), exc)
            for pending in part:
                self._settle(pending, budget)
            return
        for pending in part:
            pending.future.set_result(SpanCheck(accepted=pending.item.count))

    def _settle(self, pending: _Pending, budget: Budget) -> None:
        try:
            pending.future.set_result(self._write_alone(pending.item, budget))
        except WriteFailed as failed:
            pending.future.set_exception(failed)

    def _write_alone(self, item: Admitted, budget: Budget) -> SpanCheck:
        """One request, converted; the items the database refuses are isolated and rejected."""
        batch = self._converted([item])
        try:
            self._insert_batch(batch)
        except DataRejected as exc:
            log.warning("the database refused the data of a request of %d %s (%s); isolating",
                        item.count, self.signal.items, exc)
            try:
                return isolate(batch, self._insert_batch, exc, budget)
            except StoreError as failure:
                raise WriteFailed(f"database write failed: {failure}") from failure
        except StoreError as exc:
            raise WriteFailed(f"database write failed: {exc}") from exc
        return SpanCheck(accepted=item.count)

    def _converted(self, items: list[Admitted]) -> Batch:
        signal = self.signal
        batch = signal.convert(signal.decode(items[0].raw), items[0].tenant)
        for item in items[1:]:
            batch.extend(signal.convert(signal.decode(item.raw), item.tenant))
        return batch

    def _insert_batch(self, batch: Batch) -> None:
        self._timed(batch.count, self.signal.insert, self._store, batch)

    def _timed(self, spans: int, insert: Callable[..., None], *args: object) -> None:
        started = time.perf_counter()
        try:
            insert(*args)
        except StoreError:
            self._metrics.inserts.labels("error").inc()
            raise
        self._metrics.insert_seconds.observe(time.perf_counter() - started)
        self._metrics.inserts.labels("ok").inc()
        self._written.inc(spans)

    def _release(self, group: list[_Pending]) -> None:
        for pending in group:
            pending.reservation.release()

