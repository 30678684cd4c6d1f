"""Render the contrib clickhouseexporter's vendored table templates (tests/collector/contrib/) as the exporter does.

The logs template is Go `text/template` (`{{ident .Database}}`, `{{- if .HasFullTextSearch}}` …), the
metrics templates `fmt.Sprintf` with database, table, cluster, engine and TTL in that order. Only
the constructs those files use are handled; the values are the exporter's defaults.
"""

from __future__ import annotations

import re
from pathlib import Path

CONTRIB = Path(__file__).resolve().parent.parent / "collector" / "contrib"

METRIC_TEMPLATES = {
    "otel_metrics_gauge": "metrics_gauge_table.sql",
    "otel_metrics_sum": "metrics_sum_table.sql",
    "otel_metrics_histogram": "metrics_histogram_table.sql",
    "otel_metrics_exponential_histogram": "metrics_exp_histogram_table.sql",
    "otel_metrics_summary": "metrics_summary_table.sql",
}
ENGINE = "MergeTree()"  # table_engine default


def ttl(days: int, column: str) -> str:
    """The exporter's `generateTTLExpr` for a whole number of days (empty when 0)."""
    return f"TTL {column} + toIntervalDay({days})" if days else ""


_IF = re.compile(r"\s*\{\{- if \.HasFullTextSearch\}\}(.*?)\s*\{\{- else\}\}(.*?)\s*\{\{- end\}\}", re.S)


def render_logs(database: str, ttl_days: int, full_text_search: bool) -> str:
    text = (CONTRIB / "logs_table.sql").read_text()
    text = _IF.sub(lambda m: m.group(1) if full_text_search else m.group(2), text)
    return (text.replace("{{ident .Database}}", f"`{database}`")
            .replace("{{ident .TableName}}", "`otel_logs`")
            .replace("{{.ClusterString}}", "")
            .replace("{{.Engine}}", ENGINE)
            .replace("{{.TTL}}", ttl(ttl_days, "toDateTime(Timestamp)")))


def render_metrics(table: str, database: str, ttl_days: int) -> str:
    template = (CONTRIB / METRIC_TEMPLATES[table]).read_text()
    return template % (database, table, "", ENGINE, ttl(ttl_days, "toDateTime(TimeUnix)"))
