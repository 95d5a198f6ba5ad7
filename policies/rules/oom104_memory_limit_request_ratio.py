"""OOM104 memory-limit-request-ratio."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oomguard.policies.quantity import human
from oomguard.policies.rule import Context, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import MEMORY_LIMIT, PodModel

CODE = "OOM104"
NAME = "memory-limit-request-ratio"
SEVERITY = "warning"
SCOPE = Scope.WORKLOAD
REQUIRES = MEMORY_LIMIT  # every violation needs it; the engine skips models without it
PARAMS: dict[str, Any] = {"max-ratio": {"type": "number", "minimum": 1}}
DEFAULTS: dict[str, Any] = {"max-ratio": 2.0}


@dataclass(frozen=True)
class Params:
    max_ratio: Decimal  # max-ratio

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Params:
        return cls(max_ratio=Decimal(str(values["max-ratio"])))


DOC = RuleDoc(
    what="Checks that a container's memory limit is at most `max-ratio` (default 2.0) times "
         "its memory request.",
    why="The scheduler only reserves the request. A container that really uses its limit on "
        "a node packed by requests overcommits the node: when several do at once the node "
        "runs out of memory and the kubelet evicts, or the kernel kills, at random.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      requests: {memory: 128Mi}
      limits: {memory: 1Gi}
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
      requests: {memory: 768Mi}
      limits: {memory: 1Gi}
""",
)


def check(pod: PodModel, params: Params, context: Context) -> Iterator[Violation]:
    for container in pod.resource_containers:
        request, limit = container.memory_request, container.memory_limit
        if request is None or limit is None or request.value is None or limit.value is None:
            continue
        if limit.value <= 0:
            continue
        max_ratio = params.max_ratio  # (read only when there is a ratio)
        if request.value <= 0 or limit.value / request.value > max_ratio:
            ratio = "infinite" if request.value <= 0 else f"{limit.value / request.value:.2f}"
            yield Violation(
                f"{container.label} memory limit {human(limit.value)} is {ratio}x its request "
                f"{human(request.value)} (max {max_ratio}): the node can be overcommitted by "
                f"{human(limit.value - request.value)} for this container alone",
                limit.path if limit.source == "manifest" else container.resources_path,
                container.name)
