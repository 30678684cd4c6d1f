"""Slow-client benchmark: a slowloris against `agentmortem serve` with its default limits.

Starts `serve` on the embedded default in a temporary directory. First measures a
well-behaved client alone: OTLP/HTTP exports of 50 spans and `GET /v1/runs` on the API,
back to back, latency p50/p99. Then opens `--connections` connections (default 800), half
to the OTLP/HTTP port and half to the API port; on each port half trickle their headers
and half their body, one byte a second each (a classic slowloris: never silent long
enough for an idle timeout). Meanwhile the well-behaved client goes on. Prints, per kind,
how many connections the server closed, how many got a 408, the p50/max time to close,
the well-behaved client's latency and errors under attack, and the server's RSS.

    python tests/benchmarks/bench_slow_clients.py [--connections 800] [--seconds 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from tests.support.otlp_clients import make_request  # noqa: E402
from tests.support.servers import start_server  # noqa: E402
from tests.support.slow_sockets import RawConnection, connect, drive, http_request  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class WellBehaved:
    """Alternates an OTLP/HTTP export and a `GET /v1/runs`, recording latencies and failures."""

    def __init__(self, otlp: str, api: str) -> None:
        self.otlp, self.api = otlp, api
        self.latencies: list[float] = []
        self.failures: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        body, _ = make_request(50, "well-behaved")
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                for call in (lambda: client.post(f"{self.otlp}/v1/traces", content=body,
                                                 headers={"content-type": "application/x-protobuf"}),
                             lambda: client.get(f"{self.api}/v1/runs")):
                    started = time.perf_counter()
                    try:
                        status = call().status_code
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    if status == 200:
                        self.latencies.append(time.perf_counter() - started)
                    else:
                        self.failures[str(status)] = self.failures.get(str(status), 0) + 1
                self._stop.wait(0.05)

    def run_for(self, seconds: float) -> None:
        self._thread.start()
        time.sleep(seconds)
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def summary(self) -> str:
        if not self.latencies:
            return f"no successful request; failures {self.failures}"
        ms = sorted(x * 1000 for x in self.latencies)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        return (f"{len(ms)} requests, p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, "
                f"failures {self.failures or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=800)
    parser.add_argument("--seconds", type=float, default=60, help="longest the attack is kept up")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        srv = start_server(Path(tmp))
        otlp, api_port = srv.http_url, srv.ports["api_port"]
        api = f"http://127.0.0.1:{api_port}"
        try:
            alone = WellBehaved(otlp, api)
            alone.run_for(5)
            rss_before = rss_mb(srv.proc.pid)

            export = http_request("/v1/traces", make_request(20, "slowloris")[0])
            post = http_request("/v1/runs", b'{"run_id": "x", "events": []}' + b" " * 2000, "application/json")
            kinds: dict[str, list[RawConnection]] = {}
            quarter = args.connections // 4
            for port_name, port, request in (("otlp", srv.http_port, export), ("api", api_port, post)):
                body_at = request.index(b"\r\n\r\n") + 4
                kinds[f"{port_name} headers"] = [connect(port, then=request) for _ in range(quarter)]
                kinds[f"{port_name} body"] = [connect(port, first=request[:body_at], then=request[body_at:])
                                              for _ in range(quarter)]
            everyone = [c for conns in kinds.values() for c in conns]
            under_attack = WellBehaved(otlp, api)
            under_attack.start()
            peak = [rss_before]

            def watch() -> bool:
                peak[0] = max(peak[0], rss_mb(srv.proc.pid))
                return not any(c.open for c in everyone)

            started = time.monotonic()
            drive(everyone, seconds=args.seconds, drip_every=1.0, until=watch)
            attack_seconds = time.monotonic() - started
            under_attack.stop()

            print(f"{len(everyone)} slow connections, one byte a second each, against serve's default limits")
            for kind, conns in kinds.items():
                closed = sorted(c.closed_after for c in conns if not c.open)
                got_408 = sum(1 for c in conns if c.status == 408)
                timing = (f"closed after p50 {statistics.median(closed):.1f} s, max {closed[-1]:.1f} s"
                          if closed else "none closed")
                print(f"  {kind:<13} {len(closed):>4}/{len(conns)} closed, {got_408:>4} got 408; {timing}")
            print(f"attack lasted {attack_seconds:.1f} s (until every slow connection was closed, or --seconds)")
            print(f"well-behaved client alone:        {alone.summary()}")
            print(f"well-behaved client under attack: {under_attack.summary()}")
            print(f"server RSS: {rss_before:.0f} MB before, {peak[0]:.0f} MB at most during the attack")
            for conn in everyone:
                conn.close()
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
