"""CI integrations: the pre-commit hooks, run by pre-commit itself on a sample repository,
the Helm hook's chart discovery, and the GitHub Action's lint script.

pre-commit installs each hook into its own virtualenv from a committed copy of this
working tree (`pip install .`, from PyPI or the configured index). That install is the
slow part (tens of seconds per environment), so the sample repositories use a
``.pre-commit-config.yaml`` pointing at the copy and share one ``PRE_COMMIT_HOME``: each
environment is built once per session. (``pre-commit try-repo`` would rebuild it on every
call: it uses a throwaway store.) One ``try-repo`` run checks that path too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oomguard.policies.source import iter_documents
from oomguard.precommit_helm import chart_of
from oomguard.precommit_helm import main as helm_hook

ROOT = Path(__file__).resolve().parents[1]
WEBAPP = ROOT / "tests" / "fixtures" / "charts" / "webapp"
LEAKY = ROOT / "tests" / "fixtures" / "charts" / "leaky"
BAD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: x}]\n"
GOOD = ("apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec:\n  containers:\n"
        "  - name: a\n    image: x\n    resources:\n"
        "      requests: {memory: 64Mi, cpu: 10m}\n      limits: {memory: 64Mi, cpu: 10m}\n")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV})
    return done.stdout.strip()


def commit_all(repo: Path) -> None:
    if not (repo / ".git").exists():
        git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "change", "--allow-empty")


# --- pre-commit itself ------------------------------------------------------------------

@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed copy of this working tree (pre-commit clones hook repositories)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pytest.importorskip("pre_commit", reason="pre-commit (a test dependency) is not installed")
    repo = tmp_path_factory.mktemp("hooks") / "oomguard"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(
        ".git", ".ci", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache",
        ".pytest_cache", "venv", ".venv", "build", "dist", "bench"))
    commit_all(repo)
    return repo, git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def pre_commit(home: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args, "--color", "never"],
        cwd=project, capture_output=True, text=True, timeout=900,
        env={**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home),
             "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"})


def project_with_config(tmp_path: Path, hook_repo: tuple[Path, str], hook: str,
                        args: list[str] | None = None) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    repo, rev = hook_repo
    extra = f", args: {args!r}" if args else ""
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - {{id: {hook}{extra}}}\n")
    return project


def report(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_manifest_hook(tmp_path: Path, hook_repo: tuple[Path, str],
                       pre_commit_home: Path) -> None:
    project = project_with_config(tmp_path, hook_repo, "oomguard")
    (project / "deploy").mkdir()
    (project / "deploy" / "good.yaml").write_text(GOOD)
    (project / "deploy" / "good.json").write_text(
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}')
    (project / ".github").mkdir()
    (project / ".github" / "ci.yaml").write_text("on: [push]\njobs: {}\n")  # not Kubernetes
    shutil.copytree(LEAKY, project / "charts" / "leaky")  # templates are the Helm hook's
    commit_all(project)
    clean = pre_commit(pre_commit_home, project, "run", "oomguard", "--all-files", "--verbose")
    assert clean.returncode == 0, report(clean)
    assert "Passed" in clean.stdout

    (project / "deploy" / "bad.yaml").write_text(BAD)
    git(project, "add", "-A")
    failing = pre_commit(pre_commit_home, project, "run", "oomguard", "--all-files")
    assert failing.returncode == 1, report(failing)
    assert "deploy/bad.yaml:5:" in failing.stdout
    assert "OOM101 memory-limit-missing" in failing.stdout
    assert "good.yaml" not in failing.stdout  # the clean file has no finding
    # only the changed file is linted on a normal commit
    only_good = pre_commit(pre_commit_home, project, "run", "oomguard", "--files",
                           "deploy/good.yaml")
    assert only_good.returncode == 0, report(only_good)


def test_helm_hook_lints_the_charts_of_the_changed_files(
        tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    project = project_with_config(tmp_path, hook_repo, "oomguard-helm")
    shutil.copytree(WEBAPP, project / "charts" / "web")
    shutil.copytree(LEAKY, project / "charts" / "leaky")
    (project / "README.md").write_text("not a chart file\n")
    commit_all(project)
    web_values = project / "charts" / "web" / "values.yaml"

    clean = pre_commit(pre_commit_home, project, "run", "oomguard-helm", "--files",
                       "charts/web/values.yaml", "charts/web/templates/deployment.yaml",
                       "README.md", "--verbose")
    assert clean.returncode == 0, report(clean)
    assert "in 1 object(s) from 2 file(s)" in clean.stdout  # webapp alone, rendered once

    untouched = pre_commit(pre_commit_home, project, "run", "oomguard-helm", "--files",
                           "README.md")
    assert untouched.returncode == 0 and "(no files to check)Skipped" in untouched.stdout

    web_values.write_text(web_values.read_text().replace("limit: 128Mi", 'limit: ""'))
    git(project, "add", "-A")
    failing = pre_commit(pre_commit_home, project, "run", "oomguard-helm", "--all-files")
    assert failing.returncode == 1, report(failing)
    out = failing.stdout
    # the template line a person edits and the values key behind it (issue 18), as the CLI
    lines = out.splitlines()
    assert any(line.startswith("charts/web/templates/deployment.yaml:17:9: error OOM101")
               and line.endswith("(set by charts/web/values.yaml:4 memory.limit)")
               for line in lines), out
    assert any(line.startswith("charts/leaky/templates/deployment.yaml:20:11: error OOM101")
               and line.endswith("(set by charts/leaky/values.yaml:4 memory.limit)")
               for line in lines), out


def test_helm_hook_args_go_to_oomguard(tmp_path: Path, hook_repo: tuple[Path, str],
                                       pre_commit_home: Path) -> None:
    """`args:` in the config (values files, --fail-on) reach `oomguard lint`."""
    project = project_with_config(tmp_path, hook_repo, "oomguard-helm",
                                  ["-f", "charts/leaky/values-fixed.yaml", "--fail-on",
                                   "warning"])
    shutil.copytree(LEAKY, project / "charts" / "leaky")
    commit_all(project)
    done = pre_commit(pre_commit_home, project, "run", "oomguard-helm", "--all-files",
                      "--verbose")
    assert done.returncode == 0, report(done)


def test_try_repo(tmp_path: Path, hook_repo: tuple[Path, str],
                  pre_commit_home: Path) -> None:
    """`pre-commit try-repo`, as a user would try the hooks before adding them."""
    project = tmp_path / "project"
    (project / "deploy").mkdir(parents=True)
    (project / "deploy" / "bad.yaml").write_text(BAD)
    (project / "deploy" / "good.yaml").write_text(GOOD)
    commit_all(project)
    done = pre_commit(pre_commit_home, project, "try-repo", str(hook_repo[0]), "oomguard",
                      "--all-files")
    assert done.returncode == 1, report(done)
    assert "deploy/bad.yaml:5:16: error OOM101 memory-limit-missing" in done.stdout
    assert "good.yaml" not in done.stdout


# --- the Helm hook's chart discovery, in process ------------------------------------------

@pytest.fixture
def charts_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for chart in ("web", "api"):
        shutil.copytree(WEBAPP, tmp_path / "charts" / chart)
    shutil.copytree(LEAKY, tmp_path / "charts" / "web" / "charts" / "leaky")  # a subchart
    (tmp_path / "kustomize" / "templates").mkdir(parents=True)
    (tmp_path / "kustomize" / "templates" / "x.yaml").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_chart_of(charts_tree: Path) -> None:
    assert chart_of("charts/web/values.yaml") == os.path.join("charts", "web")
    assert chart_of("charts/web/templates/deployment.yaml") == os.path.join("charts", "web")
    assert chart_of("charts/api/Chart.yaml") == os.path.join("charts", "api")
    # a subchart is rendered by its parent, with the parent's values
    assert chart_of("charts/web/charts/leaky/templates/deployment.yaml") == \
        os.path.join("charts", "web")
    assert chart_of("charts/web") == os.path.join("charts", "web")
    assert chart_of("kustomize/templates/x.yaml") is None


def test_helm_hook_entry(charts_tree: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("helm_python", reason="the helm extra is not installed")
    calls: list[list[str]] = []
    import oomguard.precommit_helm as hook

    real = hook.cli_main

    def record(argv: list[str]) -> int:
        calls.append(argv)
        return real(argv)

    monkeypatch.setattr(hook, "cli_main", record)
    files = ["charts/web/values.yaml", "charts/web/charts/leaky/values.yaml",
             "charts/web/templates/deployment.yaml", "charts/api/Chart.yaml",
             "kustomize/templates/x.yaml"]
    # options from the hook's `args` come first; their values are not taken for files
    code = helm_hook(["--fail-on", "warning", "-f", "charts/web/values.yaml", *files])
    web, api = os.path.join("charts", "web"), os.path.join("charts", "api")
    assert calls == [["lint", "--fail-on", "warning", "-f", "charts/web/values.yaml",
                      "--helm", api, "--helm", web]]
    out = capsys.readouterr().out
    assert code == 1 and "charts/web/charts/leaky/templates/deployment.yaml" in out
    assert helm_hook(["README.md", "kustomize/templates/x.yaml"]) == 0
    assert len(calls) == 1  # no chart: oomguard is not run at all
    assert helm_hook(["--fail-on", "bogus", "charts/web/values.yaml"]) == 2


# --- the GitHub Action's lint step, run by bash as the runner would -------------------------

def action_step(step_id: str) -> str:
    action = next(iter_documents((ROOT / "action.yml").read_text())).data
    [step] = [s for s in action["runs"]["steps"] if s.get("id") == step_id]
    return str(step["run"])


def run_lint_step(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], str]:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    wrapper = tmp_path / "oomguard"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -m oomguard \"$@\"\n")
    wrapper.chmod(0o755)
    output = tmp_path / "github_output"
    output.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OOMGUARD": str(wrapper),
           "GITHUB_OUTPUT": str(output), "PATHS": "", "CHARTS": "", "VALUES": "", "POLICY": "",
           "FAIL_ON": "error", "ARGS": "", "SARIF_FILE": "oomguard.sarif"}
    env.update({key.upper(): value for key, value in inputs.items()})
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                           action_step("lint")], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)
    return done, output.read_text() if output.exists() else ""


def test_action_lint_step(tmp_path: Path) -> None:
    pytest.importorskip("helm_python", reason="the helm extra is not installed")
    shutil.copytree(LEAKY, tmp_path / "charts" / "leaky")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "good.yaml").write_text(GOOD)
    (tmp_path / "deploy" / "bad.yaml").write_text(BAD)

    done, outputs = run_lint_step(tmp_path, paths="deploy/good.yaml", charts="charts/leaky",
                                  values="charts/leaky/values-fixed.yaml")
    assert done.returncode == 0 and outputs == "exit-code=0\n", done.stderr
    assert (tmp_path / "oomguard.sarif").is_file()

    done, outputs = run_lint_step(tmp_path, paths="deploy/*.yaml", charts="charts/leaky",
                                  sarif_file="reports.sarif", args="--release-name shop")
    assert done.returncode == 0 and outputs == "exit-code=1\n"  # the Result step fails the job
    lines = done.stdout.splitlines()
    assert any(line.startswith("::error file=deploy/bad.yaml,line=5") for line in lines)
    # the template line (20), not the rendered one (23); SARIF relates the values key
    assert any(line.startswith(
        "::error file=charts/leaky/templates/deployment.yaml,line=20,col=11,") for line in lines)
    sarif = json.loads((tmp_path / "reports.sarif").read_text())
    [result] = [r for r in sarif["runs"][0]["results"]
                if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "charts/leaky/templates/deployment.yaml"]
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 20, "startColumn": 11}
    values = result["relatedLocations"][0]["physicalLocation"]
    assert values == {"artifactLocation": {"uri": "charts/leaky/values.yaml"},
                      "region": {"startLine": 4, "startColumn": 3}}

    # inputs are data, never shell code; a usage error is exit code 2 with an annotation
    done, outputs = run_lint_step(tmp_path, paths="$(touch pwned)", fail_on="$(touch pwned)")
    assert outputs == "exit-code=2\n" and not (tmp_path / "pwned").exists()
    assert "::error title=oomguard::" in done.stdout


def test_action_and_hook_definitions() -> None:
    action = next(iter_documents((ROOT / "action.yml").read_text())).data
    assert set(action["inputs"]) >= {"paths", "charts", "policy", "fail-on", "sarif-file",
                                     "upload-sarif", "version"}
    assert action["inputs"]["sarif-file"]["default"] == "oomguard.sarif"
    assert action["inputs"]["upload-sarif"]["default"] == "true"
    steps = action["runs"]["steps"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith(
        "github/codeql-action/upload-sarif@"))
    assert upload["if"].startswith("always()")
    assert "${{" not in action_step("lint")  # inputs only through the environment
    hooks = {h["id"]: h for h in next(iter_documents(
        (ROOT / ".pre-commit-hooks.yaml").read_text())).data}
    assert hooks["oomguard"]["language"] == hooks["oomguard-helm"]["language"] == "python"
    assert hooks["oomguard"]["types_or"] == ["yaml", "json"]
    assert hooks["oomguard"]["entry"].startswith("oomguard lint")
    files = re.compile(hooks["oomguard-helm"]["files"])
    for path in ("charts/web/Chart.yaml", "Chart.yaml", "charts/web/values-prod.yaml",
                 "charts/web/values.schema.json", "charts/web/templates/_helpers.tpl",
                 "charts/web/templates/NOTES.txt"):
        assert files.search(path), path
    for path in ("deploy/web.yaml", "charts/web/README.md", "myvalues.yaml"):
        assert not files.search(path), path
    exclude = re.compile(hooks["oomguard"]["exclude"])
    assert exclude.search("charts/web/templates/deployment.yaml")
    assert not exclude.search("deploy/web.yaml")
