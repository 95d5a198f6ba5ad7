"""Nodes as the audit sees them: their sizes, their live kubelet configuration, and the
memory picture of the pods scheduled on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from oomguard.policies.node.documents import kubelet_subject
from oomguard.policies.node.subjects import KubeletSubject
from oomguard.policies.quantity import QuantityError, parse_quantity
from oomguard.policies.rule import ObjectRef
from oomguard.policies.workload.facts import oom_score_adj, pod_memory_request, qos_class
from oomguard.policies.workload.model import PodModel

KILL_ORDER_KEPT = 12  # pods per node shown in the kill order (the first victims)
# a node's pods that have stopped hold no memory (kubelet frees their cgroups)
_DONE_PHASES = frozenset({"Succeeded", "Failed"})


def _bytes(raw: Any) -> int | None:
    if raw is None:
        return None
    try:
        return int(parse_quantity(raw))
    except QuantityError:
        return None


class PodOnNode(NamedTuple):
    """One pod in a node's OOM kill order."""

    namespace: str | None
    name: str | None
    qos: str
    oom_score_adj: int | None  # the highest of its containers: that process dies first
    request: int
    limit: int | None  # None: some container has no memory limit (unbounded)
    owner: str | None = None  # "Deployment shop/web" when known


@dataclass
class NodeMemory:
    """What one node offers and what its pods ask for, in bytes (None when unknown)."""

    name: str
    uid: str | None = None
    capacity: int | None = None
    allocatable: int | None = None
    memory_pressure: bool = False
    kube_reserved: int | None = None
    system_reserved: int | None = None
    eviction_hard: int | None = None  # memory.available hard threshold
    kubelet_source: str | None = None  # where the kubelet settings came from
    kubelet_notice: str | None = None  # why they could not be read
    pods: int = 0
    requests: int = 0
    limits: int = 0
    unbounded_pods: int = 0  # pods with a container without a memory limit
    qos_counts: dict[str, int] = field(default_factory=dict)
    kill_order: list[PodOnNode] = field(default_factory=list)
    findings: int = 0

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("v1", "Node", None, self.name)

    def add_pod(self, pod: PodOnNode) -> None:
        self.pods += 1
        self.requests += pod.request
        if pod.limit is None:
            self.unbounded_pods += 1
        else:
            self.limits += pod.limit
        self.qos_counts[pod.qos] = self.qos_counts.get(pod.qos, 0) + 1
        kept = self.kill_order
        kept.append(pod)
        if len(kept) > 4 * KILL_ORDER_KEPT:  # trim now and then: memory stays per node
            self._trim()

    def _trim(self) -> None:
        self.kill_order.sort(key=_kill_key)
        del self.kill_order[KILL_ORDER_KEPT:]

    def finish(self) -> None:
        self._trim()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "capacity": self.capacity, "allocatable": self.allocatable,
            "memoryPressure": self.memory_pressure, "kubeReserved": self.kube_reserved,
            "systemReserved": self.system_reserved, "evictionHard": self.eviction_hard,
            "kubeletConfig": self.kubelet_source, "pods": self.pods,
            "requested": self.requests, "limits": self.limits,
            "podsWithoutLimit": self.unbounded_pods, "qos": dict(sorted(self.qos_counts.items())),
            "killOrder": [{"namespace": p.namespace, "pod": p.name, "qos": p.qos,
                           "oomScoreAdj": p.oom_score_adj, "request": p.request,
                           "limit": p.limit, "owner": p.owner} for p in self.kill_order],
            "findings": self.findings,
        }


def _kill_key(pod: PodOnNode) -> tuple[int, int, str]:
    """The kernel's oom_badness (mm/oom_kill.c) adds oom_score_adj * totalpages / 1000 to a
    process's RSS, swap and page tables: the highest adjustment goes first and, among
    equals, the biggest user. Usage is not known here, so the request stands in."""
    adj = -1001 if pod.oom_score_adj is None else pod.oom_score_adj
    return (-adj, -pod.request, f"{pod.namespace}/{pod.name}")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def node_memory(obj: Mapping[str, Any]) -> NodeMemory:
    meta, status = _mapping(obj.get("metadata")), _mapping(obj.get("status"))
    capacity, allocatable = _mapping(status.get("capacity")), _mapping(
        status.get("allocatable"))
    pressure = False
    for condition in status.get("conditions") or ():
        if isinstance(condition, dict) and condition.get("type") == "MemoryPressure":
            pressure = condition.get("status") == "True"
    uid = meta.get("uid")
    return NodeMemory(str(meta.get("name") or "?"), None if uid is None else str(uid),
                      _bytes(capacity.get("memory")), _bytes(allocatable.get("memory")),
                      pressure)


def running_on(pod: Mapping[str, Any]) -> str | None:
    """The node a pod holds memory on, or None (not scheduled, or finished)."""
    spec = pod.get("spec")
    node = spec.get("nodeName") if isinstance(spec, dict) else None
    if not node:
        return None
    status = pod.get("status")
    if isinstance(status, dict) and status.get("phase") in _DONE_PHASES:
        return None
    return str(node)


def pod_on_node(model: PodModel, capacity: int | None, owner: str | None) -> PodOnNode:
    qos = qos_class(model)
    adjs = [a for a in (oom_score_adj(model, c, capacity, qos)
                        for c in model.resource_containers) if a is not None]
    limit: int | None = 0
    pod_limit = model.pod_limits.get("memory")
    if pod_limit is not None and pod_limit.bytes is not None:
        limit = pod_limit.bytes
    else:
        for container in model.regular:
            value = container.memory_limit
            if value is None or value.bytes is None:
                limit = None
                break
            assert limit is not None
            limit += value.bytes
    return PodOnNode(model.ref.namespace, model.ref.name, qos, max(adjs) if adjs else None,
                     pod_memory_request(model), limit, owner)


def configz_subject(node: str, payload: Any) -> KubeletSubject | None:
    """A node's ``GET /api/v1/nodes/NODE/proxy/configz`` answer (``{"kubeletconfig":
    {...}}``, pkg/kubelet/server/server.go InstallDebuggingHandlers and
    component-base/configz) as a node rule subject named after the node. The kubelet
    serves its whole effective configuration, defaults included, so nothing is unknown."""
    if not isinstance(payload, dict) or not isinstance(payload.get("kubeletconfig"), dict):
        return None
    config = dict(payload["kubeletconfig"])
    config.setdefault("kind", "KubeletConfiguration")
    config.setdefault("apiVersion", "kubelet.config.k8s.io/v1beta1")
    subject = kubelet_subject(config, None, None)
    subject.ref = ObjectRef("v1", "Node", None, node)
    subject.describe = f"Node {node} live kubelet configuration (configz)"
    return subject


def apply_kubelet(memory: NodeMemory, subject: KubeletSubject) -> None:
    settings = subject.settings
    capacity = None if memory.capacity is None else Decimal(memory.capacity)
    kube, system = settings.reserved_bytes("kubeReserved"), settings.reserved_bytes(
        "systemReserved")
    hard = settings.hard_memory_bytes(capacity)
    memory.kube_reserved = None if kube is None else int(kube)
    memory.system_reserved = None if system is None else int(system)
    memory.eviction_hard = None if hard is None else int(hard)
    memory.kubelet_source = "configz"
