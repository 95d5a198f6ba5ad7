"""The pre-commit hooks, run by pre-commit itself (`try-repo`) on a sample repository.

pre-commit installs the hooks into their own virtualenv from this repository (PyPI is
reachable from CI); the environment is cached per test session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BAD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: x}]\n"
GOOD = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - name: a\n    image: x\n    resources:\n"
        "      requests: {memory: 64Mi, cpu: 10m}\n      limits: {memory: 64Mi, cpu: 10m}\n")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of this repository's working tree (try-repo reads a git repo)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp("hooks") / "oomguard"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(
        ".git", ".ci", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache",
        ".pytest_cache", "venv", ".venv"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hooks")
    return repo


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(hook_repo: Path, home: Path, project: Path, hook: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook, "--all-files",
         "--verbose"],
        cwd=project, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"})


def test_manifest_hook(tmp_path: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    project = tmp_path / "project"
    (project / "deploy").mkdir(parents=True)
    (project / "deploy" / "good.yaml").write_text(GOOD)
    (project / ".github").mkdir()
    (project / ".github" / "ci.yaml").write_text("on: [push]\njobs: {}\n")  # not Kubernetes
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "init")
    clean = try_repo(hook_repo, pre_commit_home, project, "oomguard")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (project / "deploy" / "bad.yaml").write_text(BAD)
    git(project, "add", "-A")
    failing = try_repo(hook_repo, pre_commit_home, project, "oomguard")
    assert failing.returncode == 1
    assert "OOM101 memory-limit-missing" in failing.stdout


def test_helm_hook(tmp_path: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "fixtures" / "charts" / "webapp", project / "charts" / "web")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "init")
    clean = try_repo(hook_repo, pre_commit_home, project, "oomguard-helm")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    values = project / "charts" / "web" / "values.yaml"
    values.write_text(values.read_text().replace("limit: 128Mi", 'limit: ""'))
    git(project, "add", "-A")
    failing = try_repo(hook_repo, pre_commit_home, project, "oomguard-helm")
    assert failing.returncode == 1
    assert "charts/web/templates/deployment.yaml" in failing.stdout
    assert "OOM101" in failing.stdout
