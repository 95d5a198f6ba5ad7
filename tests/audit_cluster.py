"""A small live cluster for the audit tests, served by tests/kube_stub: nodes with and
without readable kubelets, controllers with their ReplicaSets, Jobs and Pods, a bare Pod,
an HPA, LimitRanges, a mapped Argo Rollout and an excluded namespace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kube_stub import KubeStub, Proxy
from tests.kube_stub import server as stub_server

GI = 1 << 30
POLICY = """\
extends: default
exclude:
  namespaces: [ignored]
kinds:
  - apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    podTemplate: spec.template
"""
# What a kubelet 1.31 serves at /configz, trimmed to the memory fields the node rules read;
# evictionHard as set by a node pool that wrote only memory.available (defaults dropped).
CONFIGZ_W1 = {"kubeletconfig": {
    "enableServer": True, "cgroupDriver": "systemd",
    "evictionHard": {"memory.available": "100Mi"},
    "evictionPressureTransitionPeriod": "5m0s",
    "enforceNodeAllocatable": ["pods"],
    "memoryManagerPolicy": "None",
}}
CONFIGZ_W2 = {"kubeletconfig": {
    "evictionHard": {"memory.available": "500Mi", "nodefs.available": "10%",
                     "nodefs.inodesFree": "5%", "imagefs.available": "15%",
                     "imagefs.inodesFree": "5%"},
    "evictionSoft": {"memory.available": "1Gi"},
    "evictionSoftGracePeriod": {"memory.available": "1m30s"},
    "evictionMinimumReclaim": {"memory.available": "200Mi"},
    "kubeReserved": {"memory": "1Gi"}, "systemReserved": {"memory": "1Gi"},
    "enforceNodeAllocatable": ["pods"],
}}


def register_extra_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """HPAs and the mapped Rollout kind, served like the built-in kinds."""
    monkeypatch.setitem(stub_server.KINDS, "HorizontalPodAutoscaler",
                        ("autoscaling", "v2", "horizontalpodautoscalers", True))
    monkeypatch.setitem(stub_server.KINDS, "Rollout",
                        ("argoproj.io", "v1alpha1", "rollouts", True))


def node(name: str, memory_gi: int, allocatable_gi: int, *, pressure: bool = False
         ) -> dict[str, Any]:
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "uid": f"uid-{name}"},
            "status": {"capacity": {"memory": f"{memory_gi}Gi", "cpu": "4"},
                       "allocatable": {"memory": f"{allocatable_gi}Gi", "cpu": "3800m"},
                       "conditions": [{"type": "MemoryPressure",
                                       "status": "True" if pressure else "False"}]}}


def _owner(kind: str, name: str, api_version: str = "apps/v1") -> list[dict[str, Any]]:
    return [{"apiVersion": api_version, "kind": kind, "name": name, "uid": f"uid-{name}",
             "controller": True, "blockOwnerDeletion": True}]


def container(name: str = "app", memory: str | None = None, request: str | None = None
              ) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if memory:
        resources["limits"] = {"memory": memory, "cpu": "500m"}
    if request:
        resources["requests"] = {"memory": request, "cpu": "100m"}
    return {"name": name, "image": f"registry.example/{name}:1.2", "resources": resources}


def pod_spec(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"containers": list(containers) or [container()]}


def controller(kind: str, name: str, namespace: str, spec: dict[str, Any], *,
               api_version: str = "apps/v1", owner: list[dict[str, Any]] | None = None,
               annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = owner
    if annotations:
        meta["annotations"] = annotations
    template = {"metadata": {"labels": {"app": name}}, "spec": spec}
    body: dict[str, Any] = {"template": template}
    if kind == "CronJob":
        body = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}
    return {"kind": kind, "apiVersion": api_version, "metadata": meta, "spec": body}


def pod(name: str, namespace: str, spec: dict[str, Any], *, node_name: str | None = "w-1",
        owner: list[dict[str, Any]] | None = None, phase: str = "Running") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = owner
    body = dict(spec)
    if node_name:
        body["nodeName"] = node_name
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": body,
            "status": {"phase": phase}}


def populate(stub: KubeStub) -> None:
    stub.add(node("w-1", 16, 15), node("w-2", 8, 6), node("w-3", 8, 7, pressure=True),
             node("w-slow", 4, 3))
    stub.proxies[("w-1", "configz")] = Proxy(CONFIGZ_W1)
    stub.proxies[("w-2", "configz")] = Proxy(CONFIGZ_W2)
    # w-3: no script, the stub answers 503 as kube-apiserver does for an unreachable kubelet
    stub.proxies[("w-slow", "configz")] = Proxy(CONFIGZ_W2, delay=1.5)

    # shop/web: a Deployment without memory limit, its ReplicaSet and two Pods
    web_spec = pod_spec(container("web", request="256Mi"))
    stub.add(controller("Deployment", "web", "shop", {"containers": [container("web")]}),
             controller("ReplicaSet", "web-7d9f", "shop", web_spec,
                        owner=_owner("Deployment", "web")))
    for suffix, node_name in (("a", "w-1"), ("b", "w-2")):
        stub.add(pod(f"web-7d9f-{suffix}", "shop", web_spec, node_name=node_name,
                     owner=_owner("ReplicaSet", "web-7d9f")))
    # shop/db: a well-set StatefulSet with one Pod (Guaranteed)
    db_spec = pod_spec(container("db", memory="2Gi", request="2Gi"))
    db_spec["containers"][0]["resources"]["requests"]["cpu"] = "500m"
    stub.add(controller("StatefulSet", "db", "shop", db_spec),
             pod("db-0", "shop", db_spec, owner=_owner("StatefulSet", "db")))
    # shop/debug: a bare Pod, BestEffort
    stub.add(pod("debug", "shop", {"containers": [{"name": "sh", "image": "busybox:1.36"}]}))
    # shop/huge: asks for more than any node has
    stub.add(controller("Deployment", "huge", "shop",
                        pod_spec(container("huge", memory="64Gi", request="64Gi"))))
    # shop/quiet: its OOM101 is ignored by annotation
    stub.add(controller("Deployment", "quiet", "shop", pod_spec(container("q")),
                        annotations={"oomguard.io/ignore": "OOM101,OOM102,OOM110",
                                     "oomguard.io/ignore-reason": "batch helper"}))
    # shop/web's HPA scales on memory utilization while web has no memory request
    stub.add({"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v2",
              "metadata": {"name": "web", "namespace": "shop", "uid": "uid-hpa-web"},
              "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": "web"},
                       "minReplicas": 2, "maxReplicas": 10,
                       "metrics": [{"type": "Resource", "resource": {
                           "name": "memory",
                           "target": {"type": "Utilization", "averageUtilization": 80}}}]}})

    # batch: a LimitRange gives the CronJob's containers their memory
    stub.add({"kind": "LimitRange", "apiVersion": "v1",
              "metadata": {"name": "defaults", "namespace": "batch"},
              "spec": {"limits": [{"type": "Container", "default": {"memory": "512Mi"},
                                   "defaultRequest": {"memory": "256Mi"}}]}})
    nightly = pod_spec(container("report"))
    stub.add(controller("CronJob", "nightly", "batch", nightly, api_version="batch/v1"),
             controller("Job", "nightly-2900", "batch", nightly, api_version="batch/v1",
                        owner=_owner("CronJob", "nightly", "batch/v1")),
             pod("nightly-2900-x", "batch", nightly,
                 owner=_owner("Job", "nightly-2900", "batch/v1"), phase="Succeeded"))

    # edge: an Argo Rollout (mapped in the policy), its ReplicaSet and Pod
    canary = pod_spec(container("api", request="128Mi"))
    stub.add(controller("Rollout", "api", "edge", canary, api_version="argoproj.io/v1alpha1"),
             controller("ReplicaSet", "api-5c4b", "edge", canary,
                        owner=_owner("Rollout", "api", "argoproj.io/v1alpha1")),
             pod("api-5c4b-q", "edge", canary, node_name="w-2",
                 owner=_owner("ReplicaSet", "api-5c4b")))
    # ignored: excluded by the policy
    stub.add(controller("Deployment", "legacy", "ignored", pod_spec(container("x"))))
