"""Time conversions at the API's edge: datetimes ↔ Unix nanoseconds, and ISO-8601 output in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

_INT64_MAX = 2**63 - 1


def to_ns(moment: datetime) -> int:
    """Unix nanoseconds of a datetime (a naive one is taken as UTC), at microsecond precision."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ns = int(moment.timestamp() * 1_000_000) * 1000
    return max(min(ns, _INT64_MAX), -_INT64_MAX)  # far dates clamp to what an Int64 parameter holds


def iso(ns: int | None) -> str | None:
    """`2025-01-15T10:30:00.123456Z` for Unix nanoseconds (None stays None)."""
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
