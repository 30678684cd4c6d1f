"""Two rules on every module of ours, read from its source:

- One namespace: nothing imports a bare `collector`, `analyzer` or `semconv` (installed, they are
  `agentmortem.collector`, … and nothing else is on the path; a bare import would find a
  user's own folder or another distribution of that name).
- Tests share helpers through `tests/support/` only: no module under `tests/` imports another
  test module, a conftest file or any other module of `tests/` outside `tests/support/`
  (fixtures reach tests through pytest; helpers through support modules).

Imports are read from the syntax tree: import statements (at any depth, relative ones resolved),
and module names in strings where Python imports them: `-m NAME` in a command line, the first
argument of `import_module`, `__import__`, `importorskip`, `find_spec`, `patch` and a dotted
`setattr`/`delattr` target, and Python source handed to an interpreter (`-c "from x import y"`).
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPING: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
FOLDERS = {folder: package for package, folder in MAPPING.items()} | {"tests": "tests"}
BARE = frozenset({"collector", "analyzer", "semconv"})
IMPORTING_CALLS = frozenset({"import_module", "__import__", "importorskip", "find_spec", "patch", "setattr",
                             "delattr"})
_DASH_M = re.compile(r"(?:^|\s)-m\s+([\w.]+)")
_CODE = re.compile(r"(?:^|[;\n])\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.\w+)*\.?$")


@dataclass(frozen=True)
class Imported:
    """A module name a source imports (for `from m import n`, `m.n`), where, and how."""

    name: str
    line: int
    how: str


def module_name(path: Path) -> str:
    """The dotted name a file of ours imports as (folders mapped as pyproject's `package-dir` says)."""
    relative = path.relative_to(ROOT)
    parts = [*FOLDERS[relative.parts[0]].split("."), *relative.parts[1:-1]]
    return ".".join(parts if path.name == "__init__.py" else [*parts, path.stem])


def our_files() -> list[Path]:
    """Every Python file of ours but this one (whose examples below hold what the scan must catch)."""
    return sorted(path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in path.parts and "node_modules" not in path.parts
                  and path != Path(__file__).resolve())


def _static_text(node: ast.AST) -> str | None:
    """A string literal, or an f-string's text with each replacement field as `{}`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _strip_field(name: str) -> str:
    """`tests.support.producers.{}` → `tests.support.producers` (the part known before running)."""
    return name.split("{}", 1)[0].rstrip(".")


def imports_of(source: str, module: str, is_package: bool = False) -> Iterator[Imported]:
    """Every module name `source` (the module `module`) imports, as `Imported`."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (Imported(alias.name, node.lineno, "import") for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield from (Imported(f"{base}.{alias.name}" if alias.name != "*" else base, node.lineno, "from")
                        for alias in node.names)
        elif isinstance(node, ast.List | ast.Tuple):
            texts = [_static_text(e) for e in node.elts]
            for flag, target in zip(texts, texts[1:]):
                if flag == "-m" and target:
                    yield Imported(_strip_field(target), node.lineno, "-m")
        elif isinstance(node, ast.Call) and _call_name(node) in IMPORTING_CALLS and node.args:
            target = _static_text(node.args[0])
            if target and _DOTTED.match(_strip_field(target) or "-"):
                yield Imported(_strip_field(target), node.lineno, f"{_call_name(node)}()")
        if isinstance(node, ast.Constant | ast.JoinedStr):
            text = _static_text(node) or ""
            for match in _DASH_M.finditer(text):
                yield Imported(_strip_field(match.group(1)), node.lineno, "-m in a string")
            for match in _CODE.finditer(text):
                yield Imported(_strip_field(match.group(1) or match.group(2)), node.lineno, "code in a string")


def bare_component(imported: Imported, module: str) -> bool:
    return imported.name.split(".")[0] in BARE


def outside_support(imported: Imported, module: str) -> bool:
    """A module of `tests/` other than the support package and the importer itself, or any conftest
    or test module (whatever path it is imported by)."""
    name = imported.name
    if name == module or name.startswith(module + "."):
        return False  # itself (e.g. a benchmark running its own function in a child process)
    parts = name.split(".")
    if any(part == "conftest" or part.startswith("test_") for part in parts):
        return True
    return parts[0] == "tests" and parts[:2] != ["tests", "support"]


def violations(rule, files: list[Path]) -> list[str]:  # noqa: ANN001
    found = []
    for path in files:
        module = module_name(path)
        for imported in imports_of(path.read_text(), module, path.name == "__init__.py"):
            if rule(imported, module):
                found.append(f"{path.relative_to(ROOT)}:{imported.line}: {imported.how} {imported.name}")
    return sorted(set(found))


def test_no_module_imports_a_bare_component_name() -> None:
    assert violations(bare_component, our_files()) == []


def test_tests_share_helpers_through_support_only() -> None:
    files = [path for path in our_files() if path.relative_to(ROOT).parts[0] == "tests"]
    assert violations(outside_support, files) == []


# The checks above pass on a clean tree whatever the scan misses; each form it must catch, caught:
CAUGHT = [
    (bare_component, "agentmortem.analyzer.x", "import collector.writer", "collector.writer"),
    (bare_component, "agentmortem.analyzer.x", "from analyzer.core import runs", "analyzer.core.runs"),
    (bare_component, "agentmortem.analyzer.x", "def f():\n    from semconv import keys", "semconv.keys"),
    (bare_component, "agentmortem.analyzer.x", 'subprocess.run([sys.executable, "-m", "collector"])', "collector"),
    (bare_component, "agentmortem.analyzer.x", 'run([sys.executable, "-m", f"analyzer.{name}"])', "analyzer"),
    (bare_component, "agentmortem.analyzer.x", 'os.system("python -m semconv.report")', "semconv.report"),
    (bare_component, "agentmortem.analyzer.x", 'importlib.import_module("semconv.table")', "semconv.table"),
    (bare_component, "agentmortem.analyzer.x", 'monkeypatch.setattr("collector.writer.LIMIT", 1)', "collector.writer.LIMIT"),
    (bare_component, "agentmortem.analyzer.x", 'mock.patch("analyzer.engine.load.to_span")', "analyzer.engine.load.to_span"),
    (bare_component, "agentmortem.analyzer.x", 'code = "import sys; from collector.store import Store"', "collector.store"),
    (outside_support, "tests.a.test_b", "from tests.conftest import engine_url", "tests.conftest.engine_url"),
    (outside_support, "tests.a.test_b", "from tests.a.api import conftest", "tests.a.api.conftest"),
    (outside_support, "tests.a.test_b", "from tests.semconv.test_compile import X", "tests.semconv.test_compile.X"),
    (outside_support, "tests.a.test_b", "from tests.a.emit import store_spans", "tests.a.emit.store_spans"),
    (outside_support, "tests.a.test_b", "from . import helpers", "tests.a.helpers"),
    (outside_support, "tests.a.test_b", "from .test_c import rows", "tests.a.test_c.rows"),
    (outside_support, "tests.a.test_b", "import conftest", "conftest"),
    (outside_support, "tests.a.test_b", 'run([python, "-m", f"tests.a.producers.{name}"])', "tests.a.producers"),
    (outside_support, "tests.a.test_b", 'code = f"from tests.b.bench import prepare; prepare({url!r})"',
     "tests.b.bench"),
]


@pytest.mark.parametrize(("rule", "module", "source", "name"), CAUGHT, ids=[c[2][:40] for c in CAUGHT])
def test_the_scan_catches(rule, module: str, source: str, name: str) -> None:  # noqa: ANN001
    assert name in [i.name for i in imports_of(source, module) if rule(i, module)]


ALLOWED = [
    (bare_component, "agentmortem.analyzer.x", "from agentmortem.collector import writer\nfrom . import runs"),
    (bare_component, "agentmortem.cli.x", 'run([sys.executable, "-m", "agentmortem", "collector", "--ready-file"])'),
    (bare_component, "agentmortem.analyzer.x", 'parser.add_parser("analyzer", help="run the analyzer alone")'),
    (outside_support, "tests.a.test_b", "from tests.support.engine import engine_url\nfrom tests.support import grafana"),
    (outside_support, "tests.a.test_b", 'run([python, "-m", f"tests.support.producers.{name}"])'),
    (outside_support, "tests.b.bench", 'code = f"from tests.b.bench import prepare; prepare({url!r})"'),
]


@pytest.mark.parametrize(("rule", "module", "source"), ALLOWED, ids=[a[2][:40] for a in ALLOWED])
def test_the_scan_lets_through(rule, module: str, source: str) -> None:  # noqa: ANN001
    assert [i for i in imports_of(source, module) if rule(i, module)] == []
