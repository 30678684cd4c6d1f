"""`agentmortem` commands under test, each in its own process on its own data directory:
servers on ephemeral ports, one-shot commands, and reading a stopped server's data."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ServerProcess:
    """An `agentmortem serve` subprocess on ephemeral ports."""

    proc: subprocess.Popen
    data_dir: Path
    grpc_port: int
    http_port: int
    log_path: Path
    ports: dict

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye."""
        self.stop(signal.SIGKILL)


def start_server(
    data_dir: Path, env_overrides: dict[str, str] | None = None, command: str = "serve", timeout: float = 60,
    args: Sequence[str] = (),
) -> ServerProcess:
    """Start `agentmortem <command> [args]` on `data_dir` and wait until it listens.

    As an operator deploys them, the stand-alone commands (`collector`, `analyzer`, `api`) start
    after `agentmortem migrate`; `serve` creates its tables itself."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ready = data_dir / f"ready-{uuid.uuid4().hex[:6]}.json"
    log_path = data_dir / f"server-{uuid.uuid4().hex[:6]}.log"
    env = dict(os.environ)
    env.update(
        {
            "AGENTMORTEM_CLICKHOUSE_URL": f"chdb://{data_dir / 'db'}",
            "AGENTMORTEM_OTLP_GRPC_PORT": "0",
            "AGENTMORTEM_OTLP_HTTP_PORT": "0",
            "AGENTMORTEM_API_PORT": "0",
            "AGENTMORTEM_ANALYZER_METRICS_PORT": "0",
            "AGENTMORTEM_HOST": "127.0.0.1",
        }
    )
    env.update(env_overrides or {})
    if command != "serve":
        migrate(env)
    log_file = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentmortem", command, *args, "--ready-file", str(ready)],
        env=env, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start in {timeout}s:\n{log_path.read_text()}")
        time.sleep(0.05)
    ports = json.loads(ready.read_text())
    return ServerProcess(proc, data_dir, ports.get("grpc_port", 0), ports.get("http_port", 0), log_path, ports)


def migrate(env: dict[str, str]) -> None:
    """`agentmortem migrate` in a subprocess, on the store `env` names."""
    out = subprocess.run([sys.executable, "-m", "agentmortem", "migrate"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr


def query_data_dir(data_dir: Path, sql: str) -> list[tuple]:
    """Run a query against a stopped server's data directory, in a separate process."""
    code = (
        "import json,sys\n"
        "from agentmortem.platform.store import Store\n"
        f"s = Store({('chdb://' + str(data_dir / 'db'))!r})\n"
        "rows = s.query(sys.stdin.read())\n"
        "print(json.dumps([list(r) for r in rows], default=str))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=sql, capture_output=True, text=True, timeout=120, check=True
    )
    return [tuple(r) for r in json.loads(out.stdout)]


def create_key_cli(data: Path, tenant: str) -> str:
    """`agentmortem keys create` in a subprocess (this process's engine holds another data directory)."""
    env = {**os.environ, "AGENTMORTEM_CLICKHOUSE_URL": f"chdb://{data / 'db'}"}
    migrate(env)  # `keys` manages keys in a store, it does not create one
    out = subprocess.run([sys.executable, "-m", "agentmortem", "keys", "create", "--tenant", tenant], env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    return re.search(r"^secret:\s+(\S+)$", out.stdout, re.M).group(1)


def wait_for(predicate: Callable[[], bool], timeout: float, log: Callable[[], str]) -> None:
    """Poll `predicate` until it holds; past `timeout` seconds fail with `log()` (the server's log)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, log()
        time.sleep(0.25)
