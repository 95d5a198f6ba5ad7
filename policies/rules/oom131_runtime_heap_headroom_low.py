"""OOM131 runtime-heap-headroom-low."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import PodModel

CODE = "OOM131"
NAME = "runtime-heap-headroom-low"
SEVERITY = "warning"
SCOPE = Scope.WORKLOAD
PARAMS: dict[str, Any] = {
    "max-fraction": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "max-ram-percentage": {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
}
DEFAULTS: dict[str, Any] = {"max-fraction": 0.85, "max-ram-percentage": 85}


@dataclass(frozen=True)
class Params:
    max_fraction: Decimal  # max-fraction
    max_ram_percentage: Decimal  # max-ram-percentage

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Params:
        return cls(max_fraction=Decimal(str(values["max-fraction"])),
                   max_ram_percentage=Decimal(str(values["max-ram-percentage"])))


DOC = RuleDoc(
    what="Flags a declared heap above `max-fraction` (default 0.85) of the memory limit, and "
         "JVM `-XX:MaxRAMPercentage` above `max-ram-percentage` (default 85).",
    why="Off-heap memory (metaspace, code cache, thread stacks, direct buffers, GC "
        "structures) typically needs 15–25% beyond the heap. With less headroom the "
        "container is OOM-killed under load although the heap never filled.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: api}
spec:
  containers:
  - name: api
    image: api
    args: ["-XX:MaxRAMPercentage=95", "-jar", "app.jar"]
    resources:
      limits: {memory: 2Gi}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: api}
spec:
  containers:
  - name: api
    image: api
    args: ["-XX:MaxRAMPercentage=75", "-jar", "app.jar"]
    resources:
      limits: {memory: 2Gi}
""",
)


def check(pod: PodModel, params: Params, context: Context) -> Iterator[Violation]:
    for container in pod.resource_containers:
        heaps = container.heap_settings
        if not heaps:
            continue  # the common case
        limit = container.memory_limit
        fraction = params.max_fraction
        max_percent = params.max_ram_percentage
        for heap in heaps:
            if heap.kind == "max-ram-percentage":
                if heap.value > max_percent:
                    yield Violation(f"{container.label}: {heap.text} leaves less than "
                                    f"{100 - max_percent}% of the limit for off-heap memory",
                                    heap.path, container.name)
                continue
            if limit is None or limit.value is None or limit.value <= 0:
                continue
            if limit.value * fraction < heap.value < limit.value:
                share = heap.value / limit.value * 100
                yield Violation(f"{container.label}: {heap.text} ({human(heap.value)}) is "
                                f"{share:.0f}% of the memory limit {human(limit.value)}: "
                                f"less than {(1 - fraction) * 100:.0f}% is left for off-heap "
                                "memory", heap.path, container.name)
