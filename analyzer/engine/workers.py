"""Analysis worker processes: the per-run Python work of big rounds on every core.

The analysis is pure Python and holds the GIL, so threads cannot spread it over cores;
processes can. The querying process keeps the database (an embedded chDB data directory
belongs to one process) and hands each worker a batch's spans as the encoded query result
(`analyzer.engine.load.spans_payload`: bytes, nothing to pickle); the worker decodes, analyzes
and returns the result rows. Workers start with `spawn` (a fresh interpreter: forking a
process that runs database and gRPC threads is unsafe) on first use, and live until
`close()` so later rounds pay no start-up.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

log = logging.getLogger(__name__)


def default_worker_count() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _ignore_interrupts() -> None:
    """Worker start-up: Ctrl+C reaches the whole process group; the parent decides when workers stop
    (`close()`), so a worker must not die mid-batch with a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class AnalysisWorkers:
    """A lazily started pool of `count` analysis processes."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self, warm_up: Callable[[], Any]) -> None:
        """Start the processes now, each running `warm_up` (a module-level function: unpickling it
        imports its module, and with it what the jobs need), unless they run already. Their start-up
        then overlaps the caller's own work (a round's staging) instead of delaying the first job."""
        with self._lock:
            if self._pool is not None:
                return
        for _ in range(self.count):
            self.submit(warm_up)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future:
        """Run `fn(*args)` (a module-level function, picklable arguments) in a worker."""
        with self._lock:
            if self._pool is None:
                log.info("starting %d analysis worker process(es)", self.count)
                self._pool = ProcessPoolExecutor(self.count, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_ignore_interrupts)
            pool = self._pool
        try:
            return pool.submit(fn, *args)
        except BrokenProcessPool:
            self._discard(pool)
            raise

    def discard_if_broken(self, exc: BaseException) -> None:
        """After a failed job: drop the pool if a worker died, so the next round starts a new one."""
        if isinstance(exc, BrokenProcessPool):
            with self._lock:
                pool = self._pool
            if pool is not None:
                self._discard(pool)

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the worker processes (waits for running jobs)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
