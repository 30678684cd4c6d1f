"""Reading our Prometheus `/metrics` text."""

from __future__ import annotations


def metric(text: str, name: str) -> float:
    """The sum of every sample whose line starts with `name` (a metric name, or a name and labels)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def series(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called `name` (a counter's `…_total`), keyed by its labels (`labels(...)`),
    read with prometheus_client's own parser of the text format."""
    from prometheus_client.parser import text_string_to_metric_families

    return {labels(**s.labels): s.value for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name}


def labels(**values: str) -> tuple[tuple[str, str], ...]:
    """A label set as `series` keys it."""
    return tuple(sorted(values.items()))
