"""``oomguard audit`` against tests/kube_stub with the real kubernetes client: owner-aware
findings, LimitRange defaults, node sizes, the HPA rule, per-node kubelet findings, refused
and slow node proxies, RBAC errors, pagination, and that the audit only ever sends GET."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oomguard.cli import main
from tests.audit_cluster import POLICY, populate, register_extra_kinds
from tests.kube_stub import KubeStub, serving


def _serve(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeStub]:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    register_extra_kinds(monkeypatch)
    (directory / "policy.yaml").write_text(POLICY)
    with serving(directory) as server:
        populate(server)
        yield server


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeStub]:
    yield from _serve(tmp_path, monkeypatch)


def audit(stub: KubeStub, tmp_path: Path, *args: str, token: str | None = None
          ) -> tuple[int, dict[str, Any]]:
    config = stub.kubeconfig(tmp_path / "kubeconfig", namespace="shop", token=token)
    out = tmp_path / "audit.json"
    code = main(["audit", "--kubeconfig", str(config), "--format", f"json:{out}",
                 "--policy", str(tmp_path / "policy.yaml"),
                 "--kubelet-timeout", "0.5", *args])
    return code, json.loads(out.read_text())


def by_object(report: dict[str, Any]) -> dict[tuple[str, str | None, str], set[str]]:
    found: dict[tuple[str, str | None, str], set[str]] = {}
    for f in report["findings"]:
        obj = f["object"]
        found.setdefault((obj["kind"], obj["namespace"], obj["name"]), set()).add(f["rule"])
    return found


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, dict[str, Any],
                                                                     KubeStub]]:
    """One whole-cluster audit that several tests read (the slow kubelet costs a second)."""
    directory = tmp_path_factory.mktemp("full")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for server in _serve(directory, monkeypatch):
            code, report = audit(server, directory, "-A")
            yield code, report, server


def test_findings_are_reported_once_on_the_top_controller(full: Any) -> None:
    code, report, _ = full
    assert code == 1
    found = by_object(report)
    assert "OOM101" in found[("Deployment", "shop", "web")]
    assert {"OOM110", "OOM101"} <= found[("Pod", "shop", "debug")]  # no controller: itself
    assert "OOM101" in found[("Rollout", "edge", "api")]  # mapped kind
    owned = {("ReplicaSet", "shop", "web-7d9f"), ("Pod", "shop", "web-7d9f-a"),
             ("Pod", "shop", "web-7d9f-b"), ("Pod", "shop", "db-0"),
             ("Job", "batch", "nightly-2900"), ("Pod", "batch", "nightly-2900-x"),
             ("ReplicaSet", "edge", "api-5c4b"), ("Pod", "edge", "api-5c4b-q")}
    assert not owned & set(found)
    assert all(f["file"] is None and f["line"] is None for f in report["findings"])
    assert ("Deployment", "ignored", "legacy") not in found  # exclude.namespaces
    # the ignore annotation suppresses as in lint
    assert not {"OOM101", "OOM102", "OOM110"} & found.get(("Deployment", "shop", "quiet"),
                                                          set())


def test_templates_get_the_limit_range_defaults_and_nodes_give_the_sizes(full: Any) -> None:
    _, report, _ = full
    found = by_object(report)
    nightly = found.get(("CronJob", "batch", "nightly"), set())
    assert not {"OOM101", "OOM102"} & nightly  # LimitRange batch/defaults applies
    assert "OOM108" in found[("Deployment", "shop", "huge")]  # 64Gi > 15Gi, the largest
    facts = {(o["object"]["kind"], o["object"]["name"]): o["facts"] for o in report["objects"]
             if o["object"]}
    assert facts[("CronJob", "nightly")]["containers"][0]["defaultedFrom"] == {
        "memoryRequest": "LimitRange batch/defaults", "memoryLimit": "LimitRange batch/defaults"}


def test_the_hpa_rule_sees_the_live_workloads(full: Any) -> None:
    _, report, _ = full
    assert "OOM140" in by_object(report)[("HorizontalPodAutoscaler", "shop", "web")]


def test_each_node_kubelet_is_judged_with_its_capacity(full: Any) -> None:
    _, report, _ = full
    node_findings = [f for f in report["findings"] if f["object"]["kind"] == "Node"]
    w1 = {f["rule"]: f for f in node_findings if f["object"]["name"] == "w-1"}
    assert {"OOM202", "OOM207"} <= set(w1)  # defaults dropped, nothing reserved
    assert w1["OOM202"]["path"] == "evictionHard"
    assert w1["OOM202"]["object"] == {"apiVersion": "v1", "kind": "Node", "namespace": None,
                                      "name": "w-1"}
    assert "16Gi" in w1["OOM207"]["message"]  # the node's own capacity is node.memory
    assert not [f for f in node_findings if f["object"]["name"] == "w-2"
                and f["rule"] in ("OOM202", "OOM207")]
    nodes = {n["name"]: n for n in report["nodes"]}
    assert nodes["w-2"]["kubeReserved"] == 1 << 30
    assert nodes["w-2"]["evictionHard"] == 500 << 20
    # web-7d9f-a, db-0 and debug; nightly-2900-x has Succeeded and holds no memory
    assert nodes["w-1"]["pods"] == 3
    assert nodes["w-1"]["requested"] == (256 << 20) + (2 << 30)
    assert nodes["w-1"]["limits"] == 2 << 30 and nodes["w-1"]["podsWithoutLimit"] == 2
    assert nodes["w-3"]["memoryPressure"] is True
    kill = nodes["w-1"]["killOrder"]
    assert [p["pod"] for p in kill] == ["debug", "web-7d9f-a", "db-0"]  # 1000, burstable, -997
    assert kill[0]["oomScoreAdj"] == 1000 and kill[-1]["oomScoreAdj"] == -997
    assert kill[1]["owner"] == "Deployment shop/web"  # Pod -> ReplicaSet -> Deployment


def test_unreadable_kubelets_are_notices_naming_node_and_reason(full: Any) -> None:
    code, report, _ = full
    assert code == 1  # not 2: a node proxy refused is no failed audit
    notices = {n["file"]: n["message"] for n in report["notices"]}
    assert "503" in notices["Node w-3"] and "connection refused" in notices["Node w-3"]
    assert "timeout" in notices["Node w-slow"] or "within" in notices["Node w-slow"]
    assert report["errors"] == []


def test_forbidden_node_proxy_is_a_notice_per_node(stub: KubeStub, tmp_path: Path) -> None:
    stub.forbidden.add("nodes/proxy")
    code, report = audit(stub, tmp_path, "-A")
    assert code == 1
    notices = {n["file"]: n["message"] for n in report["notices"]}
    assert {"Node w-1", "Node w-2", "Node w-3", "Node w-slow"} <= set(notices)
    assert "403 Forbidden" in notices["Node w-1"] and "nodes/proxy" in notices["Node w-1"]


def test_only_get_is_ever_sent(full: Any) -> None:
    _, _, stub = full
    assert stub.methods() == {"GET"}
    paths = {r.path for r in stub.log}
    assert "/api/v1/nodes/w-1/proxy/configz" in paths
    assert "/apis/argoproj.io/v1alpha1/rollouts" in paths


def test_lists_are_paginated(stub: KubeStub, tmp_path: Path) -> None:
    code, report = audit(stub, tmp_path, "-A", "--page-size", "2")
    pods = stub.lists_of("pods")
    assert len(pods) >= 3 and all(r.query["limit"] == "2" for r in pods)
    assert any(r.query.get("continue") for r in pods)
    assert "OOM101" in by_object(report)[("Deployment", "shop", "web")]
    assert code == 1


def test_namespace_scope_defaults_to_the_context_namespace(stub: KubeStub,
                                                           tmp_path: Path) -> None:
    _, report = audit(stub, tmp_path)
    namespaces = {f["object"]["namespace"] for f in report["findings"]}
    assert namespaces == {"shop", None}  # shop's objects and the nodes
    assert all(r.path.startswith("/api/v1/namespaces/shop/") or "/nodes" in r.path
               or "/namespaces/shop/" in r.path for r in stub.lists_of("pods"))


@pytest.mark.parametrize(("label", "verb_resource"), [
    ("deployments.apps", "cannot list deployments.apps"),
    ("pods", "cannot list pods"),
])
def test_a_refused_list_is_exit_2_naming_verb_and_resource(stub: KubeStub, tmp_path: Path,
                                                           label: str,
                                                           verb_resource: str) -> None:
    stub.forbidden.add(label)
    code, report = audit(stub, tmp_path, "-A")
    assert code == 2
    [error] = report["errors"]
    assert verb_resource in error["message"] and "403" in error["message"]
    assert error["file"].startswith("GET /api")
    # the rest was still audited
    found = by_object(report)
    assert "OOM202" in found[("Node", None, "w-1")]
    if label == "pods":
        assert "OOM108" in found[("Deployment", "shop", "huge")]
        assert ("Pod", "shop", "debug") not in found
    else:
        assert "OOM110" in found[("Pod", "shop", "debug")]
        assert ("Deployment", "shop", "huge") not in found


def test_wrong_token_is_exit_2_and_stops_asking(stub: KubeStub, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, report = audit(stub, tmp_path, "-A", token="wrong")
    assert code == 2
    [error] = report["errors"]
    assert "cannot list nodes" in error["message"] and "401" in error["message"]
    assert len(stub.log) == 1  # one refusal is enough


def test_text_and_other_formats(stub: KubeStub, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    config = stub.kubeconfig(tmp_path / "kubeconfig", namespace="shop")
    code = main(["audit", "--kubeconfig", str(config), "-A", "--kubelet-timeout", "0.5",
                 "--policy", str(tmp_path / "policy.yaml"),
                 "--format", "text", "--format", f"sarif:{tmp_path / 'a.sarif'}",
                 "--format", f"junit:{tmp_path / 'a.xml'}",
                 "--format", f"github:{tmp_path / 'a.txt'}"])
    assert code == 1
    out = capsys.readouterr().out
    assert "Deployment shop/web\n  error OOM101 memory-limit-missing:" in out
    assert "notice: Node w-3: kubelet configuration not read:" in out
    sarif = json.loads((tmp_path / "a.sarif").read_text())
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"OOM101", "OOM140", "OOM202"} <= rules
    assert "Deployment shop/web" in (tmp_path / "a.xml").read_text()
    assert "::error title=OOM101 memory-limit-missing::" in (tmp_path / "a.txt").read_text()


def test_fail_on_and_clean_namespace(stub: KubeStub, tmp_path: Path) -> None:
    code, report = audit(stub, tmp_path, "-n", "batch", "--no-kubelet")
    assert report["notices"] == [] and report["errors"] == []
    assert {f["object"]["kind"] for f in report["findings"]} <= {"CronJob", "Node"}
    assert code in (0, 1)
    assert not any(r.path.endswith("/configz") for r in stub.log)


def test_html_with_the_incidents_of_diagnose(stub: KubeStub, tmp_path: Path) -> None:
    from tests.audit_cluster import container, pod, pod_spec

    killed = pod("worker", "shop", pod_spec(container("worker", memory="256Mi",
                                                      request="256Mi")))
    killed["status"]["containerStatuses"] = [{
        "name": "worker", "restartCount": 3, "ready": False, "image": "w:1", "imageID": "",
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                     "startedAt": "2026-12-02T10:00:00Z",
                                     "finishedAt": "2026-12-02T10:05:00Z"}}}]
    stub.add(killed)
    config = stub.kubeconfig(tmp_path / "kubeconfig", namespace="shop")
    page = tmp_path / "audit.html"
    code = main(["audit", "--kubeconfig", str(config), "-A", "--kubelet-timeout", "0.5",
                 "--policy", str(tmp_path / "policy.yaml"), "--format", f"html:{page}",
                 "--incidents"])
    assert code == 1
    text = page.read_text()
    assert "<h2>Incidents</h2>" in text and "container-limit-oom" in text
    assert "shop/worker" in text
    assert 'aria-label="memory of node w-1"' in text
    assert stub.methods() == {"GET"}


def test_kubelet_config_map_and_an_unserved_mapped_kind(stub: KubeStub, tmp_path: Path) -> None:
    stub.add({"kind": "ConfigMap", "apiVersion": "v1",
              "metadata": {"name": "kubelet-config", "namespace": "kube-system",
                           "uid": "uid-kubelet-config"},
              "data": {"kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\n"
                                  "kind: KubeletConfiguration\n"
                                  "evictionHard:\n  memory.available: 100Mi\n"}})
    (tmp_path / "policy.yaml").write_text(
        "extends: default\nkinds:\n  - apiVersion: example.com/v1\n    kind: Workload\n"
        "    podTemplate: spec.template\n")
    code, report = audit(stub, tmp_path, "-A", "--no-kubelet")
    assert code == 1 and report["errors"] == []
    found = by_object(report)
    assert "OOM202" in found[("ConfigMap", "kube-system", "kubelet-config")]
    [notice] = [n for n in report["notices"] if "Workload" in n["message"]]
    assert notice["file"] == "GET /apis/example.com/v1/workloads"
    assert "not served" in notice["message"]
