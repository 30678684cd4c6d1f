"""Fixtures for the semconv tests: genuine spans from real libraries, loaded into real chDB.

Each producer runs once per session in its own interpreter (instrumentations patch globally
and read their switches from the environment at instrumentation time) and hands back one
serialized `ExportTraceServiceRequest`; tests load it with the collector's own conversion.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentmortem.platform.store import Store
from agentmortem.semconv.model import CanonicalSpan
from tests.support import conversation, openai_stub
from tests.support.canonical_spans import diff, load, python_spans, sql_spans

ROOT = Path(__file__).resolve().parents[2]
VERCEL_DIR = ROOT / "tests" / "support" / "producers" / "vercel"


@pytest.fixture(scope="session")
def stub_url() -> Iterator[str]:
    """The OpenAI-compatible stub, started in the test process."""
    server, url = openai_stub.start()
    yield url
    server.shutdown()


def _run(cmd: list[str], env: dict[str, str], out: Path, stdin: str = "", cwd: Path = ROOT) -> bytes:
    done = subprocess.run(cmd + [str(out)], env=env, cwd=cwd, input=stdin, capture_output=True, text=True,
                          timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"producer {cmd} failed:\n{done.stdout}\n{done.stderr}")
    return out.read_bytes()


@pytest.fixture(scope="session")
def produce(stub_url: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., bytes]:
    """`produce(module, **env)` → serialized spans of that producer (run once per arguments)."""
    cache: dict[tuple, bytes] = {}

    def run(module: str, **extra_env: str) -> bytes:
        key = (module, tuple(sorted(extra_env.items())))
        if key not in cache:
            env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
            env.update({"STUB_URL": stub_url, "PYTHONPATH": str(ROOT)}, **extra_env)
            out = tmp_path_factory.mktemp("spans") / "spans.pb"
            cache[key] = _run([sys.executable, "-m", f"tests.support.producers.{module}"], env, out)
        return cache[key]

    return run


@pytest.fixture(scope="session")
def produce_with_logs(stub_url: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[bytes, bytes]]:
    """`produce_with_logs(module, **env)` → (serialized spans, serialized log records) of a producer
    that also writes its log records (to its output path + ".logs")."""
    def run(module: str, **extra_env: str) -> tuple[bytes, bytes]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
        env.update({"STUB_URL": stub_url, "PYTHONPATH": str(ROOT)}, **extra_env)
        out = tmp_path_factory.mktemp("spans") / "spans.pb"
        spans = _run([sys.executable, "-m", f"tests.support.producers.{module}"], env, out)
        return spans, Path(str(out) + ".logs").read_bytes()

    return run


@pytest.fixture(scope="session")
def vercel_spans(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Spans from the Vercel AI SDK in Node (npm packages pinned in its package.json)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed")
    if not (VERCEL_DIR / "node_modules" / "ai").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=VERCEL_DIR, check=True,
                       capture_output=True, timeout=300)
    out = tmp_path_factory.mktemp("vercel") / "spans.pb"
    return _run(["node", "produce.mjs"], dict(os.environ), out, stdin=conversation.as_json(), cwd=VERCEL_DIR)


@pytest.fixture
def loaded(store: Store) -> Callable[[bytes], list[CanonicalSpan]]:
    """Load spans, check SQL and Python agree on every one, return them (SQL's)."""

    def run(data: bytes) -> list[CanonicalSpan]:
        load(store, data)
        from_sql, from_python = sql_spans(store), python_spans(store)
        assert [s.span_id for s in from_sql] == [s.span_id for s in from_python]
        for a, b in zip(from_sql, from_python):
            assert a == b, f"SQL and Python disagree on span {a.span_name!r}:\n{diff(a, b)}"
        return from_sql

    return run
