"""The quality gates `./scripts/test` runs before the tests: ruff, the import contract, mypy.

Usage: .venv/bin/python scripts/gates.py [GATE ...]   (default: every gate; GATE is ruff, imports or mypy)

Each gate prints one status line, and its tool's output when it fails; the exit status is 1 when any
gate failed, and the last line names them. The tools come from the same environment as this
interpreter (the test extras install them).

import-linter and mypy find our modules by walking folders, and the repository's folders become the
one `agentmortem` namespace only when installed (pyproject's `package-dir`). So both run inside
`build/namespace/`, a tree of symlinks made from that mapping that lays the folders out as installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
TREE = ROOT / "build" / "namespace"


def package_dirs() -> dict[str, Path]:
    """Each mapped package and the folder that holds it (pyproject's `tool.setuptools.package-dir`)."""
    mapping = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-dir"]
    return {package: ROOT / folder for package, folder in mapping.items()}


def link_tree(mapping: Mapping[str, Path], into: Path) -> None:
    """Lay `mapping` out under `into` as installed: a package with no mapped subpackage is one symlink to
    its folder; one with mapped subpackages is a directory of symlinks to its folder's entries, with
    the mapped subpackages linked in next to them (so nothing is ever written into the repository)."""
    for package in sorted(mapping, key=lambda name: name.count(".")):
        target = into.joinpath(*package.split("."))
        mapped_children = {name.rpartition(".")[2] for name in mapping if name.rpartition(".")[0] == package}
        if not mapped_children:
            target.symlink_to(mapping[package], target_is_directory=True)
            continue
        target.mkdir(parents=True)
        for entry in mapping[package].iterdir():
            if entry.name not in mapped_children and entry.name != "__pycache__":
                (target / entry.name).symlink_to(entry)


def namespace_tree() -> Path:
    """`build/namespace/`, rebuilt from the current mapping (the tools' caches beside it are kept)."""
    mapping = package_dirs()
    for top in {package.partition(".")[0] for package in mapping}:
        shutil.rmtree(TREE / top, ignore_errors=True)
    TREE.mkdir(parents=True, exist_ok=True)
    link_tree(mapping, TREE)
    return TREE


def tool(name: str) -> str:
    """A console script installed next to this interpreter."""
    return str(Path(sys.executable).with_name(name))


def ruff() -> list[str]:
    return [tool("ruff"), "check", "--quiet", "."]


def imports() -> list[str]:
    return [tool("lint-imports"), "--no-logo", "--no-cache", str(PYPROJECT)]


def mypy() -> list[str]:
    return [tool("mypy"), "--config-file", str(PYPROJECT)]


# name -> (command, directory it runs in)
GATES: dict[str, tuple[Callable[[], list[str]], Callable[[], Path]]] = {
    "ruff": (ruff, lambda: ROOT),
    "imports": (imports, namespace_tree),
    "mypy": (mypy, namespace_tree),
}


def run_gate(name: str) -> bool:
    command, where = GATES[name]
    done = subprocess.run(command(), cwd=where(), capture_output=True, text=True)
    if done.returncode == 0:
        print(f"gate {name}: passed", flush=True)
        return True
    print(done.stdout + done.stderr, end="", flush=True)
    print(f"gate {name}: FAILED ({' '.join(command()[1:])} exited {done.returncode})", flush=True)
    return False


def main(argv: list[str]) -> int:
    names = argv or list(GATES)
    unknown = [name for name in names if name not in GATES]
    if unknown:
        print(f"unknown gate(s): {', '.join(unknown)}; the gates are {', '.join(GATES)}", file=sys.stderr)
        return 2
    failed = [name for name in names if not run_gate(name)]
    if failed:
        print(f"quality gates failed: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
