"""Memory benchmark: the collector's peak resident memory under overload, and what it kept.

Starts `agentmortem collector` (or `serve`) on a fresh embedded data directory with the
given in-flight budget, then many concurrent senders (half OTLP/HTTP, half gRPC) send
large requests and retry every refusal at once. Prints the server's idle and peak
resident memory (VmRSS sampled, VmHWM from /proc), the answers the senders got, and
checks every acknowledged request against what was stored.

    python tests/benchmarks/bench_memory.py [--senders 64] [--spans 8000] [--budget-mb 256] [--seconds 20]
                                            [--protocol both|http|grpc] [--gzip] [--command serve] [--env NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.pressure import Template, apply_pressure  # noqa: E402
from tests.support.procfs import cpu_seconds  # noqa: E402
from tests.support.servers import query_data_dir, start_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=64, help="concurrent senders, half HTTP and half gRPC")
    parser.add_argument("--spans", type=int, default=8000, help="spans per request")
    parser.add_argument("--budget-mb", type=float, default=256, help="AGENTMORTEM_MAX_INFLIGHT_BYTES in MiB")
    parser.add_argument("--protocol", choices=["both", "http", "grpc"], default="both")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--gzip", action="store_true", help="HTTP senders gzip their bodies")
    parser.add_argument("--command", choices=["collector", "serve"], default="collector")
    parser.add_argument("--env", action="append", default=[], help="extra NAME=VALUE for the server")
    args = parser.parse_args()
    env = {"AGENTMORTEM_MAX_INFLIGHT_BYTES": str(int(args.budget_mb * 1024 * 1024))}
    env.update(item.split("=", 1) for item in args.env)
    grpc_senders = {"both": args.senders // 2, "http": 0, "grpc": args.senders}[args.protocol]
    http_senders = args.senders - grpc_senders
    body_mb = len(Template.of(args.spans).body) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        srv = start_server(Path(tmp), env, command=args.command)
        cpu_before = cpu_seconds(srv.proc.pid)
        try:
            result = apply_pressure(
                srv.proc.pid, srv.http_url, srv.grpc_target, http_senders=http_senders, grpc_senders=grpc_senders,
                spans=args.spans, seconds=args.seconds, use_gzip=args.gzip,
            )
            server_cpu = cpu_seconds(srv.proc.pid) - cpu_before
        finally:
            code = srv.stop()
        out = result.outcome
        stored = dict(query_data_dir(Path(tmp), "SELECT TraceId, count() FROM otel_traces GROUP BY TraceId"))
    lost = [t for t in out.acked_traces if stored.get(t, 0) < args.spans]
    print(f"{args.command}: {http_senders} HTTP + {grpc_senders} gRPC senders, {args.spans} spans/request "
          f"({body_mb:.1f} MB protobuf{', gzip over HTTP' if args.gzip else ''}), budget {args.budget_mb:g} MiB, "
          f"{args.seconds:g} s")
    print(f"  server RSS: idle {result.idle_rss_kib / 1024:,.0f} MiB, peak sampled {result.peak_rss_kib / 1024:,.0f} "
          f"MiB, VmHWM {result.hwm_kib / 1024:,.0f} MiB; in-flight budget used at most "
          f"{result.peak_inflight_bytes / 2**20:,.0f} MiB")
    print(f"  answers: {dict(sorted(out.answers.items()))}; refusals without a retry hint: "
          f"{out.refusals_without_hint}; unexpected: {out.unexpected[:3]}")
    print(f"  acknowledged {len(out.acked_traces)} requests ({len(out.acked_traces) * args.spans:,} spans), "
          f"stored {sum(stored.values()):,} spans, acknowledged but missing: {len(lost)}; server exit code {code}")
    acked_spans = max(len(out.acked_traces) * args.spans, 1)
    print(f"  throughput: {acked_spans / args.seconds:,.0f} spans/s acknowledged; server CPU {server_cpu:.1f} s "
          f"({server_cpu / acked_spans * 1e6:.0f} µs per acknowledged span)")
    if lost or out.unexpected:
        sys.exit(1)


if __name__ == "__main__":
    main()
