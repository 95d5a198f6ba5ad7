"""Helm charts as linter input, rendered by Helm's own engine (helm-python-sdk)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from linter.cli import main

pytest.importorskip("helm_python", reason="the helm extra (helm-python-sdk) is not installed")
CHART = Path(__file__).resolve().parent / "fixtures" / "charts" / "webapp"


@pytest.fixture(autouse=True)
def _no_helm_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render through the SDK even where a helm binary happens to be installed."""
    monkeypatch.setattr(shutil, "which", lambda name: None)


def lint(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["lint", "--format", "json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_clean_chart_with_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = lint(capsys, "--helm", str(CHART))
    assert code == 0 and not data["errors"] and data["summary"]["objects"] == 1


def test_values_file_findings_name_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = lint(capsys, "--helm", str(CHART), "-f", str(CHART / "values-bad.yaml"),
                      "--release-name", "shop", "--namespace", "prod")
    assert code == 1
    finding = next(f for f in data["findings"] if f["rule"] == "OOM101")
    assert finding["file"] == str(CHART / "templates" / "deployment.yaml")
    assert finding["line"] == 17  # `resources:` inside the rendered document
    assert finding["object"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                 "namespace": "prod", "name": "shop-web"}


def test_set_overrides_and_chart_dir_as_plain_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = lint(capsys, str(CHART), "--set", "memory.request=512m")
    assert code == 1
    assert {f["rule"] for f in data["findings"]} >= {"OOM106", "OOM104"}


def test_template_error_is_reported_and_other_inputs_still_linted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "pod.yaml"
    other.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a}]\n")
    code, data = lint(capsys, "--helm", str(CHART), "--set", "broken=true", str(other))
    assert code == 2
    assert data["errors"][0]["file"] == str(CHART)
    assert "broken needs a value" in data["errors"][0]["message"]
    assert any(f["file"] == str(other) for f in data["findings"])


def test_missing_renderer_names_both_options(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import builtins

    real_import = builtins.__import__

    def no_sdk(name: str, *args: object, **kwargs: object) -> object:
        if name == "helm_python":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_sdk)
    code, data = lint(capsys, "--helm", str(CHART))
    assert code == 2 and "helm binary" in data["errors"][0]["message"]
    assert "oomguard[helm]" in data["errors"][0]["message"]
