"""OOM109 memory-limit-above-max."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oomguard.policies.quantity import human, parse_quantity
from oomguard.policies.rule import Context, RuleDoc, Scope, Violation
from oomguard.policies.rules._common import where
from oomguard.policies.workload.model import MEMORY_LIMIT, PodModel

CODE = "OOM109"
NAME = "memory-limit-above-max"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD
ENABLED = False
REQUIRES = MEMORY_LIMIT  # every violation needs it; the engine skips models without it
PARAMS: dict[str, Any] = {"max": {"type": ["string", "integer"], "format": "quantity"}}
DEFAULTS: dict[str, Any] = {"max": "8Gi"}


@dataclass(frozen=True)
class Params:
    max: Decimal  # bytes

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Params:
        return cls(max=parse_quantity(values["max"]))


DOC = RuleDoc(
    what="Checks that no container's memory limit is above `max` (a per-container ceiling, "
         "like a LimitRange `max`). Off by default; default `max` 8Gi when enabled.",
    why="A LimitRange `max` makes the API server reject such pods at admission; a platform "
        "without one still wants to catch a `64Gi` typo before it lands on a shared node.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      limits: {memory: 64Gi}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      limits: {memory: 4Gi}
""",
    example_policy={"rules": {"OOM109": {"enabled": True, "max": "8Gi"}}},
)


def check(pod: PodModel, params: Params, context: Context) -> Iterator[Violation]:
    maximum = params.max
    for container in pod.resource_containers:
        limit = container.memory_limit
        if limit is not None and limit.value is not None and limit.value > maximum:
            yield Violation(f"{container.label} memory limit {human(limit.value)}{where(limit)}"
                            f" is above the maximum {human(maximum)}", limit.path,
                            container.name)
