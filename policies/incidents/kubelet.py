"""The messages kubelet and scheduler write into pod status and events, parsed.

Eviction (pkg/kubelet/eviction/helpers.go, kubernetes/kubernetes): ``nodeLowMessageFmt``
"The node was low on resource: %v. ", ``thresholdMetMessageFmt`` "Threshold quantity: %v,
available: %v. ", and per offending container ``containerMessageFmt``: before 1.27
"Container %s was using %s, which exceeds its request of %s. ", since then "Container %s was
using %s, request is %s, has larger consumption of %v. ". The Evicted event carries the same
in its annotations ``offending_containers``, ``offending_containers_usage`` and
``starved_resource``. The pod gets condition ``DisruptionTarget`` reason
``TerminationByKubelet`` (pkg/kubelet/eviction/eviction_manager.go).

Admission (eviction_manager.go ``Admit``, ``nodeConditionMessageFmt``): "The node had
condition: [MemoryPressure]. " with reason ``Evicted``; pkg/kubelet/lifecycle/predicate.go
rejects with reason ``OutOfmemory`` "Node didn't have enough resource: memory, requested: N,
used: N, capacity: N".

Scheduler (pkg/scheduler/framework/plugins/noderesources/fit.go): "Insufficient memory" inside
"0/5 nodes are available: 3 Insufficient memory, ...".

SystemOOM (pkg/kubelet/oom/oom_watcher_linux.go): a Node event, reason ``SystemOOM``,
"System OOM encountered, victim process: %v, pid: %v" (older: "System OOM encountered").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from oomguard.policies.quantity import QuantityError, parse_quantity

_LOW = re.compile(r"The node was low on resource: ([\w.-]+)\.")
_THRESHOLD = re.compile(r"Threshold quantity: ([^,]+), available: ([^.\s]+(?:\.\d+)?[^.\s]*)\.")
_CONTAINER_NEW = re.compile(r"Container (\S+) was using (\S+), request is (\S+), "
                            r"has larger consumption of ([\w.-]+)\.")
_CONTAINER_OLD = re.compile(r"Container (\S+) was using (\S+), which exceeds its request of "
                            r"([^.\s]+(?:\.\d+)?[^.\s]*)\.")
_NODE_CONDITION = re.compile(r"The node had condition: \[([^\]]*)\]")
_NOT_ENOUGH = re.compile(r"Node didn't have enough resource: memory, requested: (\d+), "
                         r"used: (\d+), capacity: (\d+)")
_INSUFFICIENT = re.compile(r"(\d+) Insufficient memory")
_SCHED_TOTAL = re.compile(r"0/(\d+) nodes are available")
_SYSTEM_OOM = re.compile(r"System OOM encountered(?:, victim process: ([^,]+), pid: (\d+))?")


def quantity_bytes(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(parse_quantity(text.strip()))
    except (QuantityError, ValueError, ArithmeticError):
        return None


@dataclass
class OffendingContainer:
    name: str
    usage: int | None
    request: int | None


@dataclass
class EvictionMessage:
    resource: str | None = None          # "memory", "ephemeral-storage", ...
    threshold: int | None = None         # bytes
    available: int | None = None
    containers: list[OffendingContainer] = field(default_factory=list)
    format: str | None = None            # "exceeds-request" (old) or "larger-consumption"

    @property
    def is_memory(self) -> bool:
        return self.resource == "memory"


def parse_eviction(message: str) -> EvictionMessage | None:
    """The parts of a kubelet eviction message; None when it is none."""
    low = _LOW.search(message)
    if low is None:
        return None
    out = EvictionMessage(resource=low.group(1))
    threshold = _THRESHOLD.search(message)
    if threshold:
        out.threshold = quantity_bytes(threshold.group(1))
        out.available = quantity_bytes(threshold.group(2))
    for match in _CONTAINER_NEW.finditer(message):
        if match.group(4) == out.resource or out.resource is None:
            out.format = "larger-consumption"
            out.containers.append(OffendingContainer(
                match.group(1), quantity_bytes(match.group(2)), quantity_bytes(match.group(3))))
    for match in _CONTAINER_OLD.finditer(message):
        out.format = "exceeds-request"
        out.containers.append(OffendingContainer(
            match.group(1), quantity_bytes(match.group(2)), quantity_bytes(match.group(3))))
    return out


def eviction_from_annotations(annotations: dict[str, str]) -> list[OffendingContainer]:
    """The Evicted event's annotations: names and usages, comma separated."""
    names = [n for n in str(annotations.get("offending_containers") or "").split(",") if n]
    usages = str(annotations.get("offending_containers_usage") or "").split(",")
    return [OffendingContainer(n, quantity_bytes(usages[i]) if i < len(usages) else None, None)
            for i, n in enumerate(names)]


def admission_conditions(message: str) -> list[str] | None:
    """["MemoryPressure"] for "The node had condition: [MemoryPressure]. ", else None."""
    match = _NODE_CONDITION.search(message)
    if match is None:
        return None
    return [c for c in re.split(r"[\s,]+", match.group(1)) if c]


def out_of_memory_admission(message: str) -> tuple[int, int, int] | None:
    """(requested, used, capacity) of predicate.go's memory rejection."""
    match = _NOT_ENOUGH.search(message)
    return tuple(int(g) for g in match.groups()) if match else None  # type: ignore[return-value]


def insufficient_memory(message: str) -> tuple[int | None, int | None] | None:
    """(nodes short of memory, nodes in the cluster) of a scheduler message, else None."""
    match = _INSUFFICIENT.search(message)
    if match is None:
        if "Insufficient memory" in message:
            return (None, None)
        return None
    total = _SCHED_TOTAL.search(message)
    return int(match.group(1)), int(total.group(1)) if total else None


def system_oom(message: str) -> tuple[str | None, int | None] | None:
    """(victim process, pid) of a SystemOOM event, None when it is none."""
    match = _SYSTEM_OOM.search(message)
    if match is None:
        return None
    return match.group(1), int(match.group(2)) if match.group(2) else None


def to_decimal(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value)
