"""OOM115 oom-score-adj-high."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from oomguard.policies.rule import Context, RuleDoc, Scope, Violation
from oomguard.policies.workload.facts import oom_score_adj
from oomguard.policies.workload.model import PodModel

CODE = "OOM115"
NAME = "oom-score-adj-high"
SEVERITY = "warning"
SCOPE = Scope.WORKLOAD
ENABLED = False
PARAMS: dict[str, Any] = {"max": {"type": "integer", "minimum": -1000, "maximum": 1000}}
DEFAULTS: dict[str, Any] = {"max": 900}


@dataclass(frozen=True)
class Params:
    max: int

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Params:
        return cls(max=int(values["max"]))


DOC = RuleDoc(
    what="Flags containers whose oom_score_adj, as the kubelet computes it for a node of "
         "`node.memory`, is above `max` (default 900). Off by default; on in the strict "
         "profile. Burstable scores need `node.memory`.",
    why="A Burstable container's score is 1000 minus its share of node memory in "
        "thousandths: a container requesting 64Mi on a 64Gi node scores 999 and is killed "
        "almost as early as a BestEffort one when the node runs out of memory.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      requests: {memory: 64Mi}
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
      requests: {memory: 1Gi, cpu: 100m}
      limits: {memory: 1Gi, cpu: 100m}
""",
    example_policy={"node": {"memory": "16Gi"}},
)


def check(pod: PodModel, params: Params, context: Context) -> Iterator[Violation]:
    capacity = int(context.node_memory) if context.node_memory else None
    qos = pod.qos
    for container in pod.resource_containers:
        score = oom_score_adj(pod, container, capacity, qos)
        if score is not None and score > params.max:
            yield Violation(f"container {container.name!r} gets oom_score_adj {score} "
                            f"({qos}) on a node of this size, above {params.max}: it is "
                            "among the first the kernel kills", container.resources_path,
                            container.name)
