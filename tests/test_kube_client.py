"""linter/kube against tests/kube_stub with the real kubernetes client: kubeconfig and
contexts, paginated lists with kinds stamped, single GETs, node proxy paths, and every
refusal (401, 403, 404, unreachable, slow) named by verb and resource; GET only."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from oomguard.linter.kube import (
    DEPLOYMENTS,
    EVENTS_V1,
    NODES,
    PODS,
    KubeClient,
    KubeConfigError,
    KubeError,
    resource_for,
)
from tests.kube_stub import KubeStub, Proxy, serving


def pod(name: str, namespace: str = "ci") -> dict:
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]}}


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeStub]:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with serving(tmp_path) as server:
        yield server


def connect(stub: KubeStub, tmp_path: Path, **kwargs: object) -> KubeClient:
    config = stub.kubeconfig(tmp_path / "kubeconfig", namespace="ci",
                             extra_contexts={"prod": "payments"})
    return KubeClient.connect(str(config), **kwargs)  # type: ignore[arg-type]


def test_paginated_list_stamps_kinds_and_follows_continue(stub: KubeStub, tmp_path: Path) -> None:
    stub.add(*[pod(f"p{i}") for i in range(7)], pod("other", "default"))
    client = connect(stub, tmp_path)
    assert (client.namespace, client.context) == ("ci", "stub")
    pages = list(client.pages(PODS, "ci", limit=3))
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert pages[-1].continue_token == ""
    items = list(client.list(PODS, limit=3))
    assert [i["metadata"]["name"] for i in items] == [f"p{i}" for i in range(7)] + ["other"]
    assert {(i["kind"], i["apiVersion"]) for i in items} == {("Pod", "v1")}
    requests = stub.lists_of("pods")
    assert [r.query.get("limit") for r in requests] == ["3"] * 6
    assert [bool(r.query.get("continue")) for r in requests[3:]] == [False, True, True]
    assert stub.methods() == {"GET"}


def test_context_choice_and_its_namespace(stub: KubeStub, tmp_path: Path) -> None:
    client = connect(stub, tmp_path, context="prod")
    assert (client.namespace, client.context) == ("payments", "prod")
    with pytest.raises(KubeConfigError, match="context 'nope' not found"):
        connect(stub, tmp_path, context="nope")


def test_no_kubeconfig_and_not_in_a_pod(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeConfigError, match="no kubeconfig"):
        KubeClient.connect()


def test_get_group_resources_and_owner_lookup(stub: KubeStub, tmp_path: Path) -> None:
    stub.add({"kind": "Deployment", "apiVersion": "apps/v1",
              "metadata": {"name": "web", "namespace": "ci"}, "spec": {}})
    client = connect(stub, tmp_path)
    assert resource_for("apps/v1", "Deployment") is DEPLOYMENTS
    assert client.get(DEPLOYMENTS, "web", "ci")["kind"] == "Deployment"
    assert client.get_optional(DEPLOYMENTS, "gone", "ci") is None
    with pytest.raises(KubeError) as err:
        client.get(DEPLOYMENTS, "gone", "ci")
    assert err.value.kind == "not-found"
    assert str(err.value) == ('cannot get deployments.apps "gone" in namespace "ci": '
                              '404 NotFound: deployments.apps "gone" not found')


def test_forbidden_names_verb_and_resource(stub: KubeStub, tmp_path: Path) -> None:
    stub.forbidden.add("events.events.k8s.io")
    client = connect(stub, tmp_path)
    with pytest.raises(KubeError) as err:
        list(client.list(EVENTS_V1, "ci"))
    assert (err.value.kind, err.value.verb, err.value.resource, err.value.status) == (
        "forbidden", "list", "events.events.k8s.io", 403)
    assert 'cannot list resource "events" in API group "events.k8s.io"' in str(err.value)
    assert str(err.value).startswith('cannot list events.events.k8s.io in namespace "ci": '
                                     '403 Forbidden')


def test_wrong_token_is_unauthorized(stub: KubeStub, tmp_path: Path) -> None:
    config = stub.kubeconfig(tmp_path / "kc", token="wrong")
    client = KubeClient.connect(str(config))
    with pytest.raises(KubeError) as err:
        list(client.list(NODES))
    assert (err.value.kind, str(err.value)) == (
        "unauthorized", "cannot list nodes: 401 Unauthorized: Unauthorized")


def test_node_proxy_paths(stub: KubeStub, tmp_path: Path) -> None:
    stub.add({"kind": "Node", "apiVersion": "v1", "metadata": {"name": "w-1"}},
             {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "w-2"}})
    stub.proxies[("w-1", "configz")] = Proxy({"kubeletconfig": {"evictionHard": {}}})
    stub.proxies[("w-2", "configz")] = Proxy({"kubeletconfig": {}}, delay=1.5)
    client = connect(stub, tmp_path)
    assert client.get_json("/api/v1/nodes/w-1/proxy/configz") == {
        "kubeletconfig": {"evictionHard": {}}}
    with pytest.raises(KubeError) as err:
        client.get_raw("/api/v1/nodes/w-3/proxy/configz")
    assert err.value.kind == "not-found"
    with pytest.raises(KubeError) as slow:
        client.get_raw("/api/v1/nodes/w-2/proxy/configz", timeout=0.5)
    assert slow.value.kind == "timeout"
    stub.add({"kind": "Node", "apiVersion": "v1", "metadata": {"name": "w-4"}})
    with pytest.raises(KubeError) as down:
        client.get_raw("/api/v1/nodes/w-4/proxy/configz")
    assert (down.value.status, down.value.reason) == (503, "ServiceUnavailable")
    assert stub.methods() == {"GET"}


def test_unreachable_server(stub: KubeStub, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = stub.kubeconfig(tmp_path / "kc", server=f"https://127.0.0.1:{port}")
    client = KubeClient.connect(str(config))
    with pytest.raises(KubeError) as err:
        list(client.list(PODS, "ci"))
    assert err.value.kind == "unreachable"
    assert str(err.value).startswith('cannot list pods in namespace "ci": API server '
                                     f'https://127.0.0.1:{port} unreachable')


def test_stub_refuses_writes_and_records_them(stub: KubeStub) -> None:
    import requests

    answer = requests.delete(f"{stub.url}/api/v1/namespaces/ci/pods/x", verify=str(stub.ca_file),
                             headers={"Authorization": f"Bearer {stub.token}"}, timeout=5)
    assert answer.status_code == 405
    assert stub.methods() == {"DELETE"}


def test_in_cluster_service_account(stub: KubeStub, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(stub.token)
    (account / "ca.crt").write_bytes(stub.ca_file.read_bytes())
    (account / "namespace").write_text("oomguard\n")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", stub.url.rsplit(":", 1)[1])
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    stub.add(pod("p0", "oomguard"))
    client = KubeClient.connect(service_account_dir=str(account))
    assert (client.namespace, client.context) == ("oomguard", None)
    assert [p["metadata"]["name"] for p in client.list(PODS, client.namespace)] == ["p0"]
    assert stub.log[-1].authorized
