"""Shared constants for value conversion that SQL and Python must apply identically."""

from __future__ import annotations

# A JSON number (what counts as a number for `num` outputs, `float` and `int` fields).
NUMBER_RE = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
INT_RE = r"^-?[0-9]+$"
# A text that starts like a JSON array (lists such as finish reasons may be JSON or plain).
ARRAY_START_RE = r"^\s*\["
# Digits inside an indexed key, for ordering items by their indices.
DIGITS_RE = r"[0-9]+"
