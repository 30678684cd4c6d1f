"""`agentmortem semconv report`: which conventions the stored spans map to, unmapped keys, unpriced models,
and per service the signals it sends and the GenAI convention versions they speak."""

from __future__ import annotations

import argparse
import json

from agentmortem.cli.common import add_store_args
from agentmortem.cli.schema import open_current_store
from agentmortem.settings import AgentmortemSettings


def cmd_semconv_report(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    from agentmortem.semconv.report import coverage_report, render_report

    store = open_current_store(settings.store, "semconv report")
    report = coverage_report(store, overrides=settings.pricing.overrides)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render_report(report, width=args.width), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    semconv = sub.add_parser("semconv", help="semantic-convention tools")
    semconv_sub = semconv.add_subparsers(dest="semconv_command", required=True)
    report = semconv_sub.add_parser(
        "report", help="which conventions and categories the stored spans map to, unmapped keys, unpriced models, "
                  "signals and GenAI convention versions per service")
    add_store_args(report)
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.add_argument("--width", type=int, default=100, help="table width in characters")
    report.set_defaults(func=cmd_semconv_report)
