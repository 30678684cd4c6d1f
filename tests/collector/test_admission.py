"""The in-flight budget: reservations before reading, resizing to what is kept, release."""

from __future__ import annotations

import threading

import pytest

from agentmortem.collector.admission import InflightBudget, Overloaded


def test_a_reservation_that_does_not_fit_is_refused_and_holds_nothing():
    budget = InflightBudget(max_bytes=1000, max_spans=100, retry_after_seconds=3)
    first = budget.reserve(800)
    with pytest.raises(Overloaded) as err:
        budget.reserve(300)
    assert err.value.retry_after == 3
    assert (budget.bytes, budget.spans) == (800, 0)
    first.release()
    assert budget.reserve(300).nbytes == 300


def test_a_request_alone_always_fits():
    budget = InflightBudget(max_bytes=1000, max_spans=10, retry_after_seconds=1)
    alone = budget.reserve(5000)  # larger than the budget, but nothing else is in flight
    alone.resize(4000, spans=50)
    assert (budget.bytes, budget.spans) == (4000, 50)
    with pytest.raises(Overloaded):
        budget.reserve(1)


def test_resizing_from_the_body_to_what_the_queue_keeps():
    budget = InflightBudget(max_bytes=1000, max_spans=100, retry_after_seconds=1)
    other = budget.reserve(300)
    reading = budget.reserve(600)  # the declared body
    reading.resize(200, spans=40)  # decoded: its protobuf encoding and its spans
    assert (budget.bytes, budget.spans) == (500, 40)
    with pytest.raises(Overloaded):
        reading.resize(200, spans=101)  # too many spans: refused, the old share stays
    assert (reading.nbytes, reading.spans) == (200, 40)
    with pytest.raises(Overloaded):
        reading.grow(600)
    other.release()
    reading.grow(600)
    assert budget.bytes == 800


def test_a_body_without_length_reserves_as_it_arrives():
    budget = InflightBudget(max_bytes=1000, max_spans=100, retry_after_seconds=1)
    other = budget.reserve(500)
    chunked = budget.reserve(0)
    chunked.grow(300)
    chunked.grow(200)
    with pytest.raises(Overloaded):
        chunked.grow(1)  # past the bound mid-body: the request is refused, its share freed by the caller
    chunked.release()
    assert budget.bytes == 500
    other.release()


def test_leaving_a_with_block_by_an_error_releases_it():
    budget = InflightBudget(max_bytes=1000, max_spans=100, retry_after_seconds=1)
    with pytest.raises(ValueError), budget.reserve(700):
        raise ValueError("bad body")
    assert budget.bytes == 0
    with budget.reserve(700) as kept:
        pass
    assert budget.bytes == 700  # a normal exit hands the reservation on (to the writer)
    kept.release()


def test_concurrent_double_releases_count_once():
    budget = InflightBudget(max_bytes=10**9, max_spans=10**9, retry_after_seconds=1)
    keep = budget.reserve(7)
    reservations = [budget.reserve(10) for _ in range(200)]
    for r in reservations:
        r.resize(10, spans=1)
    threads = [threading.Thread(target=lambda: [r.release() for r in reservations]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (budget.bytes, budget.spans) == (7, 0)
    keep.release()
