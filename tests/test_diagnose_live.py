"""diagnose against a live cluster: the real kubernetes client talking TLS to tests/kube_stub,
which serves lists as kube-apiserver does (items without kind/apiVersion, limit/continue
pages, bearer tokens, 401/403 Status answers, node proxies). GET only."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oomguard.cli import main
from tests.diagnose_support import (
    deployment,
    event_v1,
    event_v1beta,
    node,
    pod,
    replica_set,
    uid,
)
from tests.kube_stub import KubeStub, Proxy, serving
from tests.test_diagnose import NEW_FORMAT, oom_pod


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeStub]:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with serving(tmp_path) as server:
        yield server


def cluster(stub: KubeStub) -> None:
    name = "cm-77ffc657cf-4z7wb"
    stub.add(node("w-8xk2p", pressure=True), node("w-2"))
    stub.add(*[pod(f"fine-{i}", labels={"app": "fine"}) for i in range(5)])
    stub.add(oom_pod("api-6d4cf56db6-tx2lm", owner=("ReplicaSet", "api-6d4cf56db6"),
                     labels={"app": "api", "pod-template-hash": "6d4cf56db6"}))
    stub.add(replica_set("api-6d4cf56db6", "api"), deployment("api"))
    stub.add(oom_pod("other-0", limit=None) | {"metadata": {
        "name": "other-0", "namespace": "batch", "uid": uid("other-0")}})
    # an evicted pod already deleted: its event through both APIs
    stub.add(event_v1(f"{name}.18a0c1", "Evicted", NEW_FORMAT, obj_name=name,
                      obj_uid=uid(name)),
             event_v1beta(f"{name}.18a0c1", "Evicted", NEW_FORMAT, obj_name=name,
                          obj_uid=uid(name)))
    stub.proxies[("w-8xk2p", "configz")] = Proxy({"kubeletconfig": {
        "kind": "KubeletConfiguration", "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "evictionHard": {"nodefs.available": "10%"}}})


def diagnose(stub: KubeStub, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str,
             token: str | None = None) -> tuple[int, dict[str, Any] | None, str]:
    config = stub.kubeconfig(tmp_path / "kubeconfig", namespace="ci", token=token)
    code = main(["diagnose", "--format", "json", "--kubeconfig", str(config), *args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else None, captured.err


def test_live_cluster_paginated_get_only(stub: KubeStub, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    cluster(stub)
    code, report, _ = diagnose(stub, tmp_path, capsys, "-A", "--page-size", "2")
    assert code == 1 and report is not None
    found = {(i["type"], i["namespace"], i["pod"]) for i in report["incidents"]}
    assert found == {("container-limit-oom", "ci", "api-6d4cf56db6-tx2lm"),
                     ("node-oom", "batch", "other-0"),
                     ("eviction", "ci", "cm-77ffc657cf-4z7wb")}
    api = next(i for i in report["incidents"] if i["pod"] == "api-6d4cf56db6-tx2lm")
    assert api["owner"] == {"kind": "Deployment", "name": "api"}
    rules = {p["rule"] for p in api["prevention"]}
    assert {"OOM201", "OOM202"} <= rules  # the node's kubelet configuration, from configz
    assert report["errors"] == []
    assert stub.methods() == {"GET"}
    pod_lists = stub.lists_of("pods")
    assert [r.path for r in pod_lists] == ["/api/v1/pods"] * 4  # 7 pods, 2 a page
    assert all(r.query["limit"] == "2" for r in pod_lists)
    assert [bool(r.query.get("continue")) for r in pod_lists] == [False, True, True, True]
    assert stub.lists_of("events", "events.k8s.io") and stub.lists_of("events")
    gets = [r.path for r in stub.log if "/replicasets/" in r.path or "/deployments/" in r.path]
    # the owner chain of the incident pods only (the deleted pod's by its generated name)
    assert sorted(gets) == ["/apis/apps/v1/namespaces/ci/deployments/api",
                            "/apis/apps/v1/namespaces/ci/replicasets/api-6d4cf56db6",
                            "/apis/apps/v1/namespaces/ci/replicasets/cm-77ffc657cf"]


def test_default_namespace_is_the_contexts(stub: KubeStub, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cluster(stub)
    code, report, _ = diagnose(stub, tmp_path, capsys, "--no-node-config")
    assert report is not None
    assert {i["namespace"] for i in report["incidents"]} == {"ci"}
    assert {r.path for r in stub.lists_of("pods")} == {"/api/v1/namespaces/ci/pods"}
    assert not any("/proxy/" in r.path for r in stub.log)
    _, report, _ = diagnose(stub, tmp_path, capsys, "-n", "batch", "--no-node-config")
    assert report is not None
    assert [i["pod"] for i in report["incidents"]] == ["other-0"]


def test_forbidden_pods_is_an_error_naming_verb_and_resource(
        stub: KubeStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cluster(stub)
    stub.forbidden.add("pods")
    code, report, _ = diagnose(stub, tmp_path, capsys, "-A")
    assert code == 2 and report is not None
    (error,) = report["errors"]
    assert error["message"].startswith("cannot list pods: 403 Forbidden: pods is forbidden: "
                                       'User "system:serviceaccount:oomguard:diagnose" cannot '
                                       'list resource "pods"')
    # the rest is still diagnosed: the deleted pod's eviction comes from events
    assert [i["type"] for i in report["incidents"]] == ["eviction"]


def test_one_event_api_refused_is_a_notice_both_an_error(
        stub: KubeStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cluster(stub)
    stub.forbidden.add("events.events.k8s.io")
    code, report, _ = diagnose(stub, tmp_path, capsys, "-A", "--no-node-config")
    assert code == 1 and report is not None and report["errors"] == []
    assert any("events read through the other API" in n["message"] for n in report["notices"])
    assert "eviction" in {i["type"] for i in report["incidents"]}
    stub.forbidden.add("events")
    code, report, _ = diagnose(stub, tmp_path, capsys, "-A", "--no-node-config")
    assert code == 2 and report is not None
    assert [e["message"].split(":")[0] for e in report["errors"]] == [
        "cannot list events.events.k8s.io", "cannot list events"]


def test_unauthorized_token(stub: KubeStub, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    cluster(stub)
    code, report, err = diagnose(stub, tmp_path, capsys, "-A", token="expired")
    assert code == 2 and report is not None
    assert "cannot list nodes: 401 Unauthorized" in report["errors"][0]["message"]
    assert {e["message"].split(":")[0] for e in report["errors"]} >= {
        "cannot list nodes", "cannot list pods"}
    assert "oomguard: error: API: cannot list nodes: 401 Unauthorized" in err or \
        report["errors"]


def test_slow_or_refused_node_proxy_is_a_notice(stub: KubeStub, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cluster(stub)
    stub.proxies[("w-8xk2p", "configz")] = Proxy({"kubeletconfig": {}}, delay=1.5)
    code, report, _ = diagnose(stub, tmp_path, capsys, "-n", "ci", "--request-timeout", "1")
    assert code == 1 and report is not None and report["errors"] == []
    assert any("did not answer within 1s; node findings of w-8xk2p not judged"
               in n["message"] for n in report["notices"]), report["notices"]


def test_unreachable_server_and_missing_context(stub: KubeStub, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = stub.kubeconfig(tmp_path / "kc", server=f"https://127.0.0.1:{port}")
    code = main(["diagnose", "--kubeconfig", str(config), "-A"])
    captured = capsys.readouterr()
    assert code == 2
    assert f"cannot list nodes: API server https://127.0.0.1:{port} unreachable" in captured.err
    code = main(["diagnose", "--kubeconfig", str(config), "--context", "nope"])
    assert code == 2
    assert "context 'nope' not found" in capsys.readouterr().err
