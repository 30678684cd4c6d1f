"""The `agentmortem` command line: serve, collector, analyzer, api, explain, demo, semconv report, keys, migrate.

`serve` runs every component that exists in one process (the embedded chDB engine
allows one engine per process): the collector, then the analyzer, then the HTTP API. `collector`,
`analyzer` and `api` run one component alone for server deployments (`analyzer --shard i/n`
lets several analyzers share a ClickHouse server). All stop cleanly on SIGTERM/SIGINT
after flushing admitted spans. `explain` prints a post-mortem; `demo` sends agent runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from agentmortem.analyzer.api.service import ApiService
from agentmortem.analyzer.engine.config import AnalyzerSettings, Shard
from agentmortem.analyzer.engine.migrations import migrate_analyzer
from agentmortem.analyzer.engine.service import AnalyzerService
from agentmortem.collector.migrations import migrate_collector
from agentmortem.collector.service import CollectorService
from agentmortem.platform.auth import create_key, list_keys, revoke_key
from agentmortem.platform.hosting import raise_open_files_limit
from agentmortem.platform.logs import configure_logging
from agentmortem.platform.settings import Settings
from agentmortem.platform.store import Store, StoreError, StoreInUse
from agentmortem.semconv.cost import configured_overrides

log = logging.getLogger("agentmortem")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    for name in ("clickhouse_url", "host", "otlp_grpc_port", "otlp_http_port", "api_port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def write_ready_file(path: str, ports: dict[str, int]) -> None:
    """Publish the bound ports at `path` atomically (written aside, then renamed): whoever polls for
    the file never reads it half-written."""
    target = Path(path)
    aside = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    aside.write_text(json.dumps(ports))
    os.replace(aside, target)


async def _run_services(services: list, ready_file: str | None,
                        after_start: Callable[[dict[str, int]], None] | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started = []
    try:
        for service in services:
            await service.start()
            started.append(service)
        ports: dict[str, int] = {}
        for service in started:
            ports.update({k: v for k, v in vars(service).items() if k.endswith("_port")})
        if ready_file:
            write_ready_file(ready_file, ports)
        print("agentmortem is running; press Ctrl+C to stop", file=sys.stderr, flush=True)
        if after_start is not None:
            background = asyncio.create_task(asyncio.to_thread(after_start, ports))
        await stop.wait()
        log.info("shutting down")
        if after_start is not None and not background.done():
            background.cancel()
    finally:
        for service in reversed(started):
            await service.stop()


def _local_host(settings: Settings) -> str:
    """The address this machine reaches our listeners on (loopback when bound to every interface)."""
    return "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host


def _serve(args: argparse.Namespace, make: Callable[[Settings, Store], list],
           after_start: Callable[[Settings, dict[str, int]], None] | None = None) -> int:
    """Run the services `make` builds on one store until SIGTERM/SIGINT, then close the store."""
    settings = _settings(args)
    store = Store(settings.clickhouse_url)
    hook = (lambda ports: after_start(settings, ports)) if after_start is not None else None
    services = make(settings, store)
    raise_open_files_limit(settings, sum(getattr(service, "listeners", 0) for service in services))
    try:
        asyncio.run(_run_services(services, args.ready_file, after_start=hook))
    finally:
        store.close()
    return 0


def cmd_collector(args: argparse.Namespace) -> int:
    return _serve(args, lambda settings, store: [CollectorService(settings, store)])


def _send_demo_to_self(settings: Settings, ports: dict[str, int]) -> None:
    """`serve --demo`: play the demo scenarios into this process's own OTLP/HTTP receiver."""
    from agentmortem.demo.send import send_demo

    if settings.require_auth:
        log.warning("--demo skipped: AGENTMORTEM_REQUIRE_AUTH is on (use `agentmortem demo --api-key …`)")
        return
    host = _local_host(settings)
    try:
        sent = send_demo(f"http://{host}:{ports['http_port']}")
    except Exception:  # the demo must never take the server down
        log.exception("demo data could not be sent")
        return
    log.info("demo: sent %d agent runs; post-mortems appear within seconds at http://%s:%s/",
             len(sent), host, ports.get("api_port"))


def _all_services(settings: Settings, store: Store) -> list:
    collector = CollectorService(settings, store)
    analyzer = AnalyzerService(store, AnalyzerSettings(), registry=collector.metrics.registry,
                               ttl_days=settings.ttl_days)
    return [collector, analyzer, ApiService(settings, store, ingest=collector.ingest)]


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(args, _all_services, after_start=_send_demo_to_self if args.demo else None)


def cmd_api(args: argparse.Namespace) -> int:
    return _serve(args, lambda settings, store: [ApiService(settings, store)])


def cmd_analyzer(args: argparse.Namespace) -> int:
    analyzer_settings = AnalyzerSettings()
    try:
        shard = Shard.parse(args.shard) if args.shard else analyzer_settings.shard
    except ValueError as exc:
        print(f"invalid --shard: {exc}", file=sys.stderr)
        return 2
    return _serve(args, lambda settings, store: [
        AnalyzerService(store, analyzer_settings, shard=shard, ttl_days=settings.ttl_days)])


def _explain_via_api(settings: Settings, ident: str) -> int:
    """`explain` while `serve` holds the embedded data directory: ask its API for the post-mortem."""
    import urllib.error
    import urllib.parse
    import urllib.request

    from rich.console import Console
    from rich.markdown import Markdown

    host = _local_host(settings)
    base = f"http://{host}:{settings.api_port}"
    request = urllib.request.Request(f"{base}/v1/runs/{urllib.parse.quote(ident, safe='')}/explanation?format=markdown")
    if key := os.environ.get("AGENTMORTEM_API_KEY"):
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            markdown = response.read().decode()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        print(f"the running server's API ({base}) answered {exc.code}: {detail}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"and its API at {base} is not reachable ({exc})", file=sys.stderr)
        return 1
    console = Console()
    console.print(Markdown(markdown))
    console.print(f"(from the running server's API; the run tree is on its page: {base}/runs/{ident})", style="dim")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from agentmortem.cli.explain import explain_command  # rich and the rules load only when needed

    settings = _settings(args)
    store = Store(settings.clickhouse_url)
    try:
        migrate_collector(store, settings.ttl_days)
    except StoreInUse as exc:
        print(f"{exc}\nasking its API instead …", file=sys.stderr)
        return _explain_via_api(settings, args.id)
    migrate_analyzer(store)
    return explain_command(store, args.id)


def cmd_demo(args: argparse.Namespace) -> int:
    from agentmortem.demo.send import send_demo

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else None
    flavours = ("genai", "openinference") if args.flavour == "both" else (args.flavour,)
    sent = send_demo(args.endpoint, flavours=flavours, headers=headers)
    for s in sent:
        print(f"{s.scenario:<32} {s.flavour:<14} trace {s.trace_id}")
    print(f"sent {len(sent)} agent runs to {args.endpoint}; see one with: agentmortem explain <trace id>",
          file=sys.stderr)
    return 0


def cmd_semconv_report(args: argparse.Namespace) -> int:
    from agentmortem.semconv.report import coverage_report, render_report

    settings = _settings(args)
    store = Store(settings.clickhouse_url)
    migrate_collector(store, settings.ttl_days)
    report = coverage_report(store)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render_report(report, width=args.width), end="")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = Store(settings.clickhouse_url)
    applied = migrate_collector(store, settings.ttl_days) + migrate_analyzer(store)
    print(f"{len(applied)} migration(s) applied; schema is current at {store.location.describe()}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = Store(settings.clickhouse_url)
    migrate_collector(store, settings.ttl_days)
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


def _add_store_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clickhouse-url", dest="clickhouse_url", help="overrides AGENTMORTEM_CLICKHOUSE_URL")


def _add_listen_args(parser: argparse.ArgumentParser) -> None:
    _add_store_args(parser)
    parser.add_argument("--host", help="bind address (AGENTMORTEM_HOST)")
    parser.add_argument("--grpc-port", dest="otlp_grpc_port", type=int, help="OTLP/gRPC port (0 = any free)")
    parser.add_argument("--http-port", dest="otlp_http_port", type=int, help="OTLP/HTTP port (0 = any free)")
    parser.add_argument("--ready-file", help="write the bound ports as JSON here once listening")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentmortem", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run every component in one process (embedded default)")
    _add_listen_args(serve)
    serve.add_argument("--api-port", dest="api_port", type=int, help="API port (AGENTMORTEM_API_PORT; 0 = any free)")
    serve.add_argument("--demo", action="store_true",
                       help="once listening, send the demo agent runs (healthy + one per failure class) to itself")
    serve.set_defaults(func=cmd_serve)
    coll = sub.add_parser("collector", help="run the OTLP receivers alone")
    _add_listen_args(coll)
    coll.set_defaults(func=cmd_collector)
    api = sub.add_parser("api", help="run the HTTP query API and run pages alone (server deployments)")
    _add_store_args(api)
    api.add_argument("--host", help="bind address (AGENTMORTEM_HOST)")
    api.add_argument("--api-port", dest="api_port", type=int, help="API port (AGENTMORTEM_API_PORT; 0 = any free)")
    api.add_argument("--ready-file", help="write the bound port as JSON here once listening")
    api.set_defaults(func=cmd_api)
    analyzer = sub.add_parser("analyzer", help="run the analyzer alone (server deployments)")
    _add_store_args(analyzer)
    analyzer.add_argument("--shard", help="this analyzer's share of traces, i/n (AGENTMORTEM_ANALYZER_SHARD)")
    analyzer.add_argument("--ready-file", help="write {} here once running")
    analyzer.set_defaults(func=cmd_analyzer)
    explain = sub.add_parser("explain", help="print the post-mortem of a run or trace")
    _add_store_args(explain)
    explain.add_argument("id", help="a run id or a trace id (or any span id of the trace)")
    explain.set_defaults(func=cmd_explain)
    demo = sub.add_parser("demo", help="send realistic agent runs to a running collector")
    demo.add_argument("--endpoint", default="http://127.0.0.1:4318", help="OTLP/HTTP base URL")
    demo.add_argument("--flavour", choices=("genai", "openinference", "both"), default="genai",
                      help="attribute convention of the spans")
    demo.add_argument("--api-key", help="sent as Authorization: Bearer when the collector requires keys")
    demo.set_defaults(func=cmd_demo)
    semconv = sub.add_parser("semconv", help="semantic-convention tools")
    semconv_sub = semconv.add_subparsers(dest="semconv_command", required=True)
    report = semconv_sub.add_parser(
        "report", help="which conventions and categories the stored spans map to, unmapped keys, unpriced models")
    _add_store_args(report)
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.add_argument("--width", type=int, default=100, help="table width in characters")
    report.set_defaults(func=cmd_semconv_report)
    mig = sub.add_parser("migrate", help="create or upgrade the tables and exit")
    _add_store_args(mig)
    mig.set_defaults(func=cmd_migrate)
    keys = sub.add_parser("keys", help="manage API keys")
    _add_store_args(keys)
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    create = ksub.add_parser("create", help="create a key bound to a tenant")
    create.add_argument("--tenant", required=True)
    create.add_argument("--name", default="")
    ksub.add_parser("list", help="list keys (never their secrets)")
    revoke = ksub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
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


if __name__ == "__main__":
    sys.exit(main())
