"""The installed package version (shown by /health and OpenAPI)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("agentmortem")
except PackageNotFoundError:  # running from a source tree without installation
    VERSION = "0.0.0"
