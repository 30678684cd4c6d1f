"""The `agentmortem` command line: serve, collector, analyzer, api, explain, demo, semconv report, keys, migrate.

One module per command, each with a `register` that adds its parser; `COMMANDS` lists them.
`serve` runs every component in one process (the embedded chDB engine allows one engine per
process); `collector`, `analyzer` and `api` run one component alone for server deployments.
All stop cleanly on SIGTERM/SIGINT after flushing admitted spans.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from agentmortem.cli import analyzer, api, collector, demo, explain, keys, migrate, semconv, serve
from agentmortem.cli.common import settings_from, write_ready_file
from agentmortem.platform.logs import configure_logging
from agentmortem.platform.store import StoreError
from agentmortem.semconv.cost import configured_overrides

__all__ = ["COMMANDS", "build_parser", "main", "write_ready_file"]

COMMANDS = (serve, collector, api, analyzer, explain, demo, semconv, migrate, keys)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentmortem", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
        configured_overrides()
    except ValidationError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    try:
        return args.func(args)
    except StoreError as exc:
        print(f"database error: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
