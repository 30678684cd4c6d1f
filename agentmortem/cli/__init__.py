"""The `agentmortem` command line: serve, collector, analyzer, api, explain, demo, semconv report, migrate, keys, config.

One module per command, each with a `register` that adds its parser; `COMMANDS` lists them.
`serve` runs every component in one process (the embedded chDB engine allows one engine per
process); `collector`, `analyzer` and `api` run one component alone for server deployments.
All stop cleanly on SIGTERM/SIGINT after flushing admitted spans. Every setting is read and
validated once, here, before any command runs (`agentmortem.settings`); commands receive it.
"""

from __future__ import annotations

import argparse
import sys

from agentmortem.cli import analyzer, api, collector, config, demo, explain, keys, migrate, semconv, serve
from agentmortem.cli.common import setting_flags, write_ready_file
from agentmortem.platform.logs import configure_logging
from agentmortem.platform.migrations import SchemaNotReady
from agentmortem.platform.store import StoreError
from agentmortem.settings import ConfigError, load_settings

__all__ = ["COMMANDS", "build_parser", "main", "write_ready_file"]

COMMANDS = (serve, collector, api, analyzer, explain, demo, semconv, migrate, keys, config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentmortem", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(setting_flags(args))
    except ConfigError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    configure_logging(settings.logging.log_level, settings.logging.log_format)
    try:
        return args.func(args, settings)
    except SchemaNotReady as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"database error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
