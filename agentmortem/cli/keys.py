"""`agentmortem keys create|list|revoke`: API keys, each bound to a tenant (only a hash of the secret is stored)."""

from __future__ import annotations

import argparse
import sys

from agentmortem.cli.common import add_store_args
from agentmortem.cli.schema import open_current_store
from agentmortem.platform.auth import create_key, list_keys, revoke_key
from agentmortem.settings import AgentmortemSettings


def cmd_keys(args: argparse.Namespace, settings: AgentmortemSettings) -> int:
    store = open_current_store(settings.store, "keys")
    if args.keys_command == "create":
        key, secret = create_key(store, args.tenant, args.name or "")
        print(f"key id:  {key.key_id}\ntenant:  {key.tenant}\nsecret:  {secret}")
        print("Store the secret now: only its hash is kept.", file=sys.stderr)
    elif args.keys_command == "list":
        for key in list_keys(store):
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            print(f"{key.key_id}\t{key.tenant}\t{key.name}\t{key.created_at:%Y-%m-%d %H:%M}\t{state}")
    elif args.keys_command == "revoke":
        if not revoke_key(store, args.key_id):
            print(f"no key with id {args.key_id}", file=sys.stderr)
            return 1
        print(f"revoked {args.key_id}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="manage API keys")
    add_store_args(keys)
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    create = ksub.add_parser("create", help="create a key bound to a tenant")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", default="")
    ksub.add_parser("list", help="list keys (never their secrets)")
    revoke = ksub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)
