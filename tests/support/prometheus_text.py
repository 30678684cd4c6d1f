"""Reading our Prometheus `/metrics` text."""

from __future__ import annotations


def metric(text: str, name: str) -> float:
    """The sum of every sample whose line starts with `name` (a metric name, or a name and labels)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total
