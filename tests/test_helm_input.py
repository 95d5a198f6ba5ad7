"""Helm charts as linter input, rendered by Helm's own engine (helm-python-sdk), and by a
stand-in ``helm`` binary for the binary code path.

Fixture charts (tests/fixtures/charts): ``webapp`` is clean with its defaults (Guaranteed
pods; ``values-bad.yaml`` drops the memory limit, ``--set broken=true`` trips a
``required``); ``leaky`` has a Deployment without a memory limit unless
``values-fixed.yaml`` gives one (plus helpers and NOTES.txt, which are never linted);
``broken`` has a template that does not parse.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from oomguard.cli import main
from oomguard.linter.helm import render_charts, split_template_output

try:  # the CI installs it through the `test` extra; the library loads at import
    import helm_python  # noqa: F401
except Exception as exc:  # noqa: BLE001 - ImportError or its native library failing to load
    pytest.skip(f"helm-python-sdk (the `helm` extra) is not usable here: {exc}",
                allow_module_level=True)

CHARTS = Path(__file__).resolve().parent / "fixtures" / "charts"
WEBAPP, LEAKY, BROKEN = CHARTS / "webapp", CHARTS / "leaky", CHARTS / "broken"
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n"


@pytest.fixture(autouse=True)
def _no_helm_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render through the SDK even where a helm binary happens to be installed."""
    monkeypatch.setattr(shutil, "which", lambda name: None)


def lint(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["lint", "--format", "json", *argv])
    return code, json.loads(capsys.readouterr().out)


def rules(data: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in data["findings"]}


def test_clean_chart_with_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = lint(capsys, "--helm", str(WEBAPP))
    assert code == 0 and not data["errors"] and not data["findings"]
    # the Deployment and the Service; the template switched off renders nothing and is skipped
    assert data["summary"] == {"error": 0, "warning": 0, "info": 0, "files": 2, "objects": 1}
    assert [o["file"] for o in data["objects"]] == [str(WEBAPP / "templates" / "deployment.yaml")]


def test_findings_name_the_template_and_the_rendered_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, data = lint(capsys, "--helm", str(WEBAPP), "-f", str(WEBAPP / "values-bad.yaml"),
                      "--release-name", "shop", "--namespace", "prod")
    assert code == 1
    finding = next(f for f in data["findings"] if f["rule"] == "OOM101")
    assert finding["file"] == str(WEBAPP / "templates" / "deployment.yaml")
    assert (finding["line"], finding["column"]) == (17, 9)  # `resources:` of container web
    assert finding["object"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                 "namespace": "prod", "name": "shop-web"}
    assert data["objects"][0]["object"]["namespace"] == "prod"
    assert data["objects"][0]["object"]["name"] == "shop-web"


def test_line_is_inside_the_rendered_document_not_the_template(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Each `include ... | nindent` adds a line: `resources:` is template line 20, rendered 23;
    the finding names the template line and keeps the rendered one."""
    code, data = lint(capsys, "--helm", str(LEAKY), "--release-name", "jobs")
    assert code == 1 and not data["errors"]
    finding = next(f for f in data["findings"] if f["rule"] == "OOM101")
    assert finding["file"] == str(LEAKY / "templates" / "deployment.yaml")
    assert (finding["line"], finding["column"]) == (20, 11)
    assert finding["rendered"] == {"file": str(LEAKY / "templates" / "deployment.yaml"),
                                   "line": 23, "column": 11}
    assert finding["object"]["name"] == "jobs-worker"
    assert data["summary"]["files"] == 1  # helpers and NOTES.txt are not manifests


def test_values_files_and_set_change_the_results(capsys: pytest.CaptureFixture[str]) -> None:
    fixed = str(LEAKY / "values-fixed.yaml")
    assert lint(capsys, "--helm", str(LEAKY), "-f", fixed)[0] == 0
    # a later values file wins over an earlier one, --set over both
    code, data = lint(capsys, "--helm", str(LEAKY), "-f", fixed,
                      "-f", str(WEBAPP / "values-bad.yaml"))
    assert code == 1 and "OOM101" in rules(data)
    code, data = lint(capsys, "--helm", str(LEAKY), "-f", fixed, "--set", "memory.limit=")
    assert code == 1 and "OOM101" in rules(data)
    code, data = lint(capsys, "--helm", str(LEAKY), "--set", "memory.limit=256Mi")
    assert code == 0 and not data["findings"]


def test_chart_dir_given_as_a_plain_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = lint(capsys, str(WEBAPP), "--set", "memory.request=512m")
    assert code == 1
    assert rules(data) >= {"OOM106", "OOM104"}  # 512m is half a byte: a quantity mistake
    assert all(f["file"].startswith(str(WEBAPP / "templates")) for f in data["findings"])


def test_template_error_names_the_chart_and_other_inputs_are_still_linted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "pod.yaml"
    other.write_text(POD)
    code, data = lint(capsys, "--helm", str(BROKEN), "--helm", str(LEAKY), str(other))
    assert code == 2
    [error] = data["errors"]
    assert f"chart {BROKEN}" in error["message"] and "parse error" in error["message"]
    # Helm said where: the template line (an annotation lands on it in a pull request)
    assert error["file"] == str(BROKEN / "templates" / "configmap.yaml")
    assert (error["line"], error["column"]) == (5, 1)  # Helm names no column: column 1
    files = {f["file"] for f in data["findings"]}
    assert str(other) in files and str(LEAKY / "templates" / "deployment.yaml") in files


def test_execution_error_points_at_the_template_line_and_column(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, data = lint(capsys, "--helm", str(WEBAPP), "--set", "broken=true")
    assert code == 2
    [error] = data["errors"]
    assert "broken needs a value" in error["message"] and str(WEBAPP) in error["message"]
    assert (error["file"], error["line"], error["column"]) == (
        str(WEBAPP / "templates" / "broken.yaml"), 2, 3)


def test_values_against_the_chart_schema(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "web"
    shutil.copytree(WEBAPP, chart)
    (chart / "values.schema.json").write_text(json.dumps({
        "type": "object", "properties": {"replicas": {"type": "integer", "minimum": 1}}}))
    assert lint(capsys, "--helm", str(chart))[0] == 0
    code, data = lint(capsys, "--helm", str(chart), "--set", "replicas=0")
    assert code == 2
    message = data["errors"][0]["message"]
    # no template line to name: the chart's Chart.yaml, line 1, column 1
    error = data["errors"][0]
    assert (error["file"], error["line"], error["column"]) == (str(chart / "Chart.yaml"), 1, 1)
    assert "schema" in message and "/replicas" in message  # the detail, not just "webapp:"


def test_missing_dependency_is_an_error_as_in_helm_template(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "web"
    shutil.copytree(WEBAPP, chart)
    with (chart / "Chart.yaml").open("a") as handle:
        handle.write("dependencies:\n  - {name: redis, version: 1.0.0, "
                     "repository: https://charts.example}\n")
    code, data = lint(capsys, "--helm", str(chart))
    assert code == 2 and "missing in charts/ directory: redis" in data["errors"][0]["message"]


def test_subchart_templates_are_named_under_charts(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    umbrella = tmp_path / "umbrella"
    (umbrella / "charts").mkdir(parents=True)
    (umbrella / "Chart.yaml").write_text(
        "apiVersion: v2\nname: umbrella\nversion: 1.0.0\n"
        "dependencies:\n  - {name: leaky, version: 0.1.0}\n")
    shutil.copytree(LEAKY, umbrella / "charts" / "leaky")
    code, data = lint(capsys, "--helm", str(umbrella))
    assert code == 1
    assert {f["file"] for f in data["findings"]} == {
        str(umbrella / "charts" / "leaky" / "templates" / "deployment.yaml")}
    code, data = lint(capsys, "--helm", str(umbrella), "--set", "leaky.memory.limit=256Mi")
    assert code == 0


def test_two_charts_with_the_same_directory_name(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Rendered files live in a folder per chart: one chart's templates never hide another's."""
    for team in ("a", "b"):
        shutil.copytree(WEBAPP, tmp_path / team / "web")
    bad = tmp_path / "b" / "web" / "values.yaml"
    bad.write_text(bad.read_text().replace("limit: 128Mi", 'limit: ""'))
    code, data = lint(capsys, "--helm", str(tmp_path / "a" / "web"),
                      "--helm", str(tmp_path / "b" / "web"))
    assert code == 1 and data["summary"]["objects"] == 2
    assert {f["file"] for f in data["findings"]} == {
        str(tmp_path / "b" / "web" / "templates" / "deployment.yaml")}


def test_cleanup_removes_the_rendered_files() -> None:
    rendered, errors, cleanup = render_charts([str(WEBAPP), str(BROKEN)])
    assert [name for _, name in rendered] == [str(WEBAPP / "templates" / "deployment.yaml"),
                                              str(WEBAPP / "templates" / "service.yaml")]
    assert len(errors) == 1 and all(os.path.isfile(path) for path, _ in rendered)
    cleanup()
    assert not any(os.path.exists(path) for path, _ in rendered)


def test_missing_chart_and_release_name_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = lint(capsys, "--helm", str(CHARTS / "nope"))
    assert code == 2 and data["errors"][0]["message"] == "no such chart directory or archive"
    code, data = lint(capsys, "--helm", str(WEBAPP), "--release-name", "Not_Valid")
    assert code == 2 and "invalid release name" in data["errors"][0]["message"]


def test_missing_renderer_names_both_options(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "helm_python", None)  # `import helm_python` fails
    code, data = lint(capsys, "--helm", str(WEBAPP))
    assert code == 2
    message = data["errors"][0]["message"]
    assert "helm binary" in message and "pip install 'oomguard[helm]'" in message


# --- the helm binary code path, with a stand-in `helm` ---------------------------------

FAKE_OUTPUT = """\
---
# Source: webapp/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: shop-web
spec:
  ports: [{port: 80}]
---
# Source: webapp/templates/workers.yaml
apiVersion: v1
kind: Pod
metadata:
  name: first
spec:
  containers:
  - {name: a, image: x, resources: {requests: {memory: 1Gi, cpu: 1}, limits: {memory: 1Gi, cpu: 1}}}
---
# Source: webapp/templates/workers.yaml
apiVersion: v1
kind: Pod
metadata:
  name: second
spec:
  containers:
  - name: b
    image: x
"""


def fake_helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stdout: str, stderr: str = "",
              status: int = 0) -> Path:
    """A `helm` that records its arguments and prints canned output."""
    script = tmp_path / "bin" / "helm"
    script.parent.mkdir()
    (tmp_path / "out.txt").write_text(stdout)
    (tmp_path / "err.txt").write_text(stderr)
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"sys.stdout.write(open({str(tmp_path / 'out.txt')!r}).read())\n"
        f"sys.stderr.write(open({str(tmp_path / 'err.txt')!r}).read())\n"
        f"sys.exit({status})\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(shutil, "which", lambda name: str(script) if name == "helm" else None)
    return tmp_path / "argv.json"


def test_split_template_output_groups_documents_by_template() -> None:
    parts = split_template_output(FAKE_OUTPUT)
    assert list(parts) == ["webapp/templates/service.yaml", "webapp/templates/workers.yaml"]
    assert parts["webapp/templates/service.yaml"].startswith("apiVersion: v1\n")
    workers = parts["webapp/templates/workers.yaml"].splitlines()
    assert workers[0] == "apiVersion: v1" and workers.count("---") == 1
    assert workers.index("  - name: b") == 14  # line 15 of the file oomguard lints


def test_helm_binary_is_used_when_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    argv_file = fake_helm(tmp_path, monkeypatch, FAKE_OUTPUT)
    code, data = lint(capsys, "--helm", str(WEBAPP), "-f", "v1.yaml", "-f", "v2.yaml",
                      "--set", "a=1", "--set", "b=2", "--release-name", "shop",
                      "--namespace", "prod")
    calls = [json.loads(line) for line in argv_file.read_text().splitlines()]
    assert calls[0] == [
        "template", "shop", str(WEBAPP), "--namespace", "prod", "--values", "v1.yaml",
        "--values", "v2.yaml", "--set", "a=1", "--set", "b=2"]
    assert code == 1 and not data["errors"]
    finding = next(f for f in data["findings"] if f["rule"] == "OOM101")
    assert finding["file"] == str(WEBAPP / "templates" / "workers.yaml")
    assert finding["line"] == 15 and finding["object"]["name"] == "second"
    # the stand-in prints the same text for the annotated render, without markers: no
    # template line is certain, so the finding keeps its rendered position, marked so
    assert finding["position"] == "rendered"
    assert finding["rendered"] == {"file": finding["file"], "line": 15, "column": 5}
    # then a copy of the chart with markers, and the chart with sentinels in its string
    # leaves (webapp's values have no resources mapping for the second sentinel render)
    # (those two at once, in either order)
    assert len(calls) == 3
    [copy] = [c for c in calls[1:] if c[2] != str(WEBAPP)]
    assert copy[3:] == calls[0][3:]
    [sentinels] = [c for c in calls[1:] if c[2] == str(WEBAPP)]
    assert "--skip-schema-validation" in sentinels
    assert data["summary"]["files"] == 2


def test_helm_binary_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    fake_helm(tmp_path, monkeypatch, "", status=1, stderr=(
        "Error: execution error at (webapp/templates/x.yaml:2:6): need x\n\n"
        "Use --debug flag to see full stack trace.\n"))
    code, data = lint(capsys, "--helm", str(WEBAPP))
    assert code == 2
    [error] = data["errors"]
    assert error["message"] == (f"helm could not render chart {WEBAPP}: execution error at "
                                "(webapp/templates/x.yaml:2:6): need x")
    assert (error["file"], error["line"], error["column"]) == (
        str(WEBAPP / "templates" / "x.yaml"), 2, 6)
