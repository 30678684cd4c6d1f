"""The wheel: one top-level name, `agentmortem`, and every module and data file of the component folders.

pyproject.toml lists the packages explicitly (setuptools cannot find packages across a `package-dir`
mapping), so a new subpackage or data file left out of that list would install without it; this
builds the wheel from a copy of the sources (the build writes `build/` and `*.egg-info` beside them)
with the environment's setuptools and reads what it holds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPING: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def source_files() -> dict[str, Path]:
    """Every file of the mapped folders, by the path it must have inside the wheel."""
    found: dict[str, Path] = {}
    for package, folder in MAPPING.items():
        base = PurePosixPath(*package.split("."))
        for path in sorted((ROOT / folder).rglob("*")):
            relative = path.relative_to(ROOT / folder)
            if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
                found.setdefault(str(base / relative.as_posix()), path)
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    for folder in set(MAPPING.values()):
        shutil.copytree(ROOT / folder, src / folder, ignore=IGNORED)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                           "--wheel-dir", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("agentmortem-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_installs_only_agentmortem(wheel: zipfile.ZipFile) -> None:
    (top_level,) = (name for name in wheel.namelist() if name.endswith(".dist-info/top_level.txt"))
    assert wheel.read(top_level).decode().split() == ["agentmortem"]
    outside = [name for name in wheel.namelist() if name.split("/")[0] != "agentmortem"
               and not name.split("/")[0].endswith(".dist-info")]
    assert outside == []


def test_the_wheel_holds_every_module_and_data_file_of_the_folders(wheel: zipfile.ZipFile) -> None:
    expected = source_files()
    missing = sorted(set(expected) - set(wheel.namelist()))
    assert missing == [], "not in the wheel (add the package to pyproject's packages, or the file to package-data)"
    kinds = {PurePosixPath(name).suffix for name in expected if not name.endswith(".py")}
    assert {".sql", ".proto", ".html"} <= kinds  # the migrations, the native-insert schema, the page templates
    installed = {name for name in wheel.namelist() if name.startswith("agentmortem/")}
    assert installed == set(expected)
