"""What `pip install oomguard` installs: one import name, every package, the types.

The wheel is built from this checkout (no build isolation: setuptools comes with the test
extra) and installed into a fresh virtualenv, without its dependencies and without an index;
the dependencies are lent from this environment through a path file, so the installed
`oomguard` command really runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
MANIFEST = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n"


def _package_folders() -> set[str]:
    """Every folder with an __init__.py, by the name it is imported as."""
    found = set()
    for name, folder in SETUPTOOLS["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            if "__pycache__" not in relative.parts:
                found.add(".".join((name, *relative.parts)))
    return found


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(SETUPTOOLS["packages"])
    assert _package_folders() - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - _package_folders() == set(), "listed, but no such package folder"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools writes build/ and egg-info into the source tree
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "oomguard", *SETUPTOOLS["package-dir"].values()):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(source)],
        capture_output=True, text=True, check=False, timeout=300, cwd=source)
    assert done.returncode == 0, done.stderr
    [built] = out.glob("oomguard-*.whl")
    return built


def test_the_wheel_holds_one_top_level_name_and_its_types(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"oomguard"}
    assert "oomguard/py.typed" in names
    for package in SETUPTOOLS["packages"]:
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    assert "oomguard/policies/rules/oom101_memory_limit_missing.py" in names


def test_installed_into_a_fresh_virtualenv(wheel: Path, tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    bindir = env / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    purelib = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip())
    before = set(os.listdir(purelib))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)], capture_output=True, text=True, check=False,
        timeout=300)
    assert done.returncode == 0, done.stderr
    added = {name for name in set(os.listdir(purelib)) - before
             if not name.endswith(".dist-info") and name != "__pycache__"}
    assert added == {"oomguard"}
    # the dependencies, lent from this environment (after the fresh one's own packages)
    (Path(purelib) / "lent.pth").write_text(sysconfig.get_path("purelib") + "\n")
    where = subprocess.run(
        [str(python), "-c", "import oomguard.policies.engine as e; print(e.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert where.startswith(str(purelib)), where
    version = subprocess.run([str(bindir / "oomguard"), "--version"], capture_output=True,
                             text=True, check=False, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("oomguard "), version.stderr
    (tmp_path / "pod.yaml").write_text(MANIFEST)
    lint = subprocess.run([str(bindir / "oomguard"), "lint", "pod.yaml"], capture_output=True,
                          text=True, check=False, cwd=tmp_path)
    assert lint.returncode == 1 and "OOM101" in lint.stdout, lint.stdout + lint.stderr
    module = subprocess.run([str(python), "-m", "oomguard", "rules"], capture_output=True,
                            text=True, check=False, cwd=tmp_path)
    assert module.returncode == 0 and "OOM101" in module.stdout, module.stderr
