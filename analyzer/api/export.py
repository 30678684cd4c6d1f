"""Run exports: CSV (one header row, AgentMetrics columns first) and NDJSON (one JSON object per line)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import orjson
from fastapi.responses import StreamingResponse

from agentmortem.analyzer.api.present import CSV_COLUMNS


def _csv_cell(value: object) -> object:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def csv_lines(rows: list[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for i, row in enumerate(rows):
        writer.writerow([_csv_cell(row.get(c)) for c in CSV_COLUMNS])
        if i % 500 == 499:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def ndjson_lines(rows: list[dict]) -> Iterator[bytes]:
    for row in rows:
        yield orjson.dumps({c: row.get(c) for c in CSV_COLUMNS}) + b"\n"


def response(rows: list[dict], fmt: str) -> StreamingResponse:
    """A streamed CSV or NDJSON download of these run rows (already in API form)."""
    if fmt == "csv":
        return StreamingResponse(csv_lines(rows), media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="runs.csv"'})
    return StreamingResponse(ndjson_lines(rows), media_type="application/x-ndjson")
