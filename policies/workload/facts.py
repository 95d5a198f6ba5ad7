"""Facts computed once per pod spec: QoS class, pod memory request, oom_score_adj."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the model imports this module (PodModel.qos): types only here
    from oomguard.policies.workload.model import Container, PodModel

# What QoS is computed from (supportedQoSComputeResources, pkg/apis/core/v1/helper/qos/qos.go)
QOS_RESOURCES = ("cpu", "memory")

GUARANTEED = "Guaranteed"
BURSTABLE = "Burstable"
BEST_EFFORT = "BestEffort"

# pkg/kubelet/qos/policy.go
GUARANTEED_OOM_SCORE_ADJ = -997
BEST_EFFORT_OOM_SCORE_ADJ = 1000
NODE_CRITICAL_PRIORITY_CLASS = "system-node-critical"


_ZERO = Decimal(0)  # (comparing a Decimal with an int converts the int every time)


def _value(q: Any) -> Decimal | None:
    return None if q is None else q.value


def pod_level_resources_set(model: PodModel) -> bool:
    """resourcehelper.IsPodLevelResourcesSet: a cpu or memory request or limit at pod level."""
    return any(name in QOS_RESOURCES for name in (*model.pod_requests, *model.pod_limits))


def pod_level_requests_set(model: PodModel) -> bool:
    """resourcehelper.IsPodLevelRequestsSet: a cpu or memory request at pod level."""
    return any(name in model.pod_requests for name in QOS_RESOURCES)


def qos_class(model: PodModel) -> str:
    """ComputePodQOS (pkg/apis/core/v1/helper/qos/qos.go) on the defaulted requests/limits.

    cpu and memory only; init containers and sidecars count like regular ones, ephemeral
    containers do not; pod-level resources decide alone when set. Requests and limits are
    summed per resource, and Guaranteed needs every container to limit both resources and
    the sums of requests to equal the sums of limits.
    """
    return _compute_qos(model)


def _compute_qos(model: PodModel) -> str:
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    if pod_level_resources_set(model):
        for name in QOS_RESOURCES:
            req = _value(model.pod_requests.get(name))
            if req is not None and req > 0:
                requests[name] = req
        if model.pod_limits:
            found = set()
            for name in QOS_RESOURCES:
                lim = _value(model.pod_limits.get(name))
                if lim is not None and lim > 0:
                    found.add(name)
                    limits[name] = lim
            if found != set(QOS_RESOURCES):
                guaranteed = False
    else:
        zero = _ZERO
        for container in model.resource_containers:
            limited = 0  # how many of cpu and memory this container limits
            container_requests, container_limits = container.requests, container.limits
            for name in QOS_RESOURCES:  # (_value spelled out: this runs for every object)
                quantity = container_requests.get(name)
                req = None if quantity is None else quantity.value
                if req is not None and req > zero:
                    requests[name] = requests.get(name, zero) + req
                quantity = container_limits.get(name)
                lim = None if quantity is None else quantity.value
                if lim is not None and lim > zero:
                    limited += 1
                    limits[name] = limits.get(name, zero) + lim
            if limited != len(QOS_RESOURCES):
                guaranteed = False
    if not requests and not limits:
        return BEST_EFFORT
    if guaranteed:
        for name, req in requests.items():
            if limits.get(name) != req:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return GUARANTEED
    return BURSTABLE


def _mem(container: Container) -> int:
    q = container.memory_request
    value = q.bytes if q is not None else None
    return value or 0


def aggregate_container_memory_request(model: PodModel) -> int:
    """AggregateContainerRequests (k8s.io/component-helpers/resource/helpers.go), memory.

    max(sum(regular) + sum(sidecars), max over init containers i of
    (request_i + sum of sidecars declared before i)).
    """
    total = 0
    for container in model.regular:  # (not sum() over a generator: this runs per object)
        total += _mem(container)
    sidecars = 0
    init_max = 0
    for container in model.init:
        if container.sidecar:
            total += _mem(container)
            sidecars += _mem(container)
            candidate = sidecars
        else:
            candidate = _mem(container) + sidecars
        init_max = max(init_max, candidate)
    return max(total, init_max)


def pod_memory_request(model: PodModel) -> int:
    """PodRequests (k8s.io/component-helpers/resource/helpers.go) for memory: the aggregate,
    replaced by a pod-level request when set, plus pod overhead."""
    request = aggregate_container_memory_request(model)
    pod_level = model.pod_requests.get("memory")
    if pod_level is not None and pod_level.bytes is not None:
        request = pod_level.bytes
    overhead = model.overhead.get("memory")
    if overhead is not None and overhead.bytes is not None:
        request += overhead.bytes
    return request


def _go_div(a: int, b: int) -> int:
    """Go's integer division truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def pod_shares(model: PodModel) -> tuple[int, int | None]:
    """(remainingPodMemReqPerContainer, the smallest regular container's request): the same
    for every container, so computed once per pod as ``PodModel.shares`` (per container,
    20,000 containers made it a quadratic minute)."""
    remaining = 0
    pod_level = model.pod_requests.get("memory")
    if pod_level_requests_set(model) and pod_level is not None and pod_level.bytes:
        # remainingPodMemReqPerContainer: unallocated pod request shared by all containers
        count = len(model.regular) + len(model.init)
        if count:
            remaining = _go_div(pod_level.bytes - aggregate_container_memory_request(model),
                                count)
    smallest = min(_mem(c) for c in model.regular) if model.regular else None
    return remaining, smallest


def oom_score_adj(model: PodModel, container: Container, capacity: int | None,
                  qos: str | None = None) -> int | None:
    """GetContainerOOMScoreAdjust (pkg/kubelet/qos/policy.go), tie-break gate off.

    Burstable needs the node's memory capacity; without it the value is unknown (None).
    """
    if model.priority_class == NODE_CRITICAL_PRIORITY_CLASS:
        return GUARANTEED_OOM_SCORE_ADJ
    qos = qos or model.qos
    if qos == GUARANTEED:
        return GUARANTEED_OOM_SCORE_ADJ
    if qos == BEST_EFFORT:
        return BEST_EFFORT_OOM_SCORE_ADJ
    if not capacity:
        return None
    remaining, smallest = model.shares
    adj = 1000 - _go_div(1000 * (_mem(container) + remaining), capacity)
    if container.sidecar and smallest is not None:
        adj = min(adj, 1000 - _go_div(1000 * (smallest + remaining), capacity))
    if adj < 1000 + GUARANTEED_OOM_SCORE_ADJ:
        return 1000 + GUARANTEED_OOM_SCORE_ADJ
    if adj == BEST_EFFORT_OOM_SCORE_ADJ:
        return adj - 1
    return adj


def pod_facts(model: PodModel, node_memory: Decimal | None) -> dict[str, Any]:
    """The facts shown in JSON output (for a node of ``node_memory`` bytes, if known)."""
    capacity = int(node_memory) if node_memory else None
    qos = model.qos
    containers = []
    for container in model.resource_containers:
        request, limit = container.memory_request, container.memory_limit
        entry: dict[str, Any] = {
            "name": container.name,
            "init": container.kind == "init",
            "sidecar": container.sidecar,
            "memoryRequest": request.bytes if request else None,
            "memoryLimit": limit.bytes if limit else None,
            "oomScoreAdj": oom_score_adj(model, container, capacity, qos),
        }
        sources = {}
        if request is not None and request.source != "manifest":
            sources["memoryRequest"] = request.source
        if limit is not None and limit.source != "manifest":
            sources["memoryLimit"] = limit.source
        if sources:
            entry["defaultedFrom"] = sources
        containers.append(entry)
    facts: dict[str, Any] = {
        "qos": qos,
        "podMemoryRequest": pod_memory_request(model),
        "containers": containers,
    }
    return facts
