"""Ingest benchmark: spans (log records, data points) per second acknowledged *and durable*,
OTLP/HTTP protobuf and gRPC.

Starts `agentmortem collector` (or `serve`, with `--command serve`) on the embedded
default in a temporary directory, then 4 client processes each send pre-encoded requests
of 500 GenAI-shaped spans (~15 attributes each; `--signal logs`: GenAI log events,
`--signal metrics`: histogram data points) as fast as acknowledgements come back.
After the run the server is stopped and the stored count is checked against the
acknowledged count. Besides items/s it prints the server's CPU time per item, which
stays meaningful when other work shares the cores.

    python tests/benchmarks/bench_ingest.py [--signal traces|logs|metrics] [--seconds 15] [--clients 4]
                                            [--items 500] [--command serve]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agentmortem.collector.signals import LOGS, METRICS, TRACES, Signal  # noqa: E402
from tests.support.pressure import genai_request  # noqa: E402
from tests.support.signal_load import genai_logs_request, genai_metrics_request  # noqa: E402

BODIES = {TRACES.name: genai_request, LOGS.name: genai_logs_request, METRICS.name: genai_metrics_request}
from tests.support.procfs import cpu_seconds  # noqa: E402
from tests.support.servers import query_data_dir, start_server  # noqa: E402


def _client(protocol: str, target: str, method: str, bodies: list[bytes], seconds: float, out: mp.Queue) -> None:
    acked = refused = 0
    deadline = time.monotonic() + seconds
    i = 0
    if protocol == "http":
        import httpx

        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                r = client.post(target, content=bodies[i % len(bodies)],
                                headers={"content-type": "application/x-protobuf"})
                if r.status_code == 200:
                    acked += 1
                else:
                    refused += 1
                i += 1
    else:
        import grpc

        with grpc.insecure_channel(target) as channel:
            export = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
            while time.monotonic() < deadline:
                try:
                    export(bodies[i % len(bodies)], timeout=30)
                    acked += 1
                except grpc.RpcError:
                    refused += 1
                i += 1
    out.put((acked, refused))


def run(signal: Signal, protocol: str, clients: int, spans: int, seconds: float, command: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        srv = start_server(Path(tmp), command=command)
        target = f"{srv.http_url}{signal.http_path}" if protocol == "http" else srv.grpc_target
        method = f"/{signal.grpc_service}/Export"
        bodies = [BODIES[signal.name](spans) for _ in range(8)]
        out: mp.Queue = mp.Queue()
        procs = [mp.Process(target=_client, args=(protocol, target, method, bodies, seconds, out))
                 for _ in range(clients)]
        cpu_before = cpu_seconds(srv.proc.pid)
        started = time.monotonic()
        for p in procs:
            p.start()
        results = [out.get() for _ in procs]
        elapsed = time.monotonic() - started
        server_cpu = cpu_seconds(srv.proc.pid) - cpu_before
        for p in procs:
            p.join()
        srv.stop()
        acked = sum(a for a, _ in results) * spans
        refused = sum(r for _, r in results)
        stored = sum(query_data_dir(Path(tmp), f"SELECT count() FROM {table}")[0][0] for table in signal.tables)
        unit = signal.items.replace("_", " ")
        print(f"{command} {signal.name} {protocol:5s} clients={clients} {unit}/request={spans}: "
              f"{acked / elapsed:,.0f} {unit}/s acknowledged ({acked:,} in {elapsed:.1f}s, {refused} refused "
              f"requests, {stored:,} stored); server CPU {server_cpu / max(acked, 1) * 1e6:.1f} µs/{signal.item}")
        assert stored == acked, "stored count differs from acknowledged count"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--signal", choices=[TRACES.name, LOGS.name, METRICS.name], default=TRACES.name)
    parser.add_argument("--items", "--spans", type=int, default=500, help="spans (records, points) per request")
    parser.add_argument("--protocol", choices=["http", "grpc", "both"], default="both")
    parser.add_argument("--command", choices=["collector", "serve"], default="collector",
                        help="collector alone, or serve (collector + analyzer + API sharing the cores)")
    args = parser.parse_args()
    print(f"cpu cores: {os.cpu_count()}")
    for protocol in (["http", "grpc"] if args.protocol == "both" else [args.protocol]):
        signal = next(s for s in (TRACES, LOGS, METRICS) if s.name == args.signal)
        run(signal, protocol, args.clients, args.items, args.seconds, args.command)


if __name__ == "__main__":
    main()
