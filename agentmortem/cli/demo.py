"""`agentmortem demo`: send the demo agent runs to a running collector through a real OTLP exporter."""

from __future__ import annotations

import argparse
import sys

from agentmortem.settings import AgentmortemSettings


def cmd_demo(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    from agentmortem.demo.send import send_demo

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else None
    flavours = ("genai", "openinference") if args.flavour == "both" else (args.flavour,)
    sent = send_demo(args.endpoint, flavours=flavours, headers=headers)
    for s in sent:
        print(f"{s.scenario:<32} {s.flavour:<14} trace {s.trace_id}")
    print(f"sent {len(sent)} agent runs to {args.endpoint}; see one with: agentmortem explain <trace id>",
          file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="send realistic agent runs to a running collector")
    demo.add_argument("--endpoint", default="http://127.0.0.1:4318", help="OTLP/HTTP base URL")
    demo.add_argument("--flavour", choices=("genai", "openinference", "both"), default="genai",
                      help="attribute convention of the spans")
    demo.add_argument("--api-key", help="sent as Authorization: Bearer when the collector requires keys")
    demo.set_defaults(func=cmd_demo)
