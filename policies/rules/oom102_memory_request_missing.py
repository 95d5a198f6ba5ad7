"""OOM102 memory-request-missing."""

from __future__ import annotations

from collections.abc import Iterator

from oomguard.policies.rule import Context, NoParams, RuleDoc, Scope, Violation
from oomguard.policies.workload.model import PodModel

CODE = "OOM102"
NAME = "memory-request-missing"
SEVERITY = "warning"
SCOPE = Scope.WORKLOAD

DOC = RuleDoc(
    what="Checks that every container has a memory request, or a memory limit the API "
         "server copies into the request, or a pod-level memory request.",
    why="The scheduler places pods by their requests. A container that requests no memory "
        "is packed onto nodes that cannot hold it, and under node memory pressure it is "
        "evicted first among its peers.",
    bad="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx
""",
    good="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: app
        image: nginx
        resources:
          requests: {memory: 256Mi}
""",
)


def check(pod: PodModel, params: NoParams, context: Context) -> Iterator[Violation]:
    if "memory" in pod.pod_requests:
        return
    for container in pod.resource_containers:
        if container.memory_request is None:
            yield Violation(f"{container.label} has no memory request and no memory limit to "
                            "default it from: the scheduler assumes it needs no memory",
                            container.resources_path, container.name)
