"""`agentmortem config [--json]`: every setting's effective value, its variable and where it came from, secrets masked.

The text form prints one `AGENTMORTEM_NAME=value  # source` line per setting, grouped by
section with each setting's description, in the syntax the environment takes (lists comma-
separated, maps as JSON), so a printed line can be pasted back as is. Secrets never print:
key-like values become `***`, and a URL keeps its user but not its password.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from agentmortem.settings import AgentmortemSettings, Entry, entries

MASK = "***"
_SECRET_NAME = re.compile(r"(^|_)(key|secret|token|password|credentials?)s?$")


def mask_url(text: str) -> str:
    """`text` with the password of a URL (user info, or a `password=`-like query parameter) masked."""
    if "://" not in text:
        return text
    parts = urlsplit(text)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret_query = any(_SECRET_NAME.search(k.lower()) for k, _ in pairs)
    if parts.password is None and not secret_query:
        return text
    netloc, query = parts.netloc, parts.query
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{MASK}@{host}"
    if secret_query:
        query = urlencode([(k, MASK if _SECRET_NAME.search(k.lower()) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def shown(entry: Entry) -> Any:
    """The value as JSON would hold it, secrets masked."""
    value = entry.value
    if value is None:
        return None
    if isinstance(value, SecretStr) or _SECRET_NAME.search(entry.field):
        return MASK
    if isinstance(value, str):
        return mask_url(value)
    return value


def env_text(value: Any) -> str:
    """A value as the environment variable spells it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def as_json(settings: AgentmortemSettings) -> dict[str, dict]:
    return {e.env: {"section": e.section, "value": shown(e), "source": e.source, "description": e.description}
            for e in entries(settings)}


def as_text(settings: AgentmortemSettings) -> str:
    lines: list[str] = []
    section = None
    for entry in entries(settings):
        if entry.section != section:
            if lines:
                lines.append("")
            section = entry.section
            lines.append(f"# [{section}]")
        lines.append(f"# {entry.description}")
        value = shown(entry)
        text = env_text(value)
        quoted = shlex.quote(text) if text else ""
        note = entry.source if value is not None else f"{entry.source}, unset"
        lines.append(f"{entry.env}={quoted}  # {note}")
    return "\n".join(lines) + "\n"


def cmd_config(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    print(json.dumps(as_json(settings), indent=2) if args.json else as_text(settings).rstrip("\n"))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    config = sub.add_parser("config", help="print every setting's effective value and source (secrets masked)")
    config.add_argument("--json", action="store_true", help="print them as JSON keyed by variable")
    config.set_defaults(func=cmd_config)
