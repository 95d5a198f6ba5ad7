"""A rule's ``REQUIRES`` only saves work: skipping it on models without the feature changes
no finding, over the whole corpus and every rule example, with and without LimitRange
defaults (which can give a container the memory limit a rule needs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oomguard.policies.config import build_policy
from oomguard.policies.engine import Engine
from oomguard.policies.registry import catalog
from oomguard.policies.rule import Finding
from oomguard.policies.source import iter_documents
from oomguard.policies.workload.model import FEATURES, MEMORY_LIMIT, PodModel

# every workload rule on, and node sizes known, so that every rule can fire
POLICY = {"rules": {"OOM109": {"enabled": True}, "OOM115": {"enabled": True}},
          "node": {"memory": "16Gi", "allocatable": "15Gi"}}
LIMIT_RANGE = {"apiVersion": "v1", "kind": "LimitRange",
               "metadata": {"name": "tiny", "namespace": None},
               "spec": {"limits": [{"type": "Container", "default": {"memory": "3Mi"},
                                    "defaultRequest": {"memory": "1Mi"}}]}}
# pods that have one feature and lack the others, where a wrong REQUIRES would show
EDGE_CASES = """\
apiVersion: v1
kind: Pod
metadata: {name: heap-percentage-no-limit}
spec:
  containers:
  - {name: a, image: a, args: ["-XX:MaxRAMPercentage=95", "-Xmx4g"], env: [{name: GOMEMLIMIT, value: 1GiB}]}
---
apiVersion: v1
kind: Pod
metadata: {name: pod-level-only}
spec:
  resources: {requests: {memory: 2Gi, cpu: "1"}, limits: {memory: 1Gi, cpu: "1"}}
  overhead: {memory: 12m}
  containers: [{name: a, image: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: tmpfs-no-limits}
spec:
  containers: [{name: a, image: a, volumeMounts: [{name: t, mountPath: /t}]}]
  volumes: [{name: t, emptyDir: {medium: Memory, sizeLimit: 512m}}]
---
apiVersion: v1
kind: Pod
metadata: {name: init-and-oom-key, annotations: {oomguard.io/ignore: OOM102}}
spec:
  initContainers: [{name: i, image: i, securityContext: {oomScoreAdj: -1000}}]
  containers:
  - name: a
    image: a
    command: [sh, -c, "echo -1000 > /proc/self/oom_score_adj"]
    resources: {requests: {memory: 1Gi, cpu: "1"}, limits: {memory: 1Gi, cpu: "1"}}
---
apiVersion: v1
kind: Pod
metadata: {name: request-only}
spec:
  containers: [{name: a, image: a, resources: {requests: {memory: 512}}}]
"""


def _documents(corpus: Path) -> list[tuple[str, str, Any]]:
    texts = [(str(path), path.read_text(encoding="utf-8"))
             for path in sorted(corpus.iterdir()) if path.suffix in (".yaml", ".yml")]
    texts += [(f"{rule.code}.{which}", getattr(rule.doc, which))
              for rule in catalog() for which in ("bad", "good")
              if rule.doc.example_input == "manifest"]
    texts.append(("edge-cases.yaml", EDGE_CASES))
    return [(name, text, doc.data) for name, text in texts for doc in iter_documents(text)]


def _findings(engine: Engine, documents: list[tuple[str, str, Any]],
              limit_ranges: list[dict[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    for name, text, data in documents:
        result = engine.evaluate_object(data, file=name, text=text, limit_ranges=limit_ranges)
        if result is not None:
            found.extend(result.findings)
    return found


@pytest.mark.parametrize("with_limit_range", [False, True])
def test_skipping_rules_by_required_feature_changes_no_finding(
        corpus: Path, monkeypatch: pytest.MonkeyPatch, with_limit_range: bool) -> None:
    engine = Engine(build_policy(POLICY))
    documents = _documents(corpus)
    limit_ranges = [LIMIT_RANGE] if with_limit_range else []
    skipping = _findings(engine, documents, limit_ranges)
    monkeypatch.setattr(PodModel, "features", lambda self: FEATURES)  # nothing skipped
    assert _findings(engine, documents, limit_ranges) == skipping
    codes = {f.rule for f in skipping}
    assert {"OOM101", "OOM103", "OOM105", "OOM106", "OOM112", "OOM113", "OOM114", "OOM120",
            "OOM130", "OOM131"} <= codes
    if with_limit_range:  # a limit given by the LimitRange alone is one a rule sees
        assert any(f.rule == "OOM107" and "LimitRange" in f.message for f in skipping)


def test_rules_that_require_a_feature_are_workload_rules_naming_a_known_one() -> None:
    requiring = {rule.code: rule.requires for rule in catalog() if rule.requires}
    assert requiring["OOM104"] == MEMORY_LIMIT
    assert set(requiring.values()) <= FEATURES
    assert all(rule.scope.value == "workload" for rule in catalog() if rule.requires)
