"""--jobs N gives exactly the output of --jobs 1 (the parallel path forced on)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import oomguard.linter.runner
from oomguard.cli import main

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: app, image: nginx}]
"""
HPA = """apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_jobs_2_equals_jobs_1_on_the_corpus(corpus: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oomguard.linter.runner, "PARALLEL_MIN_BYTES", 0)
    one = run(capsys, "lint", "--format", "json", "--jobs", "1", str(corpus))
    two = run(capsys, "lint", "--format", "json", "--jobs", "2", str(corpus))
    assert one == two and one[0] == 1 and '"OOM101"' in one[1]


def test_cross_file_hpa_rule_with_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oomguard.linter.runner, "PARALLEL_MIN_BYTES", 0)
    (tmp_path / "a-deploy.yaml").write_text(DEPLOY)
    for i in range(6):  # spread the files over several chunks
        shutil.copy(tmp_path / "a-deploy.yaml", tmp_path / f"m{i}.yaml")
    (tmp_path / "z-hpa.yaml").write_text(HPA)
    one = run(capsys, "lint", "--format", "json", "--jobs", "1", str(tmp_path))
    two = run(capsys, "lint", "--format", "json", "--jobs", "2", str(tmp_path))
    assert one == two and '"OOM140"' in one[1]
