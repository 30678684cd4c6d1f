"""What each overview panel must show, computed in Python from the raw, versioned rows.

`CHECKS` maps a panel title to a function `(rows, runs, signals)` that asserts the rows the
panel's query returned, given the runs the selection and time range keep (`selected`) and
every signal. Nothing here reads with FINAL: `latest` replays ReplacingMergeTree by hand.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from agentmortem.platform.tables import Table
from tests.support.dashboard_corpus import START
from tests.support.grafana import ALL, QueryWindow

WINDOW = QueryWindow(START - timedelta(minutes=10), START + timedelta(hours=3), interval_s=900)


def latest(rows: list[dict], table: Table) -> list[dict]:
    """ReplacingMergeTree(Version, Deleted) by hand, as `table` declares it: the highest version per
    sorting key, tombstones dropped."""
    best: dict[tuple, dict] = {}
    for r in rows:
        k = tuple(r[c] for c in table.order_by)
        if k not in best or r[table.version] > best[k][table.version]:
            best[k] = r
    return [r for r in best.values() if not r[table.deleted]]


def naive_utc(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None)


def selected(runs: list[dict], selection: dict, window: QueryWindow = WINDOW) -> list[dict]:
    def pick(value, allowed) -> bool:
        allowed = [allowed] if isinstance(allowed, str) else allowed
        return ALL in allowed or value in allowed

    lo, hi = naive_utc(window.start), naive_utc(window.end)
    return [r for r in runs if lo <= r["Start"] <= hi and pick(r["Tenant"], selection["tenant"])
            and pick(r["Environment"], selection["environment"]) and pick(r["AgentName"], selection["agent"])]


def total(values) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def approx(value):
    return None if value is None else pytest.approx(value, rel=1e-9, abs=1e-12)


def r7(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (ClickHouse `quantile` keeps every value below 8192)."""
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    return xs[lo] + (h - lo) * (xs[min(lo + 1, len(xs) - 1)] - xs[lo])


def bucket(t: datetime) -> int:
    epoch = int(t.replace(tzinfo=UTC).timestamp())
    return epoch - epoch % WINDOW.bucket_s


def agent_label(name: str) -> str:
    return name or "(unnamed)"


def check_time_buckets(rows: list[dict]) -> list[int]:
    times = [int(r["time"].replace(tzinfo=UTC).timestamp()) for r in rows]
    assert times == sorted(set(times)), "a time series must be ascending, one row per interval"
    assert all(t % WINDOW.bucket_s == 0 for t in times)
    return times


def check_runs(rows, runs, signals):
    assert rows == [{"Runs": len(runs)}]


def check_failure_rate(rows, runs, signals):
    failed = sum(r["Outcome"] == "failed" for r in runs)
    assert rows == [{"FailureRate": approx(failed / len(runs)) if runs else None}]


def check_cost(rows, runs, signals):
    assert rows == [{"Cost": approx(total(r["CostUsd"] for r in runs))}]


def check_wasted_cost(rows, runs, signals):
    wasted, cost = total(r["WastedCostUsd"] for r in runs), total(r["CostUsd"] for r in runs)
    share = wasted / cost if wasted is not None and cost else None
    assert rows == [{"WastedCost": approx(wasted), "WastedShare": approx(share)}]


def check_outcomes_over_time(rows, runs, signals):
    expected: dict[int, Counter] = defaultdict(Counter)
    for r in runs:
        expected[bucket(r["Start"])][r["Outcome"]] += 1
    assert check_time_buckets(rows) == sorted(expected)
    assert [{k: r[k] for k in ("ok", "degraded", "failed")} for r in rows] == [
        {k: expected[t][k] for k in ("ok", "degraded", "failed")} for t in sorted(expected)]


def check_cost_over_time(rows, runs, signals):
    by_bucket: dict[int, list[dict]] = defaultdict(list)
    for r in runs:
        by_bucket[bucket(r["Start"])].append(r)
    assert check_time_buckets(rows) == sorted(by_bucket)
    assert [(r["Cost"], r["WastedCost"]) for r in rows] == [
        (approx(total(x["CostUsd"] for x in by_bucket[t])), approx(total(x["WastedCostUsd"] for x in by_bucket[t])))
        for t in sorted(by_bucket)]


def check_failure_classes(rows, runs, signals):
    expected = Counter((r["FailureClass"], r["Outcome"]) for r in runs if r["FailureClass"])
    got = {r["FailureClass"]: (r["failed"], r["degraded"]) for r in rows}
    assert got == {c: (expected[(c, "failed")], expected[(c, "degraded")]) for c, _ in expected}
    sizes = [sum(v) for v in (got[r["FailureClass"]] for r in rows)]
    assert sizes == sorted(sizes, reverse=True)


def check_signals(rows, runs, signals):
    ids = {(r["Tenant"], r["RunId"]) for r in runs}  # two tenants may hold runs with one run id
    expected: dict[str, Counter] = defaultdict(Counter)
    for s in signals:
        if (s["Tenant"], s["RunId"]) in ids:
            expected[s["Type"]][s["Severity"]] += 1
    severities = ("critical", "error", "warning", "info")
    assert {r["Type"]: {k: r[k] for k in severities} for r in rows} == {
        t: {k: c[k] for k in severities} for t, c in expected.items()}
    assert len(rows) == len(expected)


def check_top_failing_agents(rows, runs, signals):
    by_agent: dict[str, list[dict]] = defaultdict(list)
    for r in runs:
        by_agent[r["AgentName"]].append(r)
    expected = []
    for name, rs in by_agent.items():
        failed = [r for r in rs if r["Outcome"] == "failed"]
        if failed:
            expected.append({"Agent": agent_label(name), "Runs": len(rs), "Failed": len(failed),
                             "FailureRate": approx(len(failed) / len(rs)),
                             "WastedCost": approx(total(r["WastedCostUsd"] for r in rs)),
                             "classes": Counter(r["FailureClass"] for r in failed)})
    expected.sort(key=lambda e: (-e["Failed"], -e["FailureRate"].expected, e["Agent"]))
    for row, exp in zip(rows, expected, strict=True):
        classes = exp.pop("classes")
        assert classes[row.pop("TopFailureClass")] == max(classes.values())
        assert row == exp
    assert len(rows) == min(len(expected), 10)


def check_durations(rows, runs, signals):
    by_agent: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        by_agent[agent_label(r["AgentName"])].append(r["DurationMs"])
    assert {r["Agent"]: (r["p50"], r["p95"]) for r in rows} == {
        a: (approx(r7(d, 0.5)), approx(r7(d, 0.95))) for a, d in by_agent.items()}
    assert [r["p95"] for r in rows] == sorted((r["p95"] for r in rows), reverse=True)


def check_models(rows, runs, signals):
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in runs:
        groups[" + ".join(r["Models"]) or "(no model)"].append(r)
    assert {r["Model"]: r for r in rows} == {m: {
        "Model": m, "Runs": len(rs), "InputTok": sum(r["InputTokens"] for r in rs),
        "OutputTok": sum(r["OutputTokens"] for r in rs), "Tokens": sum(r["TotalTokens"] for r in rs),
        "Cost": approx(total(r["CostUsd"] for r in rs)), "WastedCost": approx(total(r["WastedCostUsd"] for r in rs)),
    } for m, rs in groups.items()}


def check_failed_runs(rows, runs, signals):
    failed = sorted((r for r in runs if r["Outcome"] == "failed"), key=lambda r: r["RunId"])
    failed.sort(key=lambda r: r["Start"], reverse=True)
    assert [r["RunId"] for r in rows] == [r["RunId"] for r in failed[:100]]
    for row, run in zip(rows, failed):
        assert (row["TraceId"], row["Headline"], row["FailureClass"], row["Agent"]) == (
            run["TraceId"], run["Headline"], run["FailureClass"], agent_label(run["AgentName"]))
        assert row["Cost"] == approx(run["CostUsd"]) and row["WastedCost"] == approx(run["WastedCostUsd"])
        assert row["Headline"] and row["FailureClass"]


CHECKS = {
    "Runs": check_runs,
    "Failure rate": check_failure_rate,
    "Cost": check_cost,
    "Wasted cost": check_wasted_cost,
    "Runs over time by outcome": check_outcomes_over_time,
    "Cost and wasted cost over time": check_cost_over_time,
    "Runs by failure class": check_failure_classes,
    "Signals by type and severity": check_signals,
    "Top failing agents": check_top_failing_agents,
    "Duration p50 / p95 per agent": check_durations,
    "Tokens and cost per model": check_models,
    "Recent failed runs": check_failed_runs,
}
