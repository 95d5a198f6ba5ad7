"""OOM101 memory-limit-missing."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import PodModel

CODE = "OOM101"
NAME = "memory-limit-missing"
SEVERITY = "error"
SCOPE = Scope.WORKLOAD

DOC = RuleDoc(
    what="Checks that every container, init container and sidecar has a memory limit, "
         "unless a pod-level memory limit covers the whole pod.",
    why="Without a limit a container can grow until the node runs out of memory; then the "
        "kernel OOM killer or kubelet eviction picks victims among *all* pods on the node, "
        "not just the one that leaked.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    image: nginx
    resources:
      requests: {memory: 256Mi}
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
      requests: {memory: 256Mi}
      limits: {memory: 256Mi}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    if "memory" in pod.pod_limits:
        return
    for container in pod.resource_containers:
        if container.memory_limit is None:
            yield Violation(
                f"{container.label} has no memory limit: it can use all of the "
                "node's memory and get other pods OOM-killed or evicted",
                container.resources_path, container.name)
